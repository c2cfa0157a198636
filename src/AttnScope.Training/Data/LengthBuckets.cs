namespace AttnScope.Training.Data;

/// <summary>Groups examples of similar length into batches bounded by a token budget (padding included), in a
/// shuffled order that is deterministic for a given <see cref="Random"/>.</summary>
public static class LengthBuckets
{
    /// <summary>Each batch is a list of indices into the inputs; <paramref name="lengths"/> gives max(source, target) length per example.</summary>
    public static IReadOnlyList<int[]> Batches(IReadOnlyList<int> lengths, int maxTokensPerBatch, Random random)
        => throw new NotImplementedException("built by the corpus work");
}
