namespace AttnScope.Sources.Engine;

/// <summary>
/// Pinned activation buffers for one forward pass, sized for a capacity in tokens and reused across runs.
/// Per-thread attention scratch (packed K and V of one head) lives in <see cref="HeadScratch"/>.
/// </summary>
internal sealed class EngineWorkspace
{
    public int Capacity { get; }
    /// <summary>Hidden state [n, hidden].</summary>
    public float[] Hidden { get; }
    /// <summary>Fused projections [n, 3·hidden]: Q | K | V.</summary>
    public float[] Qkv { get; }
    /// <summary>Attention context [n, hidden].</summary>
    public float[] Context { get; }
    /// <summary>Feed-forward activations [n, intermediate].</summary>
    public float[] Intermediate { get; }

    public EngineWorkspace(int capacity, int hidden, int intermediate)
    {
        Capacity = capacity;
        Hidden = GC.AllocateArray<float>(capacity * hidden, pinned: true);
        Qkv = GC.AllocateArray<float>(capacity * 3 * hidden, pinned: true);
        Context = GC.AllocateArray<float>(capacity * hidden, pinned: true);
        Intermediate = GC.AllocateArray<float>(capacity * intermediate, pinned: true);
    }
}

/// <summary>Per-thread packed K (as Bᵀ) and V panels of one attention head, grown on demand.</summary>
internal static class HeadScratch
{
    [ThreadStatic] private static float[]? _keys;
    [ThreadStatic] private static float[]? _values;
    [ThreadStatic] private static float[]? _block;

    public static float[] Keys(int length) => Grow(ref _keys, length);
    public static float[] Values(int length) => Grow(ref _values, length);
    /// <summary>Scores/probabilities of one block of query rows.</summary>
    public static float[] Block(int length) => Grow(ref _block, length);

    private static float[] Grow(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
            buffer = GC.AllocateArray<float>(Math.Max(length, buffer?.Length * 2 ?? 0), pinned: true);
        return buffer;
    }
}
