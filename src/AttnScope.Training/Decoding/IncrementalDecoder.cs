using System.Numerics.Tensors;
using AttnScope.Training.Model;
using AttnScope.Training.Model.Layers;

namespace AttnScope.Training.Decoding;

/// <summary>
/// Step-by-step decoding of one source sentence with a key/value cache: the encoder runs once, each decoder layer's
/// cross-attention keys and values are projected once, and each step runs only the newest token of every live
/// hypothesis through the decoder, appending its self-attention keys and values to the cache. Computes exactly
/// what the teacher-forced <see cref="Transformer.ForwardLogits"/> computes for the same prefix (inference mode).
/// </summary>
public sealed unsafe class IncrementalDecoder
{
    private readonly Transformer _model;
    private readonly int _d, _heads, _dh, _vocab, _maxSteps, _capacity;
    public int SourceLength { get; }
    /// <summary>Tokens decoded so far per hypothesis (the position of the next step).</summary>
    public int Length { get; private set; }
    public int Hypotheses { get; private set; }

    private readonly float[][] _crossK, _crossV;
    private readonly float[][] _selfK, _selfV;
    private float[] _x = [], _a = [], _q = [], _k = [], _v = [], _ctx = [], _o = [], _sum = [], _hidden = [], _logits = [];
    private float[] _probs = [];
    private float[] _reorder = [];

    /// <param name="source">Source ids (ending in EOS).</param>
    /// <param name="capacity">Most hypotheses decoded side by side (the beam size).</param>
    /// <param name="maxSteps">Most decoding steps (bounded by the model's maximum length).</param>
    public IncrementalDecoder(Transformer model, int[] source, int capacity, int maxSteps)
    {
        _model = model;
        var c = model.Config;
        _d = c.Dim; _heads = c.Heads; _dh = c.Dim / c.Heads; _vocab = c.VocabSize;
        _capacity = capacity;
        _maxSteps = Math.Min(maxSteps, c.MaxLength);
        SourceLength = source.Length;

        var batch = Batch.Of([new EncodedPair(source, [])], 2, 3);
        var random = new FastRandom(0);
        var memory = model.Encode(batch, ref random, training: false);
        int layers = model.Decoder.Length;
        _crossK = new float[layers][];
        _crossV = new float[layers][];
        _selfK = new float[layers][];
        _selfV = new float[layers][];
        for (int l = 0; l < layers; l++)
        {
            var cross = model.Decoder[l].CrossAttention;
            _crossK[l] = Buffers.Pinned((long)SourceLength * _d);
            _crossV[l] = Buffers.Pinned((long)SourceLength * _d);
            cross.Key.Apply(memory, SourceLength, _crossK[l]);
            cross.Value.Apply(memory, SourceLength, _crossV[l]);
            _selfK[l] = Buffers.Pinned((long)capacity * _maxSteps * _d);
            _selfV[l] = Buffers.Pinned((long)capacity * _maxSteps * _d);
        }
        Hypotheses = 1;
    }

    public int MaxSteps => _maxSteps;

