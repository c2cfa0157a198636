using AttnScope.Capture;
using AttnScope.Sources.Engine;

namespace AttnScope.Sources.Transformer;

/// <summary>
/// The one Transformer core: every family (BERT, GPT-2, Llama/Mistral/Qwen2, …) is a <see cref="TransformerSpec"/>
/// plus a weight-name map over this class. A block is
/// <code>
///   pre-norm:  x += Attn(Norm1(x));  x += Mlp(Norm2(x))          (then a final norm)
///   post-norm: x  = Norm1(x + Attn(x)); x = Norm2(x + Mlp(x))
/// </code>
/// with Attn = softmax(Q·Kᵀ/√d + mask [+ ALiBi])·V over heads (grouped-query when there are fewer key/value heads;
/// rotary applied to Q and K), and Mlp = Down(act(Up x)) or Down(act(Gate x)·Up x). Linear weights are packed
/// once; each pass reuses pinned workspaces; products run on the cache-blocked GEMM across cores, attention heads
/// in parallel, one block of query rows at a time in cache. A <see cref="KvCache"/> makes generation feed only
/// new tokens; <see cref="HookSet"/> records or edits the TransformerLens-named hook points.
/// <para>Numerics: float32 with fused multiply-adds in a fixed k order (results do not depend on the thread
/// count); 1/√d folded into the packed keys; softmax subtracts the row maximum; norms take their moments in
/// double.</para>
/// </summary>
internal sealed unsafe partial class TransformerModel
{
    public TransformerSpec Spec { get; }
    /// <summary>Where the weights came from (for messages).</summary>
    public string Origin { get; }
    internal TransformerWeights Weights { get; private set; }
    /// <summary>The unpacked tensors (PyTorch layout): what backward passes and optimizers work on.</summary>
    public CoreTensors Tensors { get; }
    private readonly RotaryTable? _rope;
    private readonly float[]? _alibi;
    private CoreWorkspace? _spare;

    /// <summary>Work (multiply-adds) below which attention heads and row operations stay on the calling thread.</summary>
    private const long ParallelWork = 1L << 14;

