using AttnScope.Capture;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Sources.Engine;

/// <summary>
/// A managed BERT-family encoder (post-LayerNorm BERT, MiniLM, …) that returns every layer's attention
/// probabilities alongside the last hidden state. Linear weights are packed once at construction; each run reuses
/// pinned workspaces and splits products across cores with a cache-blocked AVX2/FMA GEMM (AVX-512 or Vector128
/// kernels where those are what the CPU has; all three give bit-identical results). Thread-safe: concurrent runs
/// each take their own workspace.
/// <para>Numerics: float32 throughout with fused multiply-adds in a fixed k order (results do not depend on the
/// thread count); 1/√d is folded into the packed keys; softmax subtracts the row maximum and uses a vectorised
/// exp accurate to about 2.6e-7 of the row's largest term, and P·V runs on the unnormalised exponentials with each
/// context row then divided by its sum; LayerNorm takes mean and variance in two passes with double totals; GELU
/// goes through erfc, accurate to about 2e-7·max(1, |GELU|).</para>
/// </summary>
public sealed unsafe class BertEngine
{
    private readonly BertConfig _config;
    private readonly BertWeights _weights;
    private EngineWorkspace? _spare;

    /// <summary>Work (multiply-adds) below which attention heads and activations stay on the calling thread.</summary>
    private const long ParallelWork = 1L << 14;

