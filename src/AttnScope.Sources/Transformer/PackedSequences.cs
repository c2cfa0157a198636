namespace AttnScope.Sources.Transformer;

/// <summary>
/// Where packed sequences lie: each sequence's rows, its block of self-attention probabilities [heads, n, n] in a
/// layer's packed attention, and (cross-attending stacks) its encoder rows and its block [heads, n, source] of
/// cross-attention. One sequence without packing is the same layout as the plain [heads, m, T] tensors.
/// </summary>
internal sealed class SegmentLayout
{
    public readonly int[] Len, Start;
    public readonly long[] SelfOff;
    public readonly long SelfPerLayer;
    public readonly int[]? MemLen, MemStart;
    public readonly long[]? CrossOff;
    public readonly long CrossPerLayer;
    public int Count => Len.Length;

    public SegmentLayout(int[] lengths, int[]? memoryLengths, int heads)
    {
        Len = lengths;
        Start = new int[lengths.Length];
        SelfOff = new long[lengths.Length];
        long off = 0;
        for (int i = 0, r = 0; i < lengths.Length; i++)
        {
            Start[i] = r;
            SelfOff[i] = off;
            r += lengths[i];
            off += (long)heads * lengths[i] * lengths[i];
        }
        SelfPerLayer = off;
        if (memoryLengths is null) return;
        MemLen = memoryLengths;
        MemStart = new int[lengths.Length];
        CrossOff = new long[lengths.Length];
        off = 0;
        for (int i = 0, r = 0; i < lengths.Length; i++)
        {
            MemStart[i] = r;
            CrossOff[i] = off;
            r += memoryLengths[i];
            off += (long)heads * lengths[i] * memoryLengths[i];
        }
        CrossPerLayer = off;
    }

    /// <summary>Each row's position inside its own sequence.</summary>
    public int[] Positions()
    {
        var p = new int[Start.Length == 0 ? 0 : Start[^1] + Len[^1]];
        for (int i = 0; i < Len.Length; i++)
            for (int j = 0; j < Len[i]; j++) p[Start[i] + j] = j;
        return p;
    }
}

/// <summary>
/// Inverted-dropout masks of one training pass, drawn in a fixed order (embeddings, then per block attention,
/// cross-attention, MLP) from a seeded SplitMix64 stream: the same seed gives the same masks. Rate 0: no masks.
/// </summary>
internal sealed class DropoutMasks(float rate, ulong seed)
{
    private ulong _stream;

    /// <summary>The next mask of n values (0 or 1/(1 − rate)), or null at inference.</summary>
    public float[]? Next(int n, float[]? reuse = null)
    {
        if (rate <= 0f) return null;
        var mask = reuse is not null && reuse.Length >= n ? reuse : new float[n];
        ulong state = seed ^ (++_stream * 0xD1B54A32D192ED03UL);
        float keep = 1f / (1f - rate);
        for (int i = 0; i < n; i++)
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            mask[i] = (z >> 40) * (1f / (1 << 24)) < rate ? 0f : keep;
        }
        return mask;
    }
}
