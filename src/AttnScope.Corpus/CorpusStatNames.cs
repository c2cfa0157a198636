using AttnScope.Analyses.Heads;

namespace AttnScope.Corpus;

/// <summary>
/// The per-head statistics a corpus database keeps for every sentence (columns of <c>head_stats</c>): those of
/// <see cref="HeadStatistics"/> for an encoder's self-attention, plus <see cref="LastTokenShare"/>.
/// </summary>
internal static class CorpusStatNames
{
    /// <summary>Mean weight on the last token (the final [SEP] of a BERT input).</summary>
    public const string LastTokenShare = "last_token_share";

    /// <summary>Column order in <c>head_stats</c>.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        HeadStatNames.Entropy, HeadStatNames.EntropyNorm, HeadStatNames.MaxWeight, HeadStatNames.SpecialShare,
        HeadStatNames.PunctuationShare, HeadStatNames.SinkShare, HeadStatNames.FirstTokenShare, LastTokenShare,
        HeadStatNames.MeanDistance, HeadStatNames.PreviousToken, HeadStatNames.NextToken, HeadStatNames.Diagonal,
        HeadStatNames.PositionalOffset, HeadStatNames.PositionalScore,
    ];

    /// <summary>Whether <paramref name="name"/> is a statistic column.</summary>
    public static bool IsStat(string name) => All.Contains(name);
}
