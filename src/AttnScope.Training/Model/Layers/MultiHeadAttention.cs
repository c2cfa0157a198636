using System.Numerics.Tensors;
using AttnScope.Sources.Engine;

namespace AttnScope.Training.Model.Layers;

/// <summary>
/// Multi-head scaled dot-product attention with query, key, value and output projections. One class serves
/// encoder self-attention (keys masked past each sequence's length), decoder causal self-attention (key j ≤ query
/// i) and cross-attention (queries from the decoder, keys and values from the encoder memory). The (batch, head)
/// pairs run in parallel on the engine's worker pool; the softmax probabilities stay available for capture.
/// </summary>
public sealed unsafe class MultiHeadAttention
{
    public Linear Query { get; }
    public Linear Key { get; }
    public Linear Value { get; }
    public Linear Output { get; }
    public int Dim { get; }
    public int Heads { get; }
    public int HeadDim { get; }

    private float[] _q = [], _k = [], _v = [];
    private float[] _probs = [];
    private float[] _context = [];
    private float[] _dq = [], _dk = [], _dv = [];
    private float[] _dInput = [];
    private int _batch, _tq, _tk;
    private int[] _keyLengths = [];
    private bool _causal, _self;
    private readonly Action<int> _forwardHead, _backwardHead;
    private float[] _dContext = [];
    private float[] _dProbs = [];

    /// <summary>
    /// When true, <see cref="Backward"/> also keeps ∂loss/∂P for every softmax probability (zeros where masked) in
    /// <see cref="ProbabilityGradient"/>. Off in training, where the extra stores would only cost time.
    /// </summary>
    public bool RecordProbabilityGradient { get; set; }

    /// <summary>∂loss/∂P of the last backward pass with <see cref="RecordProbabilityGradient"/> set, [batch, heads, queries, keys].</summary>
    public ReadOnlySpan<float> ProbabilityGradient => RecordProbabilityGradient ? _dProbs.AsSpan(0, _batch * Heads * _tq * _tk) : [];

    /// <summary>
    /// A change to the probabilities of one (batch·heads + head) block [queries, keys] after the softmax and before
    /// they weight the values, or null (the normal case). For finite-difference checks of <see cref="ProbabilityGradient"/>.
    /// </summary>
    internal delegate void ProbabilityEditor(int index, Span<float> probabilities);
    internal ProbabilityEditor? ProbabilityEdit { get; set; }

    public MultiHeadAttention(string name, int dim, int heads)
    {
        if (dim % heads != 0) throw new ArgumentException($"width {dim} is not divisible by {heads} heads");
        Dim = dim;
        Heads = heads;
        HeadDim = dim / heads;
        Query = new Linear(name + ".q", dim, dim);
        Key = new Linear(name + ".k", dim, dim);
        Value = new Linear(name + ".v", dim, dim);
        Output = new Linear(name + ".o", dim, dim);
        _forwardHead = ForwardHead;
        _backwardHead = BackwardHead;
    }

    public IEnumerable<Parameter> Parameters() =>
        Query.Parameters().Concat(Key.Parameters()).Concat(Value.Parameters()).Concat(Output.Parameters());

    /// <summary>Softmax probabilities of the last forward pass, [batch, heads, queries, keys] (zeros where masked).</summary>
    public ReadOnlySpan<float> Probabilities => _probs.AsSpan(0, _batch * Heads * _tq * _tk);
    public int LastQueries => _tq;
    public int LastKeys => _tk;

