namespace AttnScope.Training.Data;

/// <summary>What reading a corpus kept and skipped, with counts per reason (empty, misaligned, over-long, malformed,
/// duplicate, ...), notes naming the first few skipped lines, and warnings (e.g. columns that look swapped).</summary>
internal sealed record CorpusReadReport(int Kept, IReadOnlyDictionary<string, int> Skipped, IReadOnlyList<string> Notes)
{
    /// <summary>Problems the user should see even when nothing was skipped (a language guess that contradicts --src/--tgt).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Every pair skipped, for any reason.</summary>
    public int SkippedTotal => Skipped.Values.Sum();

    /// <summary>One line for the user, e.g. "kept 9,998 pairs; skipped 2 (empty 1, over-long 1)".</summary>
    public override string ToString()
        => SkippedTotal == 0 ? $"kept {Kept:N0} pairs" :
            $"kept {Kept:N0} pairs; skipped {SkippedTotal:N0} ({string.Join(", ", Skipped.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value:N0}"))})";
}

/// <summary>A whole corpus read into memory (after filtering) and its report.</summary>
internal sealed record CorpusReadResult(IReadOnlyList<ParallelPair> Pairs, CorpusReadReport Report);

/// <summary>The reasons a corpus line is skipped (the keys of <see cref="CorpusReadReport.Skipped"/>).</summary>
internal static class CorpusSkipReason
{
    /// <summary>One side is empty or only whitespace.</summary>
    public const string Empty = "empty";
    /// <summary>The two files have different line counts (the extra lines), a TSV line has other than two columns,
    /// or a test-set segment has no counterpart on the other side.</summary>
    public const string Misaligned = "misaligned";
    /// <summary>One side has more words than the limit, or a line is longer than <see cref="ParallelCorpusReader.MaxLineBytes"/>.</summary>
    public const string OverLong = "over-long";
    /// <summary>One side has more characters than <see cref="CorpusFilterOptions.MaxChars"/>.</summary>
    public const string OverLongChars = "over-long (characters)";
    /// <summary>The longer side has more than <see cref="CorpusFilterOptions.MaxRatio"/> times the words of the shorter.</summary>
    public const string Ratio = "length ratio";
    /// <summary>The exact same (source, target) pair was already kept.</summary>
    public const string Duplicate = "duplicate";
    /// <summary>A JSON line that does not parse or lacks the source / target strings; a Parquet row with a null side.</summary>
    public const string Malformed = "malformed";
    /// <summary>A line whose bytes are not valid UTF-8.</summary>
    public const string InvalidUtf8 = "invalid UTF-8";
}
