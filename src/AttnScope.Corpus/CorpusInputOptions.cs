namespace AttnScope.Corpus;

/// <summary>Where the sentences are in each line of an input file.</summary>
internal sealed record CorpusInputOptions
{
    /// <summary>The file's format.</summary>
    public CorpusInputFormat Format { get; init; } = CorpusInputFormat.Text;
    /// <summary>TSV: the 1-based column of the text.</summary>
    public int TextColumn { get; init; } = 1;
    /// <summary>TSV: the 1-based column of sentence B, if any.</summary>
    public int? PairColumn { get; init; }
    /// <summary>JSON Lines: the field holding the text.</summary>
    public string TextField { get; init; } = "text";
    /// <summary>JSON Lines: the field holding sentence B, if any (a line without it has no sentence B).</summary>
    public string? PairField { get; init; }
    /// <summary>TSV: skip the first line (a header row).</summary>
    public bool Header { get; init; }
    /// <summary>The longest line read, in characters; a longer line is an error naming it.</summary>
    public int MaxLineCharacters { get; init; } = CorpusInput.DefaultMaxLineCharacters;
}
