using AttnScope.Capture;
using AttnScope.Training.Model;

namespace AttnScope.Training.CausalLm;

/// <summary>One training sequence and, per position i, whether predicting token i+1 needs the repeat.</summary>
/// <param name="Ids">Token ids, BOS first.</param>
/// <param name="Repeated">Repeated[i]: the target ids[i+1] continues a copied segment whose previous token
/// (ids[i]) is also part of the copy, so an induction circuit can predict it; length = Ids.Length − 1.</param>
internal sealed record CausalLmSequence(int[] Ids, bool[] Repeated);

/// <summary>
/// A synthetic corpus where induction helps: BOS, then uniformly random tokens (1 … vocab−1) in which a random
/// segment of k tokens (k from <see cref="MinRepeat"/> to <see cref="MaxRepeat"/>) is copied from a random start a
/// to a random later start b ≥ a + k. Random tokens cannot be predicted (loss ln(vocab−1)); inside the copy each
/// token after the first follows the token that followed the same token earlier — exactly what an induction head
/// (attend to the token after the previous occurrence of the current token, copy it) predicts. The distance b − a
/// varies, so a head that attends a fixed number of positions back cannot do it. Sequences depend only on
/// (seed, step, index): a run is reproducible and any batch can be regenerated.
/// </summary>
internal sealed class RepeatedSegmentCorpus
{
    public const int Bos = 0;
    public int Vocab { get; }
    public int Length { get; }
    public int MinRepeat { get; }
    public int MaxRepeat { get; }
    public int Seed { get; }

    public RepeatedSegmentCorpus(int vocab, int length, int seed, int minRepeat = 0, int maxRepeat = 0)
    {
        if (vocab is < 3 or > 1_000_000) throw new AttnScopeException($"vocabulary size {vocab} must be 3..1000000 (BOS plus random tokens)");
        if (length is < 6 or > 1 << 16) throw new AttnScopeException($"sequence length {length} must be 6..65536");
        if (maxRepeat <= 0) maxRepeat = (length - 1) / 2;
        if (minRepeat <= 0) minRepeat = Math.Max(2, maxRepeat / 3);
        if (minRepeat < 2 || maxRepeat < minRepeat || 2 * maxRepeat > length - 1)
            throw new AttnScopeException($"repeat lengths {minRepeat}..{maxRepeat} do not fit twice into {length - 1} tokens");
        Vocab = vocab; Length = length; Seed = seed; MinRepeat = minRepeat; MaxRepeat = maxRepeat;
    }

    /// <summary>Sequence <paramref name="index"/> of batch <paramref name="step"/>.</summary>
    public CausalLmSequence Sample(long step, int index)
    {
        var rng = FastRandom.ForStep(Seed, step, index + 1);
        int Next(int n) => (int)(rng.NextUInt64() % (ulong)n);
        int L = Length;
        var ids = new int[L];
        ids[0] = Bos;
        for (int i = 1; i < L; i++) ids[i] = 1 + Next(Vocab - 1);
        int k = MinRepeat + Next(MaxRepeat - MinRepeat + 1);
        int a = 1 + Next(L - 2 * k);                // a + k ≤ L − k
        int b = a + k + Next(L - k - (a + k) + 1);  // a + k ≤ b ≤ L − k
        Array.Copy(ids, a, ids, b, k);
        var repeated = new bool[L - 1];
        for (int t = b + 1; t < b + k; t++) repeated[t - 1] = true;
        return new CausalLmSequence(ids, repeated);
    }

    /// <summary>The batch of <paramref name="size"/> sequences for a step.</summary>
    public CausalLmSequence[] Batch(long step, int size) => Enumerable.Range(0, size).Select(i => Sample(step, i)).ToArray();
}
