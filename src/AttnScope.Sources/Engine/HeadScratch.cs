namespace AttnScope.Sources.Engine;

/// <summary>Per-thread packed K (as Bᵀ) and V panels of one attention head, grown on demand.</summary>
internal static class HeadScratch
{
    [ThreadStatic] private static float[]? _keys;
    [ThreadStatic] private static float[]? _values;
    [ThreadStatic] private static float[]? _block;
    [ThreadStatic] private static float[]? _rows;

    public static float[] Keys(int length) => Grow(ref _keys, length);
    public static float[] Values(int length) => Grow(ref _values, length);
    /// <summary>Scores/probabilities of one block of query rows.</summary>
    public static float[] Block(int length) => Grow(ref _block, length);
    /// <summary>Normalised probabilities of one block of query rows, handed to an attention sink.</summary>
    public static float[] SinkRows(int length) => Grow(ref _rows, length);

    private static float[] Grow(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
            buffer = GC.AllocateArray<float>(Math.Max(length, buffer?.Length * 2 ?? 0), pinned: true);
        return buffer;
    }
}
