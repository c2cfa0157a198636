namespace AttnScope.Training.Data;

/// <summary>Groups examples of similar length into batches bounded by a token budget (padding included), in a
/// shuffled order that is deterministic for a given <see cref="Random"/>.</summary>
/// <remarks>The indices are shuffled, then stably sorted by length (so equal lengths mix differently each epoch),
/// cut into consecutive runs whose padded size (count × longest) stays within the budget, and the runs are shuffled.
/// An example longer than the budget on its own gets a batch of one. Every index appears exactly once.</remarks>
internal static class LengthBuckets
{
    /// <summary>Each batch is a list of indices into the inputs; <paramref name="lengths"/> gives max(source, target) length per example.</summary>
    public static IReadOnlyList<int[]> Batches(IReadOnlyList<int> lengths, int maxTokensPerBatch, Random random)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokensPerBatch, 1);
        var order = new int[lengths.Count];
        for (int i = 0; i < order.Length; i++)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(lengths[i], nameof(lengths));
            order[i] = i;
        }
        random.Shuffle(order);
        var sorted = order.OrderBy(i => lengths[i]).ToArray(); // OrderBy is stable
        var batches = new List<int[]>();
        int start = 0;
        while (start < sorted.Length)
        {
            int end = start + 1;
            int longest = Math.Max(1, lengths[sorted[start]]);
            while (end < sorted.Length)
            {
                int next = Math.Max(longest, lengths[sorted[end]]);
                if ((long)next * (end - start + 1) > maxTokensPerBatch) break;
                longest = next;
                end++;
            }
            batches.Add(sorted[start..end]);
            start = end;
        }
        var shuffled = batches.ToArray();
        random.Shuffle(shuffled);
        return shuffled;
    }
}
