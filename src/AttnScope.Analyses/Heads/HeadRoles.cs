namespace AttnScope.Analyses.Heads;

/// <summary>
/// The role of a head, chosen from its statistics by documented thresholds. Each role has one test
/// (<see cref="Candidates"/>); a head gets the role whose statistic exceeds its threshold by the largest factor,
/// and <see cref="Mixed"/> when none does. The thresholds are this tool's choice, stated here and in docs/analyses.md.
/// </summary>
internal static class HeadRoles
{
    public const string PreviousToken = "previous-token";
    public const string NextToken = "next-token";
    public const string Self = "self";
    public const string Positional = "positional";
    public const string Sink = "sink";
    public const string Broad = "broad";
    public const string Induction = "induction";
    public const string Mixed = "mixed";

    public static readonly string[] All = [PreviousToken, NextToken, Self, Positional, Sink, Broad, Induction, Mixed];

    /// <summary>Mean weight on the neighbour / itself at or above which a head is a previous-token / next-token / self head.</summary>
    public const float NeighbourThreshold = 0.5f;
    /// <summary>Share of rows with the largest weight at one fixed offset at or above which the head is positional (for that offset).</summary>
    public const float PositionalThreshold = 0.9f;
    /// <summary>Weight on special tokens and punctuation at or above which a head is a sink head.</summary>
    public const float SinkThreshold = 0.6f;
    /// <summary>Normalised entropy at or above which a head is broad (close to uniform).</summary>
    public const float BroadThreshold = 0.8f;
    /// <summary>Induction score at or above which a decoder head is an induction head (needs ≥ 2 repeated-token queries).</summary>
    public const float InductionThreshold = 0.4f;

    /// <summary>Every role whose test passes, with its strength (statistic ÷ threshold, ≥ 1).</summary>
    public static IEnumerable<(string Role, double Strength)> Candidates(Func<string, float?> stat, int inductionRows)
    {
        float Get(string name) => stat(name) ?? 0f;
        float offset = Get(HeadStatNames.PositionalOffset), score = Get(HeadStatNames.PositionalScore);
        double AtOffset(int d) => offset == d ? score / PositionalThreshold : 0;
        var roles = new (string, double)[]
        {
            (PreviousToken, Math.Max(Get(HeadStatNames.PreviousToken) / NeighbourThreshold, AtOffset(-1))),
            (NextToken, Math.Max(Get(HeadStatNames.NextToken) / NeighbourThreshold, AtOffset(1))),
            (Self, Math.Max(Get(HeadStatNames.Diagonal) / NeighbourThreshold, AtOffset(0))),
            (Positional, Math.Abs(offset) >= 2 ? score / PositionalThreshold : 0),
            (Sink, Get(HeadStatNames.SinkShare) / SinkThreshold),
            (Broad, Get(HeadStatNames.EntropyNorm) / BroadThreshold),
            (Induction, inductionRows >= 2 ? Get(HeadStatNames.Induction) / InductionThreshold : 0),
        };
        foreach (var r in roles) if (r.Item2 >= 1) yield return r;
    }

    public static string Assign(Func<string, float?> stat, int inductionRows)
    {
        string best = Mixed;
        double strength = 0;
        foreach (var (role, s) in Candidates(stat, inductionRows))
            if (s > strength) { best = role; strength = s; }
        return best;
    }
}
