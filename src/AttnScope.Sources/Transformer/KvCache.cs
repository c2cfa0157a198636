using AttnScope.Capture;

namespace AttnScope.Sources.Transformer;

/// <summary>
/// Keys (after rotary) and values of every layer for the positions run so far, so that generation feeds only the
/// newest token: each forward pass with a cache appends its rows and attends over all of them. Sized once for a
/// capacity in positions.
/// </summary>
public sealed class KvCache
{
    internal readonly float[][] Keys, Values;
    /// <summary>Positions held (the position of the next token).</summary>
    public int Length { get; internal set; }
    public int Capacity { get; }

    internal KvCache(TransformerSpec spec, int capacity)
    {
        if (capacity < 1 || capacity > spec.MaxPositions)
            throw new AttnScopeException($"a key/value cache of {capacity} positions (the model takes 1..{spec.MaxPositions})");
        long per = (long)capacity * spec.KvWidth;
        if (per * spec.Layers * 2 > 1L << 33)
            throw new AttnScopeException($"a key/value cache of {capacity} positions would take {per * spec.Layers * 8 >> 20} MiB");
        Capacity = capacity;
        Keys = new float[spec.Layers][];
        Values = new float[spec.Layers][];
        for (int l = 0; l < spec.Layers; l++)
        {
            Keys[l] = GC.AllocateUninitializedArray<float>((int)per, pinned: true);
            Values[l] = GC.AllocateUninitializedArray<float>((int)per, pinned: true);
        }
    }

    /// <summary>Forgets every position (the arrays are kept).</summary>
    public void Clear() => Length = 0;
}
