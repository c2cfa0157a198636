namespace AttnScope.Training.Data;

/// <summary>One gold link between a source word and a target word (0-based indices into the whitespace-split
/// words of <see cref="ParallelPair.Source"/> and <see cref="ParallelPair.Target"/>). Sure links are the ones
/// annotators agree on; possible links are allowed but not required (Och and Ney's AER).</summary>
internal readonly record struct WordAlignment(int SourceWord, int TargetWord, bool Sure = true);

/// <summary>A source sentence, its translation, and (for the built-in corpus) word-level gold alignments.</summary>
internal sealed record ParallelPair(string Source, string Target, IReadOnlyList<WordAlignment>? Gold = null);
