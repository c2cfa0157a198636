using AttnScope.Analyses.Heads;
using AttnScope.Analyses.Results;
using SkiaSharp;

namespace AttnScope.Views.Analyses;

/// <summary>
/// Colours and key statistics of the head roles (<see cref="HeadRoles"/>, docs/analyses.md). The roles get colours
/// from the Okabe–Ito palette (told apart with the common colour-vision deficiencies) and a neutral grey for
/// "mixed"; a role not in the list gets a further colour.
/// </summary>
internal static class RoleColors
{
    /// <summary>The roles in legend order.</summary>
    public static IReadOnlyList<string> Known => HeadRoles.All;

    private static readonly Dictionary<string, SKColor> Palette = new(StringComparer.Ordinal)
    {
        [HeadRoles.PreviousToken] = new(0x00, 0x72, 0xB2), // blue
        [HeadRoles.NextToken] = new(0x56, 0xB4, 0xE9),     // sky blue
        [HeadRoles.Self] = new(0x00, 0x9E, 0x73),          // bluish green
        [HeadRoles.Positional] = new(0xCC, 0x79, 0xA7),    // reddish purple
        [HeadRoles.Sink] = new(0xE6, 0x9F, 0x00),          // orange
        [HeadRoles.Broad] = new(0xF0, 0xE4, 0x42),         // yellow
        [HeadRoles.Induction] = new(0xD5, 0x5E, 0x00),     // vermillion
        [HeadRoles.Mixed] = new(0xC8, 0xC8, 0xC8),         // grey
    };

    private static readonly SKColor[] Extra = [new(0x6A, 0x3D, 0x9A), new(0x8C, 0x56, 0x4B), new(0x1B, 0x1B, 0x6B), new(0x7F, 0x7F, 0x00)];

    /// <param name="roles">All roles of the figure, so that unknown roles get different colours.</param>
    public static SKColor Color(string role, IReadOnlyList<string> roles)
    {
        if (Palette.TryGetValue(role, out var c)) return c;
        var others = roles.Where(r => !Palette.ContainsKey(r)).Distinct().OrderBy(r => r, StringComparer.Ordinal).ToList();
        return Extra[Math.Max(0, others.IndexOf(role)) % Extra.Length];
    }

    /// <summary>The statistic that stands for a role (the one its threshold tests), printed in its cell; null when the result has none.</summary>
    public static string? KeyStatistic(string role, IReadOnlyList<string> statNames)
    {
        string[] names = role switch
        {
            HeadRoles.PreviousToken => [HeadStatNames.PreviousToken],
            HeadRoles.NextToken => [HeadStatNames.NextToken],
            HeadRoles.Self => [HeadStatNames.Diagonal],
            HeadRoles.Positional => [HeadStatNames.PositionalScore],
            HeadRoles.Sink => [HeadStatNames.SinkShare, HeadStatNames.SpecialShare],
            HeadRoles.Broad => [HeadStatNames.EntropyNorm, HeadStatNames.Entropy],
            HeadRoles.Induction => [HeadStatNames.Induction],
            HeadRoles.Mixed => [HeadStatNames.MaxWeight],
            _ => [role.Replace('-', '_')],
        };
        return names.FirstOrDefault(statNames.Contains);
    }

    /// <summary>Roles in legend order: the known ones that occur, then the others.</summary>
    public static List<string> Present(HeadStatsResult r)
    {
        var used = r.Roles.SelectMany(l => l).ToHashSet(StringComparer.Ordinal);
        return Known.Where(used.Contains).Concat(used.Where(u => !Palette.ContainsKey(u)).OrderBy(u => u, StringComparer.Ordinal)).ToList();
    }
}