    /// <summary>
    /// Feeds one token per hypothesis (BOS at the first step) and returns the next-token logits
    /// [tokens.Length, vocab] (a buffer reused by the next call).
    /// </summary>
    public ReadOnlySpan<float> Step(ReadOnlySpan<int> tokens)
    {
        int n = tokens.Length, t = Length, d = _d;
        if (n < 1 || n > _capacity) throw new ArgumentException($"expected 1..{_capacity} tokens, got {n}");
        if (t >= _maxSteps) throw new InvalidOperationException($"the decoder reached its maximum length {_maxSteps}");
        Hypotheses = n;
        long rows = (long)n * d;
        (_x, _a, _q, _k, _v, _ctx, _o, _sum) = (Grow(_x, rows), Grow(_a, rows), Grow(_q, rows), Grow(_k, rows), Grow(_v, rows), Grow(_ctx, rows), Grow(_o, rows), Grow(_sum, rows));
        Buffers.Ensure(ref _probs, (long)Math.Max(SourceLength, _maxSteps));

        _model.TargetEmbedding.Apply(tokens, _x);
        _model.TargetPositions.Apply(_x, n, 1, firstPosition: t);
        bool pre = _model.Config.PreNorm;
        for (int l = 0; l < _model.Decoder.Length; l++)
        {
            var layer = _model.Decoder[l];
            // causal self-attention over the cache
            var self = layer.SelfAttention;
            var a = pre ? Norm(layer.SelfBlock.Norm, _x, n) : _x;
            self.Query.Apply(a, n, _q);
            self.Key.Apply(a, n, _k);
            self.Value.Apply(a, n, _v);
            for (int b = 0; b < n; b++)
            {
                _k.AsSpan(b * d, d).CopyTo(_selfK[l].AsSpan((b * _maxSteps + t) * d, d));
                _v.AsSpan(b * d, d).CopyTo(_selfV[l].AsSpan((b * _maxSteps + t) * d, d));
            }
            fixed (float* q = _q, kc = _selfK[l], vc = _selfV[l], p = _probs, ctx = _ctx)
                for (int b = 0; b < n; b++)
                    for (int h = 0; h < _heads; h++)
                        MultiHeadAttention.Attend(q + b * d + h * _dh, kc + (long)b * _maxSteps * d + h * _dh, vc + (long)b * _maxSteps * d + h * _dh,
                            d, _dh, 1, t + 1, t + 1, false, p, ctx + b * d + h * _dh);
            // Attend writes the context with row stride d; for one query that is just the head slice.
            self.Output.Apply(_ctx, n, _o);
            Residual(layer.SelfBlock, n, pre);

            var cross = layer.CrossAttention;
            a = pre ? Norm(layer.CrossBlock.Norm, _x, n) : _x;
            cross.Query.Apply(a, n, _q);
            fixed (float* q = _q, kc = _crossK[l], vc = _crossV[l], p = _probs, ctx = _ctx)
                for (int b = 0; b < n; b++)
                    for (int h = 0; h < _heads; h++)
                        MultiHeadAttention.Attend(q + b * d + h * _dh, kc + h * _dh, vc + h * _dh,
                            d, _dh, 1, SourceLength, SourceLength, false, p, ctx + b * d + h * _dh);
            cross.Output.Apply(_ctx, n, _o);
            Residual(layer.CrossBlock, n, pre);

            a = pre ? Norm(layer.FeedForwardBlock.Norm, _x, n) : _x;
            layer.FeedForward.Apply(a, n, _o, ref _hidden);
            Residual(layer.FeedForwardBlock, n, pre);
        }
        var final = _model.DecoderNorm is { } dn ? Norm(dn, _x, n) : _x;
        Buffers.Ensure(ref _logits, (long)n * _vocab);
        _model.OutputProjection.Apply(final, n, _logits);
        Length = t + 1;
        return _logits.AsSpan(0, n * _vocab);
    }

    private static float[] Grow(float[] a, long n) => a.Length >= n ? a : Buffers.Pinned(n);

    private float[] Norm(LayerNorm norm, float[] x, int n)
    {
        norm.Apply(x, n, _a);
        return _a;
    }

    /// <summary>x ← x + o (pre-LN) or x ← LN(x + o) (post-LN), as <see cref="ResidualBlock"/> does without dropout.</summary>
    private void Residual(ResidualBlock block, int n, bool pre)
    {
        int len = n * _d;
        TensorPrimitives.Add(_x.AsSpan(0, len), _o.AsSpan(0, len), _sum.AsSpan(0, len));
        if (pre) (_x, _sum) = (_sum, _x);
        else block.Norm.Apply(_sum, n, _x);
    }

    /// <summary>Keeps hypothesis <c>from[i]</c>'s cache as hypothesis i (beam search survivors), for all steps so far.</summary>
    public void Reorder(ReadOnlySpan<int> from)
    {
        int steps = Length, d = _d;
        long block = (long)steps * d;
        Buffers.Ensure(ref _reorder, from.Length * block);
        foreach (var cache in _selfK.Concat(_selfV))
        {
            for (int i = 0; i < from.Length; i++)
                cache.AsSpan((int)(from[i] * _maxSteps * (long)d), (int)block).CopyTo(_reorder.AsSpan((int)(i * block), (int)block));
            for (int i = 0; i < from.Length; i++)
                _reorder.AsSpan((int)(i * block), (int)block).CopyTo(cache.AsSpan((int)(i * _maxSteps * (long)d), (int)block));
        }
        Hypotheses = from.Length;
    }
}