    /// <summary>
    /// Attention of <paramref name="batch"/> sequences: queries xq [batch·tq, d] over keys/values xkv [batch·tk, d]
    /// (the same array for self-attention). Key j of sequence b is visible when j &lt; keyLengths[b] (and j ≤ i when causal).
    /// </summary>
    public float[] Forward(float[] xq, int batch, int tq, float[] xkv, int tk, int[] keyLengths, bool causal)
    {
        _batch = batch; _tq = tq; _tk = tk; _keyLengths = keyLengths; _causal = causal;
        _self = ReferenceEquals(xq, xkv);
        _q = Query.Forward(xq, batch * tq);
        _k = Key.Forward(xkv, batch * tk);
        _v = Value.Forward(xkv, batch * tk);
        Buffers.Ensure(ref _probs, (long)batch * Heads * tq * tk);
        Buffers.Ensure(ref _context, (long)batch * tq * Dim);
        WorkerPool.For(batch * Heads, _forwardHead, Gemm.Threads);
        return Output.Forward(_context, batch * tq);
    }

    private int Visible(int b, int i) => _causal ? Math.Min(i + 1, _keyLengths[b]) : _keyLengths[b];

    private void ForwardHead(int index)
    {
        int b = index / Heads, h = index % Heads;
        fixed (float* q = _q, k = _k, v = _v, p = _probs, c = _context)
            Attend(q + (long)b * _tq * Dim + h * HeadDim, k + (long)b * _tk * Dim + h * HeadDim, v + (long)b * _tk * Dim + h * HeadDim,
                Dim, HeadDim, _tq, _tk, _keyLengths[b], _causal, p + (long)index * _tq * _tk, c + (long)b * _tq * Dim + h * HeadDim);
        if (ProbabilityEdit is { } edit) EditHead(edit, index);
    }

    /// <summary>Applies <paramref name="edit"/> to one head's probabilities and recomputes its context from them.</summary>
    private void EditHead(ProbabilityEditor edit, int index)
    {
        int b = index / Heads, h = index % Heads;
        var probs = _probs.AsSpan(index * _tq * _tk, _tq * _tk);
        edit(index, probs);
        for (int i = 0; i < _tq; i++)
        {
            var ci = _context.AsSpan((b * _tq + i) * Dim + h * HeadDim, HeadDim);
            ci.Clear();
            for (int j = 0; j < _tk; j++)
                TensorPrimitives.MultiplyAdd(_v.AsSpan((b * _tk + j) * Dim + h * HeadDim, HeadDim), probs[i * _tk + j], ci, ci);
        }
    }

