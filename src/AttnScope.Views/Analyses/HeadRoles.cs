using AttnScope.Analyses.Results;
using SkiaSharp;

namespace AttnScope.Views.Analyses;

/// <summary>
/// Colours and key statistics of the head roles (docs/analyses.md). The eight roles get colours from the Okabe–Ito
/// palette (told apart with the common colour-vision deficiencies) plus a neutral grey for "mixed"; a role not in
/// the list gets a further hue.
/// </summary>
public static class HeadRoles
{
    public static readonly IReadOnlyList<string> Known =
        ["previous-token", "next-token", "self", "sink", "positional", "broad", "induction", "mixed"];

    private static readonly SKColor[] Palette =
    [
        new(0x00, 0x72, 0xB2), // previous-token: blue
        new(0x56, 0xB4, 0xE9), // next-token: sky blue
        new(0x00, 0x9E, 0x73), // self: bluish green
        new(0xE6, 0x9F, 0x00), // sink: orange
        new(0xCC, 0x79, 0xA7), // positional: reddish purple
        new(0xF0, 0xE4, 0x42), // broad: yellow
        new(0xD5, 0x5E, 0x00), // induction: vermillion
        new(0xC8, 0xC8, 0xC8), // mixed: grey
    ];

    private static readonly SKColor[] Extra = [new(0x6A, 0x3D, 0x9A), new(0x8C, 0x56, 0x4B), new(0x1B, 0x1B, 0x6B), new(0x7F, 0x7F, 0x00)];

    public static SKColor Color(string role, IReadOnlyList<string> roles)
    {
        int i = IndexOf(role);
        if (i >= 0) return Palette[i];
        var others = roles.Where(r => IndexOf(r) < 0).Distinct().OrderBy(r => r, StringComparer.Ordinal).ToList();
        return Extra[Math.Max(0, others.IndexOf(role)) % Extra.Length];
    }

    private static int IndexOf(string role)
    {
        for (int i = 0; i < Known.Count; i++) if (Known[i] == role) return i;
        return -1;
    }

    /// <summary>The statistic that stands for a role, printed in its cell; null when the result has none for it.</summary>
    public static string? KeyStatistic(string role, IReadOnlyList<string> statNames)
    {
        string? name = role switch
        {
            "previous-token" => "previous_token",
            "next-token" => "next_token",
            "self" => "diagonal",
            "sink" => "special_share",
            "positional" => "positional_score",
            "broad" => "entropy",
            "induction" => statNames.Contains("induction") ? "induction" : "induction_score",
            "mixed" => "max_weight",
            _ => role.Replace('-', '_'),
        };
        return statNames.Contains(name) ? name : null;
    }

    /// <summary>Roles in legend order: the known ones that occur, then the others.</summary>
    public static List<string> Present(HeadStatsResult r)
    {
        var used = r.Roles.SelectMany(l => l).ToHashSet(StringComparer.Ordinal);
        return Known.Where(used.Contains).Concat(used.Where(u => IndexOf(u) < 0).OrderBy(u => u, StringComparer.Ordinal)).ToList();
    }
}
