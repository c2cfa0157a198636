using AttnScope.Capture;

namespace AttnScope.Sources.Transformer;

/// <summary>
/// Keys (after rotary) and values of every layer for the positions run so far, so that generation feeds only the
/// newest token: each forward pass with a cache appends its rows and attends over all of them. Sized once for a
/// capacity in positions.
/// </summary>
internal sealed class KvCache
{
    internal readonly float[][] Keys, Values;
    /// <summary>
    /// The same keys and values packed for the attention GEMM, per layer and key/value head, appended as positions
    /// arrive, so a generation step packs one row instead of every cached row (and a group of query heads shares one
    /// pack). Keys: panels of <see cref="Engine.GemmKernel.NR"/> positions, each [d_head][NR], scaled by the score factor
    /// (1/√d_head unless the family sets it) as the attention folds it in; values: one panel of NR dimensions after another, each [capacity][NR].
    /// </summary>
    internal readonly float[][][] PackedKeys, PackedValues;
    internal readonly float KeyScale;
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
        PackedKeys = new float[spec.Layers][][];
        PackedValues = new float[spec.Layers][][];
        int nr = Engine.GemmKernel.NR, dh = spec.HeadDim;
        int keyPanels = (capacity + nr - 1) / nr, dimPanels = (dh + nr - 1) / nr;
        KeyScale = spec.ScoreScale;
        for (int l = 0; l < spec.Layers; l++)
        {
            Keys[l] = GC.AllocateUninitializedArray<float>((int)per, pinned: true);
            Values[l] = GC.AllocateUninitializedArray<float>((int)per, pinned: true);
            PackedKeys[l] = new float[spec.KvHeads][];
            PackedValues[l] = new float[spec.KvHeads][];
            for (int g = 0; g < spec.KvHeads; g++)
            {
                // Zeroed: the unused columns of a key panel and the padding dimensions of a value panel must be 0.
                PackedKeys[l][g] = GC.AllocateArray<float>(keyPanels * dh * nr, pinned: true);
                PackedValues[l][g] = GC.AllocateArray<float>(dimPanels * capacity * nr, pinned: true);
            }
        }
    }

    /// <summary>Appends key and value rows (after rotary) of one layer at <paramref name="position"/> to the packed copies.</summary>
    internal void Pack(int layer, int position, ReadOnlySpan<float> keyRow, ReadOnlySpan<float> valueRow, int dh)
    {
        int nr = Engine.GemmKernel.NR, panel = position / nr, col = position % nr;
        for (int g = 0; g < PackedKeys[layer].Length; g++)
        {
            var k = keyRow.Slice(g * dh, dh);
            var pk = PackedKeys[layer][g].AsSpan(panel * dh * nr);
            for (int kk = 0; kk < dh; kk++) pk[kk * nr + col] = k[kk] * KeyScale;
            var v = valueRow.Slice(g * dh, dh);
            var pv = PackedValues[layer][g];
            for (int d = 0; d < dh; d++) pv[(d / nr) * Capacity * nr + position * nr + d % nr] = v[d];
        }
    }

    /// <summary>The encoder output whose cross-attention keys and values <see cref="MemoryKv"/> holds (projected
    /// once per source, reused by every step).</summary>
    internal Capture.FloatTensor? MemoryOf;
    internal float[][]? MemoryKv;

    /// <summary>Forgets every position (the arrays are kept).</summary>
    public void Clear() => Length = 0;

    /// <summary>Makes <paramref name="target"/> (a cache of the same model and capacity) hold this cache's positions
    /// (beam search: a survivor continues its parent's prefix).</summary>
    public void CopyTo(KvCache target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (ReferenceEquals(target, this)) return;
        if (target.Capacity != Capacity || target.Keys.Length != Keys.Length || target.Keys[0].Length != Keys[0].Length)
            throw new ArgumentException("the caches belong to different models or capacities", nameof(target));
        int kvw = Keys[0].Length / Capacity;
        for (int l = 0; l < Keys.Length; l++)
        {
            Keys[l].AsSpan(0, Length * kvw).CopyTo(target.Keys[l]);
            Values[l].AsSpan(0, Length * kvw).CopyTo(target.Values[l]);
            for (int g = 0; g < PackedKeys[l].Length; g++)
            {
                PackedKeys[l][g].CopyTo(target.PackedKeys[l][g], 0);
                PackedValues[l][g].CopyTo(target.PackedValues[l][g], 0);
            }
        }
        target.Length = Length;
        target.MemoryOf = MemoryOf;
        target.MemoryKv = MemoryKv;
    }
}
