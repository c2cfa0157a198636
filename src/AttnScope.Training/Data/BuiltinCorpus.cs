namespace AttnScope.Training.Data;

/// <summary>English→German sentence pairs generated from a documented grammar, deterministic from a seed, each
/// with word-level gold alignments. Train and test sets never share a sentence.</summary>
public static class BuiltinCorpus
{
    public const int DefaultSeed = 1234;

    /// <summary>Generates <paramref name="trainCount"/> training pairs and <paramref name="testCount"/> held-out pairs.</summary>
    public static (IReadOnlyList<ParallelPair> Train, IReadOnlyList<ParallelPair> Test) Generate(
        int seed = DefaultSeed, int trainCount = 40_000, int testCount = 1_000)
        => throw new NotImplementedException("built by the corpus work");
}