    /// <summary>Checks the spec and every tensor's size, then packs the weights.</summary>
    public TransformerModel(TransformerSpec spec, CoreTensors tensors, string origin)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(tensors);
        spec.Validate(origin);
        Spec = spec;
        Origin = origin;
        Weights = TransformerWeights.Pack(spec, tensors, origin);
        Tensors = tensors;
        if (spec.Positions == PositionKind.Rotary) _rope = new RotaryTable(spec.Rope!);
        if (spec.Positions == PositionKind.Alibi) _alibi = AlibiSlopes(spec.Heads);
    }

    /// <summary>
    /// Packs the weights again from <see cref="Tensors"/> after something (an optimizer step) changed their values;
    /// the model keeps its workspaces. Key/value caches filled before hold the old keys and values.
    /// </summary>
    public void Repack() => Weights = TransformerWeights.Pack(Spec, Tensors, Origin);

    /// <summary>The relative-position biases by offset for <paramref name="span"/> positions (null unless the stack has them).</summary>
    private float[]? RelativeOffsets(int span) => Spec.Positions != PositionKind.RelativeBias ? null
        : RelativePositionBuckets.OffsetTable(Weights.RelativeBias!, Spec.Heads, span, !Spec.Causal, Spec.RelativeBuckets, Spec.RelativeMaxDistance);

    /// <summary>ALiBi's head slopes: 2^(−8h/n) for n a power of two, interleaved from the next power otherwise.</summary>
    internal static float[] AlibiSlopes(int heads)
    {
        int p = 1;
        while (p * 2 <= heads) p *= 2;
        var slopes = new float[heads];
        for (int h = 0; h < p; h++) slopes[h] = MathF.Pow(2f, -8f * (h + 1) / p);
        for (int h = p; h < heads; h++) slopes[h] = MathF.Pow(2f, -4f * (2 * (h - p) + 1) / p);
        return slopes;
    }

    /// <summary>A key/value cache for up to <paramref name="capacity"/> positions.</summary>
    public KvCache NewCache(int capacity) => new(Spec, capacity);

    /// <summary>The unembedding rows [vocab, hidden] (the token embeddings when tied), or null for encoders.</summary>
    public ReadOnlySpan<float> UnembeddingRows => Weights.UnembeddingRows;

    /// <summary>Layer l's attention output weight [hidden, heads·d_head] (PyTorch layout): head h owns columns h·d_head….</summary>
    public ReadOnlySpan<float> OutputWeight(int layer) => Weights.Layers[layer].OutputWeight;

    /// <summary>Applies the final norm (or nothing, for stacks without one) to rows [n, hidden] in place.</summary>
    public void ApplyFinalNorm(Span<float> rows)
    {
        if (!Spec.FinalNorm) return;
        int d = Spec.Hidden;
        for (int i = 0; i + d <= rows.Length; i += d) NormRow(rows.Slice(i, d), Weights.FinalNormGain!, Weights.FinalNormBias);
    }

    /// <summary>logits[n, vocab] = rows[n, hidden]·W_Uᵀ (+ bias).</summary>
    public float[] Unembed(float[] rows, int n)
    {
        var head = Weights.Unembedding ?? throw new AttnScopeException($"{Spec.Family} has no language-model head");
        var logits = new float[(long)n * Spec.Vocab];
        Gemm.Multiply(rows, n, head, logits);
        return logits;
    }

    private void NormRow(Span<float> row, float[] gain, float[]? bias)
    {
        if (Spec.Norm == NormKind.RmsNorm) CoreOps.RmsNorm(row, gain, Spec.NormEps);
        else if (bias is null) CoreOps.LayerNormNoBias(row, gain, Spec.NormEps);
        else RowOps.LayerNorm(row, gain, bias, Spec.NormEps);
    }

    private void Validate(ForwardInput input, int offset)
    {
        if (input.Ids is null || input.Ids.Length == 0) throw new AttnScopeException("the input has no tokens");
        int m = input.Ids.Length;
        if (input.Segments is not null) ValidateSegments(input, m);
        if (!(input.Dropout >= 0f && input.Dropout < 1f)) throw new AttnScopeException($"dropout {input.Dropout} must be in [0, 1)");
        if (input.Caches is { } caches) ValidateCaches(input, caches, offset, m);
        long total = input.Segments is not null ? input.Segments.Max() : input.Caches is not null ? offset + 1L : (long)offset + m;
        if (total > Spec.MaxPositions)
            throw new AttnScopeException(offset == 0
                ? $"the input has {m} tokens; the model takes at most {Spec.MaxPositions}"
                : $"{offset} cached and {m} new tokens exceed the model's {Spec.MaxPositions} positions");
        if (input.Cache is { } c && total > c.Capacity)
            throw new AttnScopeException($"{offset} cached and {m} new tokens exceed the cache's {c.Capacity} positions");
        for (int i = 0; i < m; i++)
            if ((uint)input.Ids[i] >= (uint)Spec.Vocab)
                throw new AttnScopeException($"token id {input.Ids[i]} at position {offset + i} is out of range for vocabulary size {Spec.Vocab}");
        if (input.InputEmbeddings is { } rows && rows.Length != (long)m * Spec.Hidden)
            throw new AttnScopeException($"{rows.Length} input embedding values for {m} tokens of width {Spec.Hidden} (need {(long)m * Spec.Hidden})");
        if (input.TypeIds is { } types)
        {
            if (types.Length != m) throw new AttnScopeException($"{m} token ids but {types.Length} token type ids");
            int limit = Math.Max(1, Spec.TypeVocab);
            for (int i = 0; i < m; i++)
                if ((uint)types[i] >= (uint)limit)
                    throw new AttnScopeException($"token type id {types[i]} at position {offset + i} is out of range for type_vocab_size {Spec.TypeVocab}");
        }
        if (!input.SkipAttention && input.Segments is null)
        {
            long att = (long)Spec.Layers * Spec.Heads * m * total;
            if (att > Array.MaxLength)
                throw new AttnScopeException($"the attention of {total} tokens over {Spec.Layers} layers × {Spec.Heads} heads would need {att:N0} values, more than one array holds; use fewer tokens");
        }
        input.Hooks?.Validate(Spec);
    }

    /// <summary>A batched step: one cache a token, all of this model and at the same length; logits or hidden states only.</summary>
    private void ValidateCaches(ForwardInput input, KvCache[] caches, int offset, int m)
    {
        if (caches.Length != m) throw new AttnScopeException($"{m} tokens but {caches.Length} caches: a batched step feeds one token a cache");
        if (input.Cache is not null || input.Segments is not null || input.Hooks is not null || input.CaptureQkv || input.Record || input.AttentionSink is not null || !input.SkipAttention)
            throw new AttnScopeException("a batched step runs with SkipAttention and without another cache, packed sequences, hooks, Q/K/V capture, recording or a sink");
        foreach (var c in caches)
        {
            if (c.Length != offset) throw new AttnScopeException($"the caches of a batched step hold {offset} and {c.Length} positions: they must be at the same length");
            if (c.Keys.Length != Spec.Layers || c.Keys[0].Length != c.Capacity * Spec.KvWidth) throw new AttnScopeException("a cache of another model");
            if (offset + 1 > c.Capacity) throw new AttnScopeException($"{offset} cached and 1 new token exceed the cache's {c.Capacity} positions");
        }
    }

    /// <summary>A copy of <paramref name="src"/> kept for the backward pass: in <paramref name="old"/> (an earlier tape's
    /// array, possibly longer) when it is large enough, else in a new array with room to grow.</summary>
    private static float[] Keep(float[]? old, ReadOnlySpan<float> src)
    {
        if (old is null || old.Length < src.Length)
        {
            if (old is null) return src.ToArray();
            old = GC.AllocateUninitializedArray<float>(checked(src.Length + src.Length / 4));
        }
        src.CopyTo(old);
        return old;
    }

    /// <summary>Packed attention blocks of a pass: one flat tensor (an earlier tape's array when large enough).</summary>
    private static FloatTensor Block(float[]? old, long length)
    {
        int n = checked((int)length);
        var data = old is not null && old.Length >= n ? old : GC.AllocateUninitializedArray<float>(old is null ? n : checked(n + n / 4));
        return new FloatTensor([data.Length], data);
    }

    /// <summary>Packed sequences: lengths that add up to the rows, each within the model; no cache, hooks or Q/K/V capture.</summary>
    private void ValidateSegments(ForwardInput input, int m)
    {
        var segs = input.Segments!;
        if (segs.Length == 0) throw new AttnScopeException("packed sequences need at least one length");
        long sum = 0;
        foreach (var n in segs)
        {
            if (n < 1) throw new AttnScopeException($"a packed sequence of {n} tokens");
            if (n > Spec.MaxPositions) throw new AttnScopeException($"a packed sequence has {n} tokens; the model takes at most {Spec.MaxPositions}");
            sum += n;
        }
        if (sum != m) throw new AttnScopeException($"packed sequence lengths add up to {sum}, but there are {m} tokens");
        if (input.Cache is not null || input.Hooks is not null || input.CaptureQkv)
            throw new AttnScopeException("packed sequences run without a cache, hooks or Q/K/V capture");
        if (Spec.CrossAttention)
        {
            var ms = input.MemorySegments ?? throw new AttnScopeException("packed sequences of a cross-attending stack need the lengths of their encoder outputs");
            if (ms.Length != segs.Length) throw new AttnScopeException($"{segs.Length} packed sequences but {ms.Length} encoder outputs");
            long total = 0;
            foreach (var n in ms)
            {
                if (n < 1) throw new AttnScopeException($"an encoder output of {n} rows");
                total += n;
            }
            if (input.Memory is not null && total != input.Memory.Shape[0])
                throw new AttnScopeException($"encoder output lengths add up to {total}, but the memory has {input.Memory.Shape[0]} rows");
        }
    }

    private CoreWorkspace Rent(int m)
    {
        var ws = Interlocked.Exchange(ref _spare, null);
        if (ws is not null && ws.Capacity >= m) return ws;
        int cap = Math.Max(m, ws?.Capacity ?? 0);
        cap = Math.Max(m, Math.Min(Spec.MaxPositions, (cap + 63) / 64 * 64));
        return new CoreWorkspace(cap, Spec);
    }

    private void Return(CoreWorkspace ws)
    {
        var old = Interlocked.CompareExchange(ref _spare, ws, null);
        if (old is not null && old.Capacity < ws.Capacity) Interlocked.CompareExchange(ref _spare, ws, old);
    }

    /// <summary>Runs the new tokens (after the cached ones, if a cache is given) through every block.</summary>
    /// <exception cref="AttnScopeException">Empty input, too many positions, an id out of range, or a bad hook name.</exception>
    public ForwardResult Forward(ForwardInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int offset = input.Cache?.Length ?? (input.Caches is { Length: > 0 } cs ? cs[0].Length : 0);
        Validate(input, offset);
        var ws = Rent(input.Ids.Length);
        try { return Forward(input, offset, ws); }
        finally { Return(ws); }
    }

    private ForwardResult Forward(ForwardInput input, int offset, CoreWorkspace ws)
    {
        var s = Spec;
        int m = input.Ids.Length, T = offset + m, d = s.Hidden, heads = s.Heads, dh = s.HeadDim, layers = s.Layers;
        int qw = s.QueryWidth, kvw = s.KvWidth, qkvw = s.QkvWidth;
        var hooks = input.Hooks;
        var cache = input.Cache;
        var segs = new SegmentLayout(input.Segments ?? [m], s.CrossAttention ? input.MemorySegments : null, heads);
        bool packed = input.Segments is not null;
        CoreTape? tape = null;
        if (input.Record)
        {
            if (cache is not null) throw new AttnScopeException("a recorded pass (for a backward pass) runs without a cache");
            tape = new CoreTape { M = m, Ids = input.Ids, TypeIds = input.TypeIds, Layers = new LayerTape[layers], Segments = segs };
        }
        // a recorded pass may overwrite the arrays of an earlier tape of this model (fewer allocations in training)
        var reuse = tape is not null && input.Reuse is { } r && r.Layers.Length == layers && !ReferenceEquals(r, tape) ? r : null;
        bool wantPattern = hooks is not null && Enumerable.Range(0, layers).Any(l => hooks.Wants(HookPoints.Pattern(l)) || hooks.Wants(HookPoints.AttnScores(l)));
        bool keepAttention = packed ? input.Record : !input.SkipAttention || wantPattern || input.Record;

        // An ordinary (large-object) array, pinned only for this pass: fresh pinned-heap arrays of this size are
        // several times slower to write the first time. Packed sequences keep one [heads, n, n] block per sequence.
        FloatTensor? attention = !keepAttention ? null
            : packed ? Block(reuse?.Attention, layers * segs.SelfPerLayer)
            : new FloatTensor([layers, heads, m, T], GC.AllocateUninitializedArray<float>(checked(layers * heads * m * T)));
        var dropout = new DropoutMasks(input.Dropout, input.DropoutSeed);
        FloatTensor? q = null, k = null, v = null, scores = null;
        if (input.CaptureQkv || wantPattern)
        {
            scores = new FloatTensor([layers, heads, m, T]);
            if (input.CaptureQkv)
            {
                q = new FloatTensor([layers, heads, m, dh]);
                k = new FloatTensor([layers, heads, T, dh]);
                v = new FloatTensor([layers, heads, T, dh]);
            }
        }

        int memoryLength = 0;
        float[][]? memoryKv = null;
        FloatTensor? crossAttention = null;
        if (s.CrossAttention)
        {
            var memory = input.Memory ?? throw new AttnScopeException($"{s.Family}'s decoder needs the encoder's output (cross-attention)");
            if (memory.Rank != 2 || memory.Shape[1] != d || memory.Shape[0] < 1)
                throw new AttnScopeException($"the encoder output has shape {memory.ShapeText}; the decoder expects [source tokens, {d}]");
            memoryLength = memory.Shape[0];
            var holder = cache ?? input.Caches?[0];
            if (holder is not null && ReferenceEquals(holder.MemoryOf, memory) && holder.MemoryKv is not null) memoryKv = holder.MemoryKv;
            else
            {
                // the encoder output's keys and values: projected once per source (a cache keeps them for every step)
                memoryKv = new float[layers][];
                for (int l = 0; l < layers; l++)
                {
                    memoryKv[l] = GC.AllocateArray<float>(memoryLength * 2 * kvw, pinned: true);
                    Gemm.Multiply(memory.Data, memoryLength, Weights.Layers[l].CrossKv!, memoryKv[l]);
                }
                if (cache is not null) { cache.MemoryOf = memory; cache.MemoryKv = memoryKv; }
                foreach (var c in input.Caches ?? []) { c.MemoryOf = memory; c.MemoryKv = memoryKv; }
            }
            if (!packed) segs = new SegmentLayout([m], [memoryLength], heads);
            crossAttention = !packed ? new FloatTensor([layers, heads, m, memoryLength])
                : input.Record ? Block(reuse?.CrossAttention, layers * segs.CrossPerLayer) : null;
            if (tape is not null) { tape.Memory = memory.Data; tape.MemoryKv = memoryKv; tape.Segments = segs; }
        }
        var batch = input.Caches;
        int[]? positions = packed ? segs.Positions() : batch is not null ? Enumerable.Repeat(offset, m).ToArray() : null;
        if (tape is not null) tape.Positions = positions ?? Enumerable.Range(0, m).ToArray();
        Embed(input, offset, ws, tape, positions, dropout);
        (float[] Cos, float[] Sin)? rotary = _rope is null ? null : RotaryAngles(m, offset, positions);
        float* x = Gemm.Ptr(ws.X), a = Gemm.Ptr(ws.A), qkv = Gemm.Ptr(ws.Qkv), ctx = Gemm.Ptr(ws.Context);
        float* mid = Gemm.Ptr(ws.Mid), tmp = Gemm.Ptr(ws.Tmp);
        bool pre = s.Placement == NormPlacement.Pre;
        var job = new HeadJob
        {
            M = m, T = T, Offset = offset, Heads = heads, KvHeads = s.KvHeads, HeadDim = dh, QueryWidth = qw,
            QkvLd = qkvw, Scale = s.ScoreScale, Causal = s.Causal, Window = s.SlidingWindow ?? 0, Slopes = _alibi,
            OffsetBias = RelativeOffsets(T), OffsetSpan = T, Qkv = (nint)qkv, Context = (nint)ctx, Q = q, K = k, V = v, Scores = scores, Sink = input.AttentionSink,
        };
        bool parallelHeads = Gemm.Threads > 1 && (long)heads * m * T * dh >= ParallelWork;
        fixed (float* att = attention is null ? null : attention.Data)
        {
            for (int l = 0; l < layers; l++)
            {
                var w = Weights.Layers[l];
                var lt = tape is null ? null : tape.Layers[l] = new LayerTape();
                var old = reuse?.Layers[l];
                long t0 = EngineProfile.Now();
                Fire(hooks, HookPoints.ResidPre(l), l, ws.X, m, d, offset);
                if (lt is not null) lt.XIn = Keep(old?.XIn, ws.X.AsSpan(0, m * d));
                float* input1 = x;
                if (pre)
                {
                    ws.X.AsSpan(0, m * d).CopyTo(ws.A);
                    NormRows(ws.A, m, w.Norm1Gain, w.Norm1Bias);
                    Fire(hooks, HookPoints.Ln1Normalized(l), l, ws.A, m, d, offset);
                    input1 = a;
                }
                if (lt is not null) lt.A1 = pre ? Keep(old?.A1, ws.A.AsSpan(0, m * d)) : lt.XIn;
                Gemm.Multiply(input1, d, m, w.Qkv, qkv, qkvw, accumulate: false);
                t0 = EngineProfile.Add(EngineProfile.Part.Qkv, t0);
                if (hooks is not null) FireQkv(hooks, l, ws.Qkv, m, offset, rotated: false);
                if (_rope is not null)
                {
                    ApplyRotary(ws.Qkv, m, rotary!.Value);
                    if (hooks is not null) FireQkv(hooks, l, ws.Qkv, m, offset, rotated: true);
                }
                if (lt is not null) lt.Qkv = Keep(old?.Qkv, ws.Qkv.AsSpan(0, m * qkvw));
                if (cache is not null)
                {
                    var ck = cache.Keys[l];
                    var cv = cache.Values[l];
                    for (int i = 0; i < m; i++)
                    {
                        ws.Qkv.AsSpan(i * qkvw + qw, kvw).CopyTo(ck.AsSpan((offset + i) * kvw, kvw));
                        ws.Qkv.AsSpan(i * qkvw + qw + kvw, kvw).CopyTo(cv.AsSpan((offset + i) * kvw, kvw));
                        cache.Pack(l, offset + i, ws.Qkv.AsSpan(i * qkvw + qw, kvw), ws.Qkv.AsSpan(i * qkvw + qw + kvw, kvw), dh);
                    }
                }
                if (batch is not null) RunBatchedHeads(job, batch, l, offset);
                else if (packed)
                    RunPackedHeads(job, segs, l, att == null ? 0 : (nint)(att + l * segs.SelfPerLayer));
                else fixed (float* ck = cache?.Keys[l], cv = cache?.Values[l])
                {
                    job.Layer = l;
                    job.Attention = att == null ? 0 : (nint)(att + (long)l * heads * m * T);
                    if (cache is null) { job.KeyBase = (nint)(qkv + qw); job.ValueBase = (nint)(qkv + qw + kvw); job.KvLd = qkvw; }
                    else { job.KeyBase = (nint)ck; job.ValueBase = (nint)cv; job.KvLd = kvw; }
                    job.PackedKeys = cache?.PackedKeys[l];
                    job.PackedValues = cache?.PackedValues[l];
                    job.PackedCapacity = cache?.Capacity ?? 0;
                    if (parallelHeads) WorkerPool.For(heads, job.Run, Gemm.Threads);
                    else for (int h = 0; h < heads; h++) job.Run(h);
                }
                t0 = EngineProfile.Add(EngineProfile.Part.Attention, t0);
                if (hooks is not null && attention is not null)
                {
                    var shape = new[] { heads, m, T };
                    int len = heads * m * T;
                    if (hooks.Wants(HookPoints.AttnScores(l))) hooks.Fire(HookPoints.AttnScores(l), l, scores!.Data.AsSpan(l * len, len), shape, offset);
                    if (hooks.Wants(HookPoints.Pattern(l))) hooks.Fire(HookPoints.Pattern(l), l, attention.Data.AsSpan(l * len, len), shape, offset);
                    if (hooks.Edits(HookPoints.Pattern(l))) Recontext(attention.Data.AsSpan(l * len, len), ws, cache?.Keys is null ? null : cache.Values[l], m, T);
                }
                if (hooks is not null && hooks.Wants(HookPoints.Z(l))) hooks.Fire(HookPoints.Z(l), l, ws.Context.AsSpan(0, m * qw), [m, heads, dh], offset);

                if (lt is not null) lt.Ctx = Keep(old?.Ctx, ws.Context.AsSpan(0, m * qw));
                var attnMask = dropout.Next(m * d, old?.AttnMask);
                if (lt is not null) lt.AttnMask = attnMask;
                AddSublayer(hooks, HookPoints.AttnOut(l), l, ctx, qw, m, w.Output, ws, offset, attnMask);
                if (lt is not null && !pre) lt.AttnSum = Keep(old?.AttnSum, ws.X.AsSpan(0, m * d));
                t0 = EngineProfile.Add(EngineProfile.Part.AttentionOutput, t0);
                if (!pre) NormRows(ws.X, m, w.Norm1Gain, w.Norm1Bias);
                t0 = EngineProfile.Add(EngineProfile.Part.LayerNorm, t0);
                if (s.CrossAttention) CrossAttend(l, w, memoryKv!, segs, ws, crossAttention, m, lt, dropout, hooks, offset, old);
                Fire(hooks, HookPoints.ResidMid(l), l, ws.X, m, d, offset);
                if (lt is not null) lt.XMid = Keep(old?.XMid, ws.X.AsSpan(0, m * d));

                if (s.Mlp)
                {
                    float* input2 = x;
                    if (pre)
                    {
                        ws.X.AsSpan(0, m * d).CopyTo(ws.A);
                        NormRows(ws.A, m, w.Norm2Gain!, w.Norm2Bias);
                        Fire(hooks, HookPoints.Ln2Normalized(l), l, ws.A, m, d, offset);
                        input2 = a;
                    }
                    if (lt is not null) lt.A2 = pre ? Keep(old?.A2, ws.A.AsSpan(0, m * d)) : lt.XMid;
                    int mw = s.MlpWidth;
                    Gemm.Multiply(input2, d, m, w.Up!, mid, mw, accumulate: false);
                    t0 = EngineProfile.Add(EngineProfile.Part.Intermediate, t0);
                    if (hooks is not null) FireMlp(hooks, l, ws.Mid, m, offset, post: false);
                    if (lt is not null) lt.MidPre = Keep(old?.MidPre, ws.Mid.AsSpan(0, m * mw));
                    Activate(ws.Mid, m);
                    if (hooks is not null) FireMlp(hooks, l, ws.Mid, m, offset, post: true);
                    t0 = EngineProfile.Add(EngineProfile.Part.Activation, t0);
                    if (lt is not null) lt.MidPost = mw == s.Intermediate ? Keep(old?.MidPost, ws.Mid.AsSpan(0, m * mw)) : GatherRows(ws.Mid, m, mw, s.Intermediate);
                    var mlpMask = dropout.Next(m * d, old?.MlpMask);
                    if (lt is not null) lt.MlpMask = mlpMask;
                    AddSublayer(hooks, HookPoints.MlpOut(l), l, mid, mw, m, w.Down!, ws, offset, mlpMask);
                    if (lt is not null && !pre) lt.MlpSum = Keep(old?.MlpSum, ws.X.AsSpan(0, m * d));
                    t0 = EngineProfile.Add(EngineProfile.Part.Output, t0);
                    if (!pre) NormRows(ws.X, m, w.Norm2Gain!, w.Norm2Bias);
                    EngineProfile.Add(EngineProfile.Part.LayerNorm, t0);
                }
                Fire(hooks, HookPoints.ResidPost(l), l, ws.X, m, d, offset);
            }
        }
        if (cache is not null) cache.Length = T;
        foreach (var c in batch ?? []) c.Length = offset + 1;

        var hidden = new FloatTensor([m, d]);
        ws.X.AsSpan(0, m * d).CopyTo(hidden.Data);
        if (tape is not null) tape.FinalIn = hidden.Data.ToArray();
        if (s.FinalNorm)
        {
            NormRows(hidden.Data, m, Weights.FinalNormGain!, Weights.FinalNormBias);
            if (hooks is not null && hooks.Wants(HookPoints.FinalNormalized)) hooks.Fire(HookPoints.FinalNormalized, layers, hidden.Data, [m, d], offset);
        }
        if (tape is not null) { tape.Hidden = hidden.Data; tape.Attention = attention!.Data; tape.CrossAttention = crossAttention?.Data; }
        FloatTensor? logits = null;
        if (input.Logits != LogitRows.None)
        {
            var head = Weights.Unembedding ?? throw new AttnScopeException($"{s.Family} has no language-model head: it gives no logits");
            int first = input.Logits == LogitRows.All ? 0 : m - 1, rows = m - first;
            logits = new FloatTensor([rows, s.Vocab]);
            fixed (float* hp = hidden.Data, lp = logits.Data)
                Gemm.Multiply(hp + (long)first * d, d, rows, head, lp, s.Vocab, accumulate: false);
        }
        return new ForwardResult
        {
            Hidden = hidden, Attention = input.SkipAttention || packed ? null : attention, Query = q, Key = k, Value = v,
            Scores = input.CaptureQkv ? scores : null, Logits = logits, PositionOffset = offset, Tape = tape, CrossAttention = packed ? null : crossAttention,
        };
    }

    /// <summary>
    /// After an edit of the probabilities: each head's context again as P·V (a plain loop; edits are for analyses,
    /// not the fast path).
    /// </summary>
    private void Recontext(ReadOnlySpan<float> p, CoreWorkspace ws, float[]? cachedValues, int m, int T)
    {
        var s = Spec;
        int dh = s.HeadDim, qw = s.QueryWidth, group = s.Heads / s.KvHeads;
        ReadOnlySpan<float> values = cachedValues ?? ws.Qkv;
        int ld = cachedValues is null ? s.QkvWidth : s.KvWidth, v0 = cachedValues is null ? s.QueryWidth + s.KvWidth : 0;
        for (int h = 0; h < s.Heads; h++)
            for (int i = 0; i < m; i++)
            {
                var c = ws.Context.AsSpan(i * qw + h * dh, dh);
                c.Clear();
                var row = p.Slice((h * m + i) * T, T);
                for (int j = 0; j < T; j++)
                    if (row[j] != 0f) System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(values.Slice(j * ld + v0 + (h / group) * dh, dh), row[j], c, c);
            }
    }

    /// <summary>
    /// The cross-attention sub-layer of block l: queries from the decoder state, keys and values from the encoder's
    /// output (projected once per source into <paramref name="memoryKv"/> [source, K | V]); no mask; packed
    /// sequence i reads memory segment i. Residual (with dropout in training), and the norm before (pre-norm) or
    /// after (post-norm).
    /// </summary>
    private void CrossAttend(int l, PackedLayer w, float[][] memoryKv, SegmentLayout segs, CoreWorkspace ws, FloatTensor? crossAttention, int m,
        LayerTape? lt, DropoutMasks dropout, HookSet? hooks, int offset, LayerTape? old)
    {
        var s = Spec;
        int d = s.Hidden, qw = s.QueryWidth, kvw = s.KvWidth, heads = s.Heads;
        bool pre = s.Placement == NormPlacement.Pre;
        if (lt is not null) lt.CrossIn = Keep(old?.CrossIn, ws.X.AsSpan(0, m * d));
        float[] input = ws.X;
        if (pre)
        {
            ws.X.AsSpan(0, m * d).CopyTo(ws.A);
            NormRows(ws.A, m, w.CrossNormGain!, w.CrossNormBias);
            input = ws.A;
        }
        if (lt is not null) lt.CrossA = pre ? Keep(old?.CrossA, ws.A.AsSpan(0, m * d)) : lt.CrossIn;
        var q = GC.AllocateArray<float>(m * qw, pinned: true);
        Gemm.Multiply(input, m, w.CrossQuery!, q);
        if (lt is not null) lt.CrossQ = q;
        float* ctx = Gemm.Ptr(ws.Context);
        fixed (float* pq = q, pkv = memoryKv[l], att = crossAttention is null ? null : crossAttention.Data)
        {
            var jobs = new HeadJob[segs.Count];
            long work = 0;
            for (int i = 0; i < segs.Count; i++)
            {
                int r0 = segs.Start[i], n = segs.MemLen![i];
                jobs[i] = new HeadJob
                {
                    M = segs.Len[i], T = n, Offset = 0, Heads = heads, KvHeads = s.KvHeads, HeadDim = s.HeadDim, QueryWidth = qw,
                    QkvLd = qw, KvLd = 2 * kvw, Scale = s.ScoreScale, Causal = false, Window = 0, Slopes = null,
                    Qkv = (nint)(pq + (long)r0 * qw), KeyBase = (nint)(pkv + (long)segs.MemStart![i] * 2 * kvw), ValueBase = (nint)(pkv + (long)segs.MemStart[i] * 2 * kvw + kvw),
                    Context = (nint)(ctx + (long)r0 * qw),
                    Attention = att == null ? 0 : (nint)(att + l * segs.CrossPerLayer + segs.CrossOff![i]), Layer = l,
                };
                work += (long)heads * segs.Len[i] * n * s.HeadDim;
            }
            if (Gemm.Threads > 1 && work >= ParallelWork) WorkerPool.For(segs.Count * heads, k => jobs[k / heads].Run(k % heads), Gemm.Threads);
            else for (int k = 0; k < segs.Count * heads; k++) jobs[k / heads].Run(k % heads);
        }
        string hook = HookPoints.CrossPattern(l);
        if (hooks is not null && hooks.Wants(hook) && crossAttention is not null)
        {
            // one sequence (hooks do not run on packed passes): this layer's [heads, m, source]
            int source = segs.MemLen![0], len = heads * m * source;
            var p = crossAttention.Data.AsSpan(l * len, len);
            hooks.Fire(hook, l, p, [heads, m, source], offset);
            if (hooks.Edits(hook))
            {
                // the edited probabilities weight the values (a plain loop; edits are for analyses)
                int dh = s.HeadDim, group = heads / s.KvHeads;
                var kv = memoryKv[l];
                for (int h = 0; h < heads; h++)
                    for (int i = 0; i < m; i++)
                    {
                        var c = ws.Context.AsSpan(i * qw + h * dh, dh);
                        c.Clear();
                        var row = p.Slice((h * m + i) * source, source);
                        for (int j = 0; j < source; j++)
                            if (row[j] != 0f) System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(kv.AsSpan(j * 2 * kvw + kvw + (h / group) * dh, dh), row[j], c, c);
                    }
            }
        }
        if (lt is not null) lt.CrossCtx = Keep(old?.CrossCtx, ws.Context.AsSpan(0, m * qw));
        var mask = dropout.Next(m * d, old?.CrossMask);
        if (lt is not null) lt.CrossMask = mask;
        AddSublayer(null, "", l, ctx, qw, m, w.CrossOutput!, ws, 0, mask);
        if (lt is not null && !pre) lt.CrossSum = Keep(old?.CrossSum, ws.X.AsSpan(0, m * d));
        if (!pre) NormRows(ws.X, m, w.CrossNormGain!, w.CrossNormBias);
    }

    /// <summary>Self-attention of packed sequences: every (sequence, head) pair a job over that sequence's rows only.</summary>
    private void RunPackedHeads(HeadJob t, SegmentLayout segs, int l, nint attentionBase)
    {
        int heads = t.Heads, count = segs.Count;
        var jobs = new HeadJob[count];
        long work = 0;
        for (int i = 0; i < count; i++)
        {
            int r0 = segs.Start[i], n = segs.Len[i];
            float* qkv = (float*)t.Qkv + (long)r0 * t.QkvLd;
            jobs[i] = new HeadJob
            {
                M = n, T = n, Offset = 0, Heads = heads, KvHeads = t.KvHeads, HeadDim = t.HeadDim, QueryWidth = t.QueryWidth,
                QkvLd = t.QkvLd, KvLd = t.QkvLd, Scale = t.Scale, Causal = t.Causal, Window = t.Window, Slopes = t.Slopes,
                OffsetBias = t.OffsetBias, OffsetSpan = t.OffsetSpan,
                Qkv = (nint)qkv, KeyBase = (nint)(qkv + t.QueryWidth), ValueBase = (nint)(qkv + t.QueryWidth + Spec.KvWidth),
                Context = (nint)((float*)t.Context + (long)r0 * t.QueryWidth),
                Attention = attentionBase == 0 ? 0 : (nint)((float*)attentionBase + segs.SelfOff[i]), Layer = l,
            };
            work += (long)heads * n * n * t.HeadDim;
        }
        if (Gemm.Threads > 1 && work >= ParallelWork) WorkerPool.For(count * heads, k => jobs[k / heads].Run(k % heads), Gemm.Threads);
        else for (int k = 0; k < count * heads; k++) jobs[k / heads].Run(k % heads);
    }

    /// <summary>
    /// Self-attention of a batched step: row i's key and value go to cache i at <paramref name="offset"/>, then row i
    /// attends to cache i's offset + 1 positions; every (row, head) pair is a job.
    /// </summary>
    private void RunBatchedHeads(HeadJob t, KvCache[] caches, int l, int offset)
    {
        var s = Spec;
        int heads = t.Heads, count = caches.Length, qw = s.QueryWidth, kvw = s.KvWidth, w = s.QkvWidth;
        var jobs = new HeadJob[count];
        for (int i = 0; i < count; i++)
        {
            var c = caches[i];
            float* row = (float*)t.Qkv + (long)i * w;
            var key = new ReadOnlySpan<float>(row + qw, kvw);
            var value = new ReadOnlySpan<float>(row + qw + kvw, kvw);
            key.CopyTo(c.Keys[l].AsSpan(offset * kvw, kvw));
            value.CopyTo(c.Values[l].AsSpan(offset * kvw, kvw));
            c.Pack(l, offset, key, value, s.HeadDim);
            jobs[i] = new HeadJob
            {
                M = 1, T = offset + 1, Offset = offset, Heads = heads, KvHeads = t.KvHeads, HeadDim = t.HeadDim, QueryWidth = qw,
                QkvLd = w, KvLd = kvw, Scale = t.Scale, Causal = t.Causal, Window = t.Window, Slopes = t.Slopes,
                OffsetBias = t.OffsetBias, OffsetSpan = t.OffsetSpan,
                Qkv = (nint)row, KeyBase = (nint)Gemm.Ptr(c.Keys[l]), ValueBase = (nint)Gemm.Ptr(c.Values[l]),
                Context = (nint)((float*)t.Context + (long)i * qw), Layer = l,
                PackedKeys = c.PackedKeys[l], PackedValues = c.PackedValues[l], PackedCapacity = c.Capacity,
            };
        }
        long work = (long)count * heads * (offset + 1) * t.HeadDim;
        if (Gemm.Threads > 1 && work >= ParallelWork) WorkerPool.For(count * heads, k => jobs[k / heads].Run(k % heads), Gemm.Threads);
        else for (int k = 0; k < count * heads; k++) jobs[k / heads].Run(k % heads);
    }

    /// <summary>x += f·W (+ bias) for a sub-layer's output; through <see cref="CoreWorkspace.Tmp"/> when a hook wants it.</summary>
    private static void AddSublayer(HookSet? hooks, string name, int layer, float* f, int ld, int m, PackedMatrix w, CoreWorkspace ws, int offset, float[]? dropoutMask = null)
    {
        int d = w.N;
        float* x = Gemm.Ptr(ws.X);
        bool hooked = hooks is not null && hooks.Wants(name);
        if (!hooked && dropoutMask is null)
        {
            Gemm.Multiply(f, ld, m, w, x, d, accumulate: true);
            return;
        }
        Gemm.Multiply(f, ld, m, w, Gemm.Ptr(ws.Tmp), d, accumulate: false);
        if (dropoutMask is not null) System.Numerics.Tensors.TensorPrimitives.Multiply(ws.Tmp.AsSpan(0, m * d), dropoutMask.AsSpan(0, m * d), ws.Tmp.AsSpan(0, m * d));
        if (hooked) hooks!.Fire(name, layer, ws.Tmp.AsSpan(0, m * d), [m, d], offset);
        System.Numerics.Tensors.TensorPrimitives.Add(ws.X.AsSpan(0, m * d), ws.Tmp.AsSpan(0, m * d), ws.X.AsSpan(0, m * d));
    }

    private static void Fire(HookSet? hooks, string name, int layer, float[] buffer, int m, int width, int offset)
    {
        if (hooks is null || !hooks.Wants(name)) return;
        hooks.Fire(name, layer, buffer.AsSpan(0, m * width), [m, width], offset);
    }

    /// <summary>hook_q/k/v (or hook_rot_q/k) as [m, heads, d_head] gathered from the fused rows; edits are not allowed there.</summary>
    private void FireQkv(HookSet hooks, int l, float[] qkv, int m, int offset, bool rotated)
    {
        var s = Spec;
        int qw = s.QueryWidth, kvw = s.KvWidth, w = s.QkvWidth;
        void One(string name, int start, int width, int nh)
        {
            if (!hooks.Wants(name)) return;
            var data = new float[m * width];
            for (int i = 0; i < m; i++) qkv.AsSpan(i * w + start, width).CopyTo(data.AsSpan(i * width, width));
            hooks.Fire(name, l, data, [m, nh, s.HeadDim], offset);
        }
        if (rotated)
        {
            One(HookPoints.RotQ(l), 0, qw, s.Heads);
            One(HookPoints.RotK(l), qw, kvw, s.KvHeads);
            return;
        }
        One(HookPoints.Q(l), 0, qw, s.Heads);
        One(HookPoints.K(l), qw, kvw, s.KvHeads);
        One(HookPoints.V(l), qw + kvw, kvw, s.KvHeads);
    }

    /// <summary>mlp.hook_pre / hook_post [m, intermediate]; for a gated MLP the gate half of each row.</summary>
    private void FireMlp(HookSet hooks, int l, float[] mid, int m, int offset, bool post)
    {
        string name = post ? HookPoints.MlpPost(l) : HookPoints.MlpPre(l);
        if (!hooks.Wants(name)) return;
        int inter = Spec.Intermediate, w = Spec.MlpWidth;
        if (w == inter)
        {
            hooks.Fire(name, l, mid.AsSpan(0, m * inter), [m, inter], offset);
            return;
        }
        var data = new float[m * inter];
        for (int i = 0; i < m; i++) mid.AsSpan(i * w, inter).CopyTo(data.AsSpan(i * inter, inter));
        hooks.Fire(name, l, data, [m, inter], offset);
        if (post && hooks.Edits(name))
            for (int i = 0; i < m; i++) data.AsSpan(i * inter, inter).CopyTo(mid.AsSpan(i * w, inter));
    }

    /// <summary>The first <paramref name="width"/> columns of each of m rows of stride <paramref name="stride"/>.</summary>
    private static float[] GatherRows(float[] buf, int m, int stride, int width)
    {
        var r = new float[m * width];
        for (int i = 0; i < m; i++) buf.AsSpan(i * stride, width).CopyTo(r.AsSpan(i * width, width));
        return r;
    }

    private void Embed(ForwardInput input, int offset, CoreWorkspace ws, CoreTape? tape, int[]? positions, DropoutMasks dropout)
    {
        var s = Spec;
        var wt = Weights;
        int d = s.Hidden, m = input.Ids.Length;
        var hooks = input.Hooks;
        if (input.InputEmbeddings is null && s.TypeVocab > 0 && s.Positions == PositionKind.Learned && s.EmbeddingScale == 1f && (hooks is null || !hooks.Wants(HookPoints.Embed) && !hooks.Wants(HookPoints.PosEmbed)))
        {
            // BERT: word + position + type in one pass (the order the reference sums them in).
            var wte = wt.TokenEmbeddings.AsSpan();
            var wpe = wt.PositionEmbeddings.AsSpan();
            var wtt = wt.TypeEmbeddings.AsSpan();
            for (int i = 0; i < m; i++)
            {
                int type = input.TypeIds?[i] ?? 0;
                RowOps.Add3(wte.Slice(input.Ids[i] * d, d), wpe.Slice((positions?[i] ?? offset + i) * d, d), wtt.Slice(type * d, d), ws.X.AsSpan(i * d, d));
            }
        }
        else
        {
            for (int i = 0; i < m; i++)
            {
                var row = ws.X.AsSpan(i * d, d);
                if (input.InputEmbeddings is { } given) given.AsSpan(i * d, d).CopyTo(row);
                else wt.TokenEmbeddings.AsSpan(input.Ids[i] * d, d).CopyTo(row);
                if (s.EmbeddingScale != 1f) System.Numerics.Tensors.TensorPrimitives.Multiply(row, s.EmbeddingScale, row);
            }
            Fire(hooks, HookPoints.Embed, 0, ws.X, m, d, offset);
            if (s.Positions is PositionKind.Learned or PositionKind.Sinusoidal)
            {
                var pos = ws.Tmp.AsSpan(0, m * d);
                for (int i = 0; i < m; i++)
                {
                    int p = positions?[i] ?? offset + i;
                    if (s.Positions == PositionKind.Learned) wt.PositionEmbeddings.AsSpan(p * d, d).CopyTo(pos.Slice(i * d, d));
                    else SinusoidRow(p, pos.Slice(i * d, d));
                }
                if (hooks is not null && hooks.Wants(HookPoints.PosEmbed)) hooks.Fire(HookPoints.PosEmbed, 0, pos, [m, d], offset);
                System.Numerics.Tensors.TensorPrimitives.Add(ws.X.AsSpan(0, m * d), pos, ws.X.AsSpan(0, m * d));
            }
            if (wt.TypeEmbeddings is { } types)
                for (int i = 0; i < m; i++)
                {
                    var row = ws.X.AsSpan(i * d, d);
                    System.Numerics.Tensors.TensorPrimitives.Add(row, types.AsSpan((input.TypeIds?[i] ?? 0) * d, d), row);
                }
        }
        if (dropout.Next(m * d, tape is null ? null : input.Reuse?.EmbedMask) is { } mask)
        {
            System.Numerics.Tensors.TensorPrimitives.Multiply(ws.X.AsSpan(0, m * d), mask.AsSpan(0, m * d), ws.X.AsSpan(0, m * d));
            if (tape is not null) tape.EmbedMask = mask;
        }
        if (tape is not null) tape.EmbedSum = Keep(input.Reuse?.EmbedSum, ws.X.AsSpan(0, m * d));
        if (s.EmbeddingNorm)
            for (int i = 0; i < m; i++) NormRow(ws.X.AsSpan(i * d, d), wt.EmbeddingNormGain!, wt.EmbeddingNormBias);
    }

    private float[]? _sinusoidTable;
    private const int SinusoidTableRows = 4096;

    /// <summary>Position p's sinusoid row, from a table built on first use (positions past it computed directly).</summary>
    private void SinusoidRow(int p, Span<float> row)
    {
        int d = Spec.Hidden, rows = Math.Min(Spec.MaxPositions, SinusoidTableRows);
        if (p >= rows) { Sinusoid(p, row, Spec.Sinusoids); return; }
        var table = _sinusoidTable;
        if (table is null)
        {
            table = new float[rows * d];
            for (int i = 0; i < rows; i++) Sinusoid(i, table.AsSpan(i * d, d), Spec.Sinusoids);
            _sinusoidTable = table;
        }
        table.AsSpan(p * d, d).CopyTo(row);
    }

    /// <summary>The fixed sinusoids of "Attention is all you need": sin at even, cos at odd dimensions.</summary>
    private static void Sinusoid(int position, Span<float> row, SinusoidLayout layout)
    {
        int d = row.Length, half = (d + 1) / 2;
        for (int i = 0; 2 * i < d; i++)
        {
            double angle = position / Math.Pow(10000, 2.0 * i / d);
            if (layout == SinusoidLayout.Halves)
            {
                row[i] = (float)Math.Sin(angle);
                if (half + i < d) row[half + i] = (float)Math.Cos(angle);
                continue;
            }
            row[2 * i] = (float)Math.Sin(angle);
            if (2 * i + 1 < d) row[2 * i + 1] = (float)Math.Cos(angle);
        }
    }

    /// <summary>cos and sin [m, rotary/2] of positions offset … offset + m − 1, computed once per pass for every layer.</summary>
    private (float[] Cos, float[] Sin) RotaryAngles(int m, int offset, int[]? positions = null)
    {
        int half = _rope!.RotaryDim / 2;
        var cos = new float[m * half];
        var sin = new float[m * half];
        for (int i = 0; i < m; i++) _rope.Angles(positions?[i] ?? offset + i, cos.AsSpan(i * half, half), sin.AsSpan(i * half, half));
        return (cos, sin);
    }

    private void ApplyRotary(float[] qkv, int m, (float[] Cos, float[] Sin) angles)
    {
        var s = Spec;
        int half = _rope!.RotaryDim / 2, dh = s.HeadDim, w = s.QkvWidth, qw = s.QueryWidth;
        for (int i = 0; i < m; i++)
        {
            var cos = angles.Cos.AsSpan(i * half, half);
            var sin = angles.Sin.AsSpan(i * half, half);
            var row = qkv.AsSpan(i * w, w);
            for (int h = 0; h < s.Heads; h++) RotaryTable.Rotate(row.Slice(h * dh, _rope.RotaryDim), cos, sin);
            for (int h = 0; h < s.KvHeads; h++) RotaryTable.Rotate(row.Slice(qw + h * dh, _rope.RotaryDim), cos, sin);
        }
    }

    private void NormRows(float[] buf, int n, float[] gain, float[]? bias)
    {
        int width = Spec.Hidden;
        if (Gemm.Threads <= 1 || (long)n * width < 16384)
        {
            for (int i = 0; i < n; i++) NormRow(buf.AsSpan(i * width, width), gain, bias);
            return;
        }
        int chunks = Math.Min(n, Gemm.Threads * 2);
        WorkerPool.For(chunks, t =>
        {
            int r0 = n * t / chunks, r1 = n * (t + 1) / chunks;
            for (int i = r0; i < r1; i++) NormRow(buf.AsSpan(i * width, width), gain, bias);
        }, Gemm.Threads);
    }

    /// <summary>The MLP's activation in place: act over [m, intermediate], or act(gate)·up into the gate half.</summary>
    private void Activate(float[] mid, int m)
    {
        var s = Spec;
        int inter = s.Intermediate;
        if (!s.GatedMlp)
        {
            long work = (long)m * inter;
            if (Gemm.Threads <= 1 || work < 8192) { CoreOps.Activate(s.Activation, mid.AsSpan(0, m * inter)); return; }
            int chunks = Math.Min(m, Gemm.Threads * 2);
            WorkerPool.For(chunks, t =>
            {
                int r0 = m * t / chunks, r1 = m * (t + 1) / chunks;
                CoreOps.Activate(s.Activation, mid.AsSpan(r0 * inter, (r1 - r0) * inter));
            }, Gemm.Threads);
            return;
        }
        void Rows(int r0, int r1)
        {
            for (int i = r0; i < r1; i++)
            {
                var gate = mid.AsSpan(i * 2 * inter, inter);
                CoreOps.Activate(s.Activation, gate);
                System.Numerics.Tensors.TensorPrimitives.Multiply(gate, mid.AsSpan(i * 2 * inter + inter, inter), gate);
            }
        }
        if (Gemm.Threads <= 1 || (long)m * inter < 8192) { Rows(0, m); return; }
        int n = Math.Min(m, Gemm.Threads * 2);
        WorkerPool.For(n, t => Rows(m * t / n, m * (t + 1) / n), Gemm.Threads);
    }
}
