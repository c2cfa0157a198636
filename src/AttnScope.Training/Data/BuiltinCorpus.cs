using AttnScope.Training.Data.Builtin;

namespace AttnScope.Training.Data;

/// <summary>English→German sentence pairs generated from a documented grammar, deterministic from a seed, each
/// with word-level gold alignments. Train and test sets never share a sentence.</summary>
/// <remarks>The grammar is described in docs/builtin-corpus.md. Sentences are drawn from one random stream seeded
/// with the seed; repeated English sentences are dropped; the first <c>testCount</c> distinct sentences form the
/// test set and the next <c>trainCount</c> the training set, so the test set does not depend on the training size.</remarks>
internal static class BuiltinCorpus
{
    public const int DefaultSeed = 1234;

    /// <summary>Generates <paramref name="trainCount"/> training pairs and <paramref name="testCount"/> held-out pairs.</summary>
    public static (IReadOnlyList<ParallelPair> Train, IReadOnlyList<ParallelPair> Test) Generate(
        int seed = DefaultSeed, int trainCount = 40_000, int testCount = 1_000)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trainCount);
        ArgumentOutOfRangeException.ThrowIfNegative(testCount);
        var grammar = new Grammar(new Random(seed));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var test = new List<ParallelPair>(testCount);
        var train = new List<ParallelPair>(trainCount);
        while (test.Count < testCount || train.Count < trainCount)
        {
            var pair = grammar.Next();
            if (!seen.Add(pair.Source)) continue;
            (test.Count < testCount ? test : train).Add(pair);
        }
        return (train, test);
    }
}
