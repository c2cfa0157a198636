using AttnScope.Capture;

namespace AttnScope.Training.Data;

/// <summary>
/// What a corpus reader keeps: pairs whose sides are at most <see cref="MaxWords"/> words and <see cref="MaxChars"/>
/// characters, whose word counts differ by at most a factor <see cref="MaxRatio"/>, and (with <see cref="Dedupe"/>)
/// each exact (source, target) pair once. Every pair left out is counted by reason in the report.
/// </summary>
internal sealed record CorpusFilterOptions
{
    /// <summary>Most whitespace-separated words on either side.</summary>
    public int MaxWords { get; init; } = 100;
    /// <summary>Most characters (UTF-16 units) on either side.</summary>
    public int MaxChars { get; init; } = 1000;
    /// <summary>Most words on the longer side per word on the shorter side (0: no ratio filter).</summary>
    public double MaxRatio { get; init; } = 9;
    /// <summary>Keep each exact (source, target) pair once.</summary>
    public bool Dedupe { get; init; } = true;

    /// <summary>The defaults.</summary>
    public static CorpusFilterOptions Default { get; } = new();

    /// <summary>Checks each limit; a bad one is an <see cref="AttnScopeException"/> naming it.</summary>
    public void Validate()
    {
        if (MaxWords < 1) throw new AttnScopeException($"the word limit must be at least 1 (got {MaxWords})");
        if (MaxChars < 1) throw new AttnScopeException($"the character limit must be at least 1 (got {MaxChars})");
        if (!double.IsFinite(MaxRatio) || MaxRatio < 0 || MaxRatio is > 0 and < 1)
            throw new AttnScopeException($"the length ratio limit must be 0 (off) or at least 1 (got {MaxRatio})");
    }
}
