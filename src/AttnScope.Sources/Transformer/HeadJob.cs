using System.Runtime.CompilerServices;
using AttnScope.Capture;
using AttnScope.Sources.Engine;

namespace AttnScope.Sources.Transformer;

/// <summary>
/// Everything one attention head of the current layer needs; <see cref="Run"/> is the per-head body. Queries are
/// the m new rows of the fused projection; keys and values are T rows (the same projection without a cache, the
/// cache with one), shared by the query heads of a group.
/// </summary>
internal sealed unsafe class HeadJob
{
    /// <summary>Query rows per attention block (a multiple of the GEMM tile height; 48×512 floats = 96 KiB).</summary>
    private const int RowBlock = 8 * GemmKernel.MR;

    public int M, T, Offset, Heads, KvHeads, HeadDim, QueryWidth, QkvLd, KvLd, Layer, Window;
    public float Scale;
    public bool Causal;
    public float[]? Slopes;
    /// <summary>Relative-position biases by offset, [heads, 2·OffsetSpan − 1] (see <see cref="RelativePositionBuckets.OffsetTable"/>), or null.</summary>
    public float[]? OffsetBias;
    public int OffsetSpan;
    /// <summary>Fused projection rows [m, QkvLd]; keys/values rows start at KeyBase/ValueBase with stride KvLd.</summary>
    public nint Qkv, KeyBase, ValueBase, Context;
    /// <summary>This layer's probabilities [heads, m, T], or 0 when not kept.</summary>
    public nint Attention;
    public FloatTensor? Q, K, V, Scores;
    /// <summary>Receives each block of normalised probability rows instead of (or besides) <see cref="Attention"/>.</summary>
    public IAttentionRowSink? Sink;
    /// <summary>With a cache: its packed keys and values per key/value head (see <see cref="KvCache.PackedKeys"/>).</summary>
    public float[][]? PackedKeys, PackedValues;
    public int PackedCapacity;
    private Action<int>? _run;
    public Action<int> Run => _run ??= Head;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Head(int h)
    {
        int m = M, n = T, dh = HeadDim, ld = QkvLd, kvld = KvLd;
        int kvh = h / (Heads / KvHeads);
        float* qh = (float*)Qkv + h * dh;
        float* kh = (float*)KeyBase + kvh * dh;
        float* vh = (float*)ValueBase + kvh * dh;
        int nr = GemmKernel.NR;
        int keyPanels = (n + nr - 1) / nr, dimPanels = (dh + nr - 1) / nr;

        if (Q is not null)
        {
            int qoff = (Layer * Heads + h) * m * dh, koff = (Layer * Heads + h) * n * dh;
            for (int i = 0; i < m; i++) new ReadOnlySpan<float>(qh + (long)i * ld, dh).CopyTo(Q.Data.AsSpan(qoff + i * dh, dh));
            for (int j = 0; j < n; j++)
            {
                new ReadOnlySpan<float>(kh + (long)j * kvld, dh).CopyTo(K!.Data.AsSpan(koff + j * dh, dh));
                new ReadOnlySpan<float>(vh + (long)j * kvld, dh).CopyTo(V!.Data.AsSpan(koff + j * dh, dh));
            }
        }

        long t0 = EngineProfile.Now();
        float* att = Attention == 0 ? null : (float*)Attention + (long)h * m * n;
        float* packK, packV;
        long vPanelStride;
        if (PackedKeys is not null)
        {
            packK = Gemm.Ptr(PackedKeys[kvh]);
            packV = Gemm.Ptr(PackedValues![kvh]);
            vPanelStride = (long)PackedCapacity * nr;
        }
        else
        {
            packK = Gemm.Ptr(HeadScratch.Keys(keyPanels * dh * nr));
            GemmKernel.PackTransposed(kh, kvld, n, dh, packK, Scale);
            packV = Gemm.Ptr(HeadScratch.Values(dimPanels * n * nr));
            GemmKernel.PackRowMajor(vh, kvld, n, dh, packV);
            vPanelStride = (long)n * nr;
        }
        int soff = (Layer * Heads + h) * m * n;
        t0 = EngineProfile.Add(EngineProfile.Part.HeadPack, t0);
        float* ctx = (float*)Context + h * dh;
        bool masked = Causal || Window > 0;
        float slope = Slopes is null ? 0f : Slopes[h];
        var offsetBias = OffsetBias is null ? default : OffsetBias.AsSpan(h * (2 * OffsetSpan - 1), 2 * OffsetSpan - 1);

        // A block of query rows at a time, in a per-thread buffer that stays in L2: scores, softmax and the
        // product with V all hit cache; the probabilities go out to the captured attention once, with streaming
        // stores. K carries the 1/√d scale; P·V uses the unnormalised exponentials still in the block and each
        // context row is divided by its sum afterwards. A causal block computes scores only up to its last
        // visible key; hidden keys get exactly 0.
        float* block = Gemm.Ptr(HeadScratch.Block(RowBlock * n));
        float* inv = stackalloc float[RowBlock];
        var sink = Sink;
        float* sinkRows = sink is null ? null : Gemm.Ptr(HeadScratch.SinkRows(RowBlock * n));
        for (int r0 = 0; r0 < m; r0 += RowBlock)
        {
            int rows = Math.Min(RowBlock, m - r0);
            int panels = Causal ? Math.Min(keyPanels, (Offset + r0 + rows + nr - 1) / nr) : keyPanels;
            GemmKernel.Compute(qh + (long)r0 * ld, ld, packK, dh, n, block, n, null, false, 0, rows, 0, panels);
            t0 = EngineProfile.Add(EngineProfile.Part.HeadScores, t0);
            for (int i = 0; i < rows; i++)
            {
                int p = Offset + r0 + i;
                int hi = Causal ? p + 1 : n;
                int lo = Window > 0 ? Math.Max(0, p - Window + 1) : 0;
                var row = new Span<float>(block + (long)i * n, n);
                if (slope != 0f)
                    for (int j = lo; j < hi; j++) row[j] += slope * (j - p);
                if (!offsetBias.IsEmpty)
                {
                    var add = offsetBias.Slice(OffsetSpan - 1 - p + lo, hi - lo);
                    System.Numerics.Tensors.TensorPrimitives.Add(row[lo..hi], add, row[lo..hi]);
                }
                var visible = row[lo..hi];
                var scoreRow = Scores is null ? default : Scores.Data.AsSpan(soff + (r0 + i) * n, n);
                float* attRow = sinkRows != null ? sinkRows + (long)i * n : att == null ? null : att + (long)(r0 + i) * n;
                inv[i] = RowOps.SoftmaxUnnormalized(visible, scoreRow.IsEmpty ? default : scoreRow[lo..hi], attRow == null ? null : attRow + lo);
                if (masked)
                {
                    row[..lo].Clear();
                    row[hi..].Clear();
                    if (attRow != null)
                    {
                        new Span<float>(attRow, lo).Clear();
                        new Span<float>(attRow + hi, n - hi).Clear();
                    }
                }
            }
            if (sink is not null)
            {
                var probs = new ReadOnlySpan<float>(sinkRows, rows * n);
                if (att != null) probs.CopyTo(new Span<float>(att + (long)r0 * n, rows * n));
                sink.Rows(Layer, h, Offset + r0, rows, n, probs);
            }
            t0 = EngineProfile.Add(EngineProfile.Part.HeadSoftmax, t0);
            // One value panel at a time: a cache's panels are a capacity apart, not n.
            for (int p = 0; p < dimPanels; p++)
                GemmKernel.Compute(block, n, packV + p * vPanelStride, n, Math.Min(nr, dh - p * nr), ctx + (long)r0 * QueryWidth + p * nr, QueryWidth, null, false, 0, rows, 0, 1);
            for (int i = 0; i < rows; i++) RowOps.Scale(new Span<float>(ctx + (long)(r0 + i) * QueryWidth, dh), inv[i]);
            t0 = EngineProfile.Add(EngineProfile.Part.HeadContext, t0);
        }
    }
}