    /// <summary>Checks every weight's presence and shape against <paramref name="config"/>, then packs them.</summary>
    /// <exception cref="AttnScopeException">A tensor is missing or has the wrong shape, or the config is invalid.</exception>
    public BertEngine(BertConfig config, WeightStore weights)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        _config = config;
        _weights = BertWeights.Load(config, weights);
    }

    public BertConfig Config => _config;

    /// <summary>
    /// Runs one sequence at its own length (no padding). Returns the last hidden state [n, hidden] and the
    /// post-softmax attention [layers, heads, n, n]; with <paramref name="captureQkv"/> also Q, K, V
    /// [layers, heads, n, head_dim] (after bias, before scaling) and the scaled scores QKᵀ/√d [layers, heads, n, n]
    /// before softmax (no mask: every key is a real token).
    /// </summary>
    /// <exception cref="AttnScopeException">Empty input, too long for the position table, or an id out of range.</exception>
    public SequenceAttention Run(EncodedInput input, bool captureQkv = false)
    {
        Validate(input, null);
        return Forward(input, captureQkv);
    }

    /// <summary>
    /// Runs several sequences, possibly of different lengths. Each is computed at its own length, which is
    /// mathematically identical to running them as one padded batch with an attention mask: a masked key gets
    /// exactly zero probability after softmax (its exponent underflows to 0), so padding never changes the real
    /// tokens' scores, probabilities, context or hidden states. Results are in input order, each as from
    /// <see cref="Run"/>. All inputs are validated before any is run.
    /// </summary>
    public IReadOnlyList<SequenceAttention> RunBatch(IReadOnlyList<EncodedInput> inputs, bool captureQkv = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        for (int i = 0; i < inputs.Count; i++) Validate(inputs[i], i);
        var results = new SequenceAttention[inputs.Count];
        for (int i = 0; i < inputs.Count; i++) results[i] = Forward(inputs[i], captureQkv);
        return results;
    }

    private void Validate(EncodedInput input, int? index)
    {
        string which = index is null ? "input" : $"input {index}";
        if (input is null) throw new AttnScopeException($"{which} is null");
        if (input.Ids is null || input.TypeIds is null) throw new AttnScopeException($"{which} has no token ids");
        int n = input.Ids.Length;
        if (n == 0) throw new AttnScopeException($"{which} has no tokens");
        if (input.TypeIds.Length != n)
            throw new AttnScopeException($"{which} has {n} token ids but {input.TypeIds.Length} token type ids");
        if (n > _config.MaxPositions)
            throw new AttnScopeException($"{which} has {n} tokens; the model takes at most {_config.MaxPositions} (max_position_embeddings)");
        for (int i = 0; i < n; i++)
        {
            if ((uint)input.Ids[i] >= (uint)_config.VocabSize)
                throw new AttnScopeException($"{which}: token id {input.Ids[i]} at position {i} is out of range for vocabulary size {_config.VocabSize}");
            if ((uint)input.TypeIds[i] >= (uint)_config.TypeVocabSize)
                throw new AttnScopeException($"{which}: token type id {input.TypeIds[i]} at position {i} is out of range for type_vocab_size {_config.TypeVocabSize}");
        }
    }

    private EngineWorkspace Rent(int n)
    {
        var ws = Interlocked.Exchange(ref _spare, null);
        if (ws is not null && ws.Capacity >= n) return ws;
        int cap = Math.Max(n, ws?.Capacity ?? 0);
        cap = Math.Min(_config.MaxPositions, (cap + 63) / 64 * 64);
        return new EngineWorkspace(Math.Max(cap, n), _config.HiddenSize, _config.IntermediateSize);
    }

    private void Return(EngineWorkspace ws)
    {
        var old = Interlocked.CompareExchange(ref _spare, ws, null);
        if (old is not null && old.Capacity < ws.Capacity) Interlocked.CompareExchange(ref _spare, ws, old);
    }

    private SequenceAttention Forward(EncodedInput input, bool captureQkv)
    {
        var ws = Rent(input.Length);
        try { return Forward(input, captureQkv, ws); }
        finally { Return(ws); }
    }

    private SequenceAttention Forward(EncodedInput input, bool captureQkv, EngineWorkspace ws)
    {
        var c = _config;
        int n = input.Length, hidden = c.HiddenSize, heads = c.NumHeads, dh = c.HeadDim, layers = c.NumLayers;
        int inter = c.IntermediateSize;
        float eps = c.LayerNormEps;

        // An ordinary (large-object) array, pinned only for this pass: fresh pinned-heap arrays of this size are
        // several times slower to write the first time.
        var attention = new FloatTensor([layers, heads, n, n], GC.AllocateUninitializedArray<float>(layers * heads * n * n));
        FloatTensor? q = null, k = null, v = null, scores = null;
        if (captureQkv)
        {
            q = new FloatTensor([layers, heads, n, dh]);
            k = new FloatTensor([layers, heads, n, dh]);
            v = new FloatTensor([layers, heads, n, dh]);
            scores = new FloatTensor([layers, heads, n, n]);
        }

        Embed(input, ws.Hidden);
        float* x = Gemm.Ptr(ws.Hidden);
        float* qkv = Gemm.Ptr(ws.Qkv);
        float* ctx = Gemm.Ptr(ws.Context);
        float* mid = Gemm.Ptr(ws.Intermediate);
        fixed (float* att = attention.Data)
        {
            var state = new HeadState
            {
                N = n, Hidden = hidden, Heads = heads, HeadDim = dh, Scale = 1f / MathF.Sqrt(dh),
                Qkv = (nint)qkv, Context = (nint)ctx, Attention = (nint)att, Q = q, K = k, V = v, Scores = scores,
            };
            bool parallelHeads = Gemm.Threads > 1 && (long)heads * n * n * dh >= ParallelWork;

            for (int l = 0; l < layers; l++)
            {
                var w = _weights.Layers[l];
                long t0 = EngineProfile.Now();
                Gemm.Multiply(x, hidden, n, w.Qkv, qkv, 3 * hidden, accumulate: false);
                t0 = EngineProfile.Add(EngineProfile.Part.Qkv, t0);
                state.Layer = l;
                if (parallelHeads) WorkerPool.For(heads, state.RunHead, Gemm.Threads);
                else for (int h = 0; h < heads; h++) state.RunHead(h);
                t0 = EngineProfile.Add(EngineProfile.Part.Attention, t0);

                Gemm.Multiply(ctx, hidden, n, w.AttentionOutput, x, hidden, accumulate: true);
                t0 = EngineProfile.Add(EngineProfile.Part.AttentionOutput, t0);
                NormRows(ws.Hidden, n, hidden, w.AttentionNormGamma, w.AttentionNormBeta, eps);
                t0 = EngineProfile.Add(EngineProfile.Part.LayerNorm, t0);

                Gemm.Multiply(x, hidden, n, w.Intermediate, mid, inter, accumulate: false);
                t0 = EngineProfile.Add(EngineProfile.Part.Intermediate, t0);
                Activate(ws.Intermediate, n, inter);
                t0 = EngineProfile.Add(EngineProfile.Part.Activation, t0);
                Gemm.Multiply(mid, inter, n, w.Output, x, hidden, accumulate: true);
                t0 = EngineProfile.Add(EngineProfile.Part.Output, t0);
                NormRows(ws.Hidden, n, hidden, w.OutputNormGamma, w.OutputNormBeta, eps);
                EngineProfile.Add(EngineProfile.Part.LayerNorm, t0);
            }
        }

        var last = new FloatTensor([n, hidden]);
        ws.Hidden.AsSpan(0, n * hidden).CopyTo(last.Data);
        return new SequenceAttention { LastHidden = last, Attention = attention, Query = q, Key = k, Value = v, Scores = scores };
    }

    private void Embed(EncodedInput input, float[] hiddenBuf)
    {
        int hidden = _config.HiddenSize;
        var wte = _weights.WordEmbeddings.AsSpan();
        var wpe = _weights.PositionEmbeddings.AsSpan();
        var wtt = _weights.TokenTypeEmbeddings.AsSpan();
        for (int i = 0; i < input.Length; i++)
        {
            var row = hiddenBuf.AsSpan(i * hidden, hidden);
            RowOps.Add3(wte.Slice(input.Ids[i] * hidden, hidden), wpe.Slice(i * hidden, hidden), wtt.Slice(input.TypeIds[i] * hidden, hidden), row);
            RowOps.LayerNorm(row, _weights.EmbeddingNormGamma, _weights.EmbeddingNormBeta, _config.LayerNormEps);
        }
    }

    private static void NormRows(float[] buf, int n, int width, float[] gamma, float[] beta, float eps)
    {
        if (Gemm.Threads <= 1 || (long)n * width < 16384)
        {
            for (int i = 0; i < n; i++) RowOps.LayerNorm(buf.AsSpan(i * width, width), gamma, beta, eps);
            return;
        }
        var task = NormTask.Instance ??= new NormTask();
        task.Set(buf, n, width, gamma, beta, eps, Math.Min(n, Gemm.Threads * 2));
        WorkerPool.For(task.Chunks, task.Body, Gemm.Threads);
    }

    /// <summary>
    /// LayerNorm of row chunks on <see cref="WorkerPool"/> (serial, it was ~1% of a 512-token pass with the other
    /// core idle). One per calling thread with its delegate cached, so a pass allocates no closures for it.
    /// </summary>
    private sealed class NormTask
    {
        [ThreadStatic] public static NormTask? Instance;
        private float[] _buf = null!, _gamma = null!, _beta = null!;
        private int _n, _width;
        private float _eps;
        public int Chunks { get; private set; }
        public Action<int> Body { get; }

        public NormTask() => Body = Run;

        public void Set(float[] buf, int n, int width, float[] gamma, float[] beta, float eps, int chunks)
        {
            (_buf, _n, _width, _gamma, _beta, _eps, Chunks) = (buf, n, width, gamma, beta, eps, chunks);
        }

        private void Run(int t)
        {
            int r0 = _n * t / Chunks, r1 = _n * (t + 1) / Chunks;
            for (int i = r0; i < r1; i++) RowOps.LayerNorm(_buf.AsSpan(i * _width, _width), _gamma, _beta, _eps);
        }
    }

    private void Activate(float[] buf, int n, int width)
    {
        string act = _config.HiddenAct;
        long work = (long)n * width;
        if (Gemm.Threads <= 1 || work < 8192)
        {
            Activations.Apply(act, buf.AsSpan(0, n * width));
            return;
        }
        int chunks = Math.Min(n, Gemm.Threads * 2);
        WorkerPool.For(chunks, t =>
        {
            int r0 = n * t / chunks, r1 = n * (t + 1) / chunks;
            Activations.Apply(act, buf.AsSpan(r0 * width, (r1 - r0) * width));
        }, Gemm.Threads);
    }

    /// <summary>Everything one attention head of the current layer needs; <see cref="RunHead"/> is the per-head body.</summary>
    private sealed class HeadState
    {
        /// <summary>Query rows per attention block (a multiple of the GEMM tile height; 48×512 floats = 96 KiB).</summary>
        private const int RowBlock = 8 * GemmKernel.MR;

        public int N, Hidden, Heads, HeadDim, Layer;
        public float Scale;
        public nint Qkv, Context, Attention;
        public FloatTensor? Q, K, V, Scores;
        private Action<int>? _runHead;
        public Action<int> RunHead => _runHead ??= Head;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        private void Head(int h)
        {
            int n = N, dh = HeadDim, ld = 3 * Hidden;
            float* qkv = (float*)Qkv;
            float* qh = qkv + h * dh;
            float* kh = qh + Hidden;
            float* vh = kh + Hidden;
            int nr = GemmKernel.NR;
            int keyPanels = (n + nr - 1) / nr, dimPanels = (dh + nr - 1) / nr;

            if (Q is not null)
            {
                int off = (Layer * Heads + h) * n * dh;
                for (int i = 0; i < n; i++)
                {
                    new ReadOnlySpan<float>(qh + (long)i * ld, dh).CopyTo(Q.Data.AsSpan(off + i * dh, dh));
                    new ReadOnlySpan<float>(kh + (long)i * ld, dh).CopyTo(K!.Data.AsSpan(off + i * dh, dh));
                    new ReadOnlySpan<float>(vh + (long)i * ld, dh).CopyTo(V!.Data.AsSpan(off + i * dh, dh));
                }
            }

            long t0 = EngineProfile.Now();
            float* att = (float*)Attention + (long)(Layer * Heads + h) * n * n;
            float* packK = Gemm.Ptr(HeadScratch.Keys(keyPanels * dh * nr));
            GemmKernel.PackTransposed(kh, ld, n, dh, packK, Scale);
            float* packV = Gemm.Ptr(HeadScratch.Values(dimPanels * n * nr));
            GemmKernel.PackRowMajor(vh, ld, n, dh, packV);
            int soff = (Layer * Heads + h) * n * n;
            t0 = EngineProfile.Add(EngineProfile.Part.HeadPack, t0);
            float* ctx = (float*)Context + h * dh;

            // A block of query rows at a time, in a per-thread buffer that stays in L2: scores, softmax and the
            // product with V all hit cache; the probabilities go out to the captured attention once, with
            // streaming stores. K carries the 1/√d scale, so the scores come out scaled; P·V uses the unnormalised
            // exponentials still in the block and each context row is divided by its sum afterwards (d values
            // instead of n per row).
            float* block = Gemm.Ptr(HeadScratch.Block(RowBlock * n));
            float* inv = stackalloc float[RowBlock];
            for (int r0 = 0; r0 < n; r0 += RowBlock)
            {
                int rows = Math.Min(RowBlock, n - r0);
                GemmKernel.Compute(qh + (long)r0 * ld, ld, packK, dh, n, block, n, null, false, 0, rows, 0, keyPanels);
                t0 = EngineProfile.Add(EngineProfile.Part.HeadScores, t0);
                for (int i = 0; i < rows; i++)
                {
                    var row = new Span<float>(block + (long)i * n, n);
                    inv[i] = RowOps.SoftmaxUnnormalized(row, Scores is null ? default : Scores.Data.AsSpan(soff + (r0 + i) * n, n),
                        att + (long)(r0 + i) * n);
                }
                t0 = EngineProfile.Add(EngineProfile.Part.HeadSoftmax, t0);
                GemmKernel.Compute(block, n, packV, n, dh, ctx + (long)r0 * Hidden, Hidden, null, false, 0, rows, 0, dimPanels);
                for (int i = 0; i < rows; i++) RowOps.Scale(new Span<float>(ctx + (long)(r0 + i) * Hidden, dh), inv[i]);
                t0 = EngineProfile.Add(EngineProfile.Part.HeadContext, t0);
            }
        }
    }
}