    /// <summary>
    /// One head: for each of <paramref name="queries"/> rows, softmax(q·kᵀ/√dh) over the visible keys into
    /// <paramref name="probs"/> [queries, keys] and the weighted sum of values into <paramref name="context"/>.
    /// q, k, v and context are head slices with row stride <paramref name="stride"/>. Key j is visible when
    /// j &lt; <paramref name="keyLength"/> and, if <paramref name="causal"/>, j ≤ i. Shared with decoding.
    /// </summary>
    public static void Attend(float* q, float* k, float* v, int stride, int dh, int queries, int keys, int keyLength, bool causal,
        float* probs, float* context)
    {
        float scale = 1f / MathF.Sqrt(dh);
        for (int i = 0; i < queries; i++)
        {
            int limit = causal ? Math.Min(i + 1, keyLength) : keyLength;
            var qi = new ReadOnlySpan<float>(q + (long)i * stride, dh);
            float* pi = probs + (long)i * keys;
            float max = float.NegativeInfinity;
            for (int j = 0; j < limit; j++)
            {
                float s = TensorPrimitives.Dot(qi, new ReadOnlySpan<float>(k + (long)j * stride, dh)) * scale;
                pi[j] = s;
                if (s > max) max = s;
            }
            float sum = 0f;
            for (int j = 0; j < limit; j++) { float e = MathF.Exp(pi[j] - max); pi[j] = e; sum += e; }
            float inv = 1f / sum;
            var ci = new Span<float>(context + (long)i * stride, dh);
            ci.Clear();
            for (int j = 0; j < limit; j++)
            {
                pi[j] *= inv;
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(v + (long)j * stride, dh), pi[j], ci, ci);
            }
            for (int j = limit; j < keys; j++) pi[j] = 0f;
        }
    }

    /// <summary>
    /// Returns the gradient for the query input; for self-attention it also includes the key and value paths.
    /// For cross-attention the key/value input gradient is added into <paramref name="dMemory"/>.
    /// </summary>
    public float[] Backward(float[] dy, float[]? dMemory = null)
    {
        _dContext = Output.Backward(dy);
        long nq = (long)_batch * _tq * Dim, nk = (long)_batch * _tk * Dim;
        Buffers.Ensure(ref _dq, nq);
        Buffers.Ensure(ref _dk, nk);
        Buffers.Ensure(ref _dv, nk);
        if (RecordProbabilityGradient)
        {
            Buffers.Ensure(ref _dProbs, (long)_batch * Heads * _tq * _tk);
            Array.Clear(_dProbs, 0, _batch * Heads * _tq * _tk);
        }
        WorkerPool.For(_batch * Heads, _backwardHead, Gemm.Threads);
        if (_self)
        {
            Buffers.Ensure(ref _dInput, nq);
            Query.Backward(_dq, _dInput, accumulate: false);
            Key.Backward(_dk, _dInput, accumulate: true);
            Value.Backward(_dv, _dInput, accumulate: true);
            return _dInput;
        }
        if (dMemory is null) throw new ArgumentNullException(nameof(dMemory), "cross-attention needs a buffer for the memory gradient");
        Key.Backward(_dk, dMemory, accumulate: true);
        Value.Backward(_dv, dMemory, accumulate: true);
        return Query.Backward(_dq);
    }

    private void BackwardHead(int index)
    {
        int b = index / Heads, h = index % Heads, dh = HeadDim, stride = Dim;
        float scale = 1f / MathF.Sqrt(dh);
        fixed (float* q0 = _q, k0 = _k, v0 = _v, p0 = _probs, dc0 = _dContext, dq0 = _dq, dk0 = _dk, dv0 = _dv, dp0 = _dProbs)
        {
            float* dpHead = RecordProbabilityGradient ? dp0 + (long)index * _tq * _tk : null;
            long qo = (long)b * _tq * Dim + h * dh, ko = (long)b * _tk * Dim + h * dh;
            float* q = q0 + qo, k = k0 + ko, v = v0 + ko, dc = dc0 + qo, dq = dq0 + qo, dk = dk0 + ko, dv = dv0 + ko;
            float* p = p0 + (long)index * _tq * _tk;
            for (int j = 0; j < _tk; j++)
            {
                new Span<float>(dk + (long)j * stride, dh).Clear();
                new Span<float>(dv + (long)j * stride, dh).Clear();
            }
            float* ds = stackalloc float[_tk];
            for (int i = 0; i < _tq; i++)
            {
                int limit = Visible(b, i);
                float* pi = p + (long)i * _tk;
                var dci = new ReadOnlySpan<float>(dc + (long)i * stride, dh);
                float dot = 0f;
                for (int j = 0; j < limit; j++)
                {
                    float dp = TensorPrimitives.Dot(dci, new ReadOnlySpan<float>(v + (long)j * stride, dh));
                    ds[j] = dp;
                    dot += pi[j] * dp;
                    if (dpHead != null) dpHead[(long)i * _tk + j] = dp;
                    var dvj = new Span<float>(dv + (long)j * stride, dh);
                    TensorPrimitives.MultiplyAdd(dci, pi[j], dvj, dvj);
                }
                var dqi = new Span<float>(dq + (long)i * stride, dh);
                dqi.Clear();
                var qi = new ReadOnlySpan<float>(q + (long)i * stride, dh);
                for (int j = 0; j < limit; j++)
                {
                    float g = pi[j] * (ds[j] - dot) * scale;
                    if (g == 0f) continue;
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(k + (long)j * stride, dh), g, dqi, dqi);
                    var dkj = new Span<float>(dk + (long)j * stride, dh);
                    TensorPrimitives.MultiplyAdd(qi, g, dkj, dkj);
                }
            }
        }
    }
}
