namespace AttnScope.Corpus;

/// <summary>One input of a corpus: its 1-based line number in the input file, its text and an optional sentence B.</summary>
internal sealed record CorpusLine(long Line, string Text, string? Pair);
