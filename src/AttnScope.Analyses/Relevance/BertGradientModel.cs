using System.Numerics.Tensors;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Sources.Engine;
using AttnScope.Sources.Models;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Analyses.Relevance;

/// <summary>Changes one head's probabilities [queries, keys] after the softmax, before they weight the values.</summary>
internal delegate void AttentionEdit(int layer, int head, Span<double> probabilities);

/// <summary>
/// A BERT-family encoder (post-LN, as the core runs BERT, <see cref="AttnScope.Sources.Transformer.Families.BertFamily"/>) in double precision that keeps what its backward
/// pass needs: <see cref="Forward"/> records every layer's activations, <see cref="Backward"/> takes the gradient of
/// a scalar with respect to the last hidden state and returns its gradient with respect to every attention
/// probability. Double precision makes finite-difference checks of those gradients meaningful; the weights are the
/// model's float32 values, exactly.
/// </summary>
internal sealed class BertGradientModel
{
    private sealed class LayerWeights
    {
        public required double[] Qkv, QkvBias, AttentionOutput, AttentionOutputBias, Norm1Gamma, Norm1Beta;
        public required double[] Intermediate, IntermediateBias, Output, OutputBias, Norm2Gamma, Norm2Beta;
    }

    /// <summary>Activations of one layer, kept for the backward pass.</summary>
    internal sealed class LayerState(int n, int hidden, int heads, int inter)
    {
        public readonly double[] Qkv = new double[n * 3 * hidden];
        public readonly double[] Probabilities = new double[heads * n * n];
        public readonly double[] Normalized1 = new double[n * hidden], Rstd1 = new double[n];
        public readonly double[] Slope = new double[n * inter];
        public readonly double[] Normalized2 = new double[n * hidden], Rstd2 = new double[n];
    }

    /// <summary>One recorded forward pass.</summary>
    public sealed class Pass
    {
        internal Pass(int n, LayerState[] layers, double[] last) { Length = n; Layers = layers; LastHidden = last; }
        public int Length { get; }
        internal LayerState[] Layers { get; }
        /// <summary>Last hidden state [n, hidden].</summary>
        public double[] LastHidden { get; }
        /// <summary>Attention probabilities of layer l, [heads, n, n].</summary>
        public double[] Attention(int layer) => Layers[layer].Probabilities;
    }

    private readonly BertConfig _config;
    private readonly float[] _wordEmbeddings, _positionEmbeddings, _typeEmbeddings;
    private readonly double[] _embedGamma, _embedBeta;
    private readonly LayerWeights[] _layers;

    public BertConfig Config => _config;

    public BertGradientModel(BertConfig config, WeightStore weights)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        config.Validate();
        foreach (var (name, shape) in BertFamily.Expected(config)) weights.Get(name, shape); // throws naming the tensor
        _config = config;
        float[] F(string name) => weights.Get(name).Data;
        double[] D(string name) => DoubleOps.ToDouble(F(name));
        _wordEmbeddings = F("embeddings.word_embeddings.weight");
        _positionEmbeddings = F("embeddings.position_embeddings.weight");
        _typeEmbeddings = F("embeddings.token_type_embeddings.weight");
        _embedGamma = D("embeddings.LayerNorm.weight");
        _embedBeta = D("embeddings.LayerNorm.bias");
        int h = config.HiddenSize;
        _layers = new LayerWeights[config.NumLayers];
        for (int l = 0; l < config.NumLayers; l++)
        {
            string p = $"encoder.layer.{l}.";
            var qkv = new double[3 * h * h];
            var qkvBias = new double[3 * h];
            string[] parts = ["query", "key", "value"];
            for (int part = 0; part < 3; part++)
            {
                D(p + $"attention.self.{parts[part]}.weight").CopyTo(qkv, part * h * h);
                D(p + $"attention.self.{parts[part]}.bias").CopyTo(qkvBias, part * h);
            }
            _layers[l] = new LayerWeights
            {
                Qkv = qkv, QkvBias = qkvBias,
                AttentionOutput = D(p + "attention.output.dense.weight"), AttentionOutputBias = D(p + "attention.output.dense.bias"),
                Norm1Gamma = D(p + "attention.output.LayerNorm.weight"), Norm1Beta = D(p + "attention.output.LayerNorm.bias"),
                Intermediate = D(p + "intermediate.dense.weight"), IntermediateBias = D(p + "intermediate.dense.bias"),
                Output = D(p + "output.dense.weight"), OutputBias = D(p + "output.dense.bias"),
                Norm2Gamma = D(p + "output.LayerNorm.weight"), Norm2Beta = D(p + "output.LayerNorm.bias"),
            };
        }
    }

    /// <summary>Loads the weights the way the managed engine does: model.safetensors, or recovered from the ONNX graph.</summary>
    public static BertGradientModel Load(ModelFiles files, BertConfig config) => new(config, SourceFactory.ManagedWeights(files, config));

    /// <summary>Runs one sequence (validated like the engine) and records the pass; <paramref name="edit"/>, if given, changes probabilities.</summary>
    public Pass Forward(EncodedInput input, AttentionEdit? edit = null)
    {
        var c = _config;
        int n = input.Length, d = c.HiddenSize, heads = c.NumHeads, dh = c.HeadDim, inter = c.IntermediateSize;
        if (n == 0) throw new AttnScopeException("the input has no tokens");
        if (n > c.MaxPositions) throw new AttnScopeException($"the input has {n} tokens; the model takes at most {c.MaxPositions}");
        double eps = c.LayerNormEps;
        var x = new double[n * d];
        var scratchNorm = new double[n * d];
        var scratchRstd = new double[n];
        for (int i = 0; i < n; i++)
        {
            int id = input.Ids[i], type = input.TypeIds[i];
            if ((uint)id >= (uint)c.VocabSize) throw new AttnScopeException($"token id {id} at position {i} is out of range for vocabulary size {c.VocabSize}");
            if ((uint)type >= (uint)c.TypeVocabSize) throw new AttnScopeException($"token type id {type} at position {i} is out of range for type_vocab_size {c.TypeVocabSize}");
            for (int k = 0; k < d; k++)
                x[i * d + k] = (double)_wordEmbeddings[id * d + k] + _positionEmbeddings[i * d + k] + _typeEmbeddings[type * d + k];
        }
        DoubleOps.LayerNorm(x, n, d, _embedGamma, _embedBeta, eps, scratchNorm, scratchRstd);

        var states = new LayerState[c.NumLayers];
        var context = new double[n * d];
        var sum = new double[n * d];
        var mid = new double[n * inter];
        double scale = 1 / Math.Sqrt(dh);
        for (int l = 0; l < c.NumLayers; l++)
        {
            var w = _layers[l];
            var s = states[l] = new LayerState(n, d, heads, inter);
            DoubleOps.Linear(x, n, d, w.Qkv, w.QkvBias, 3 * d, s.Qkv);
            int layer = l;
            Heads(heads, n, h => AttendHead(s, n, d, dh, h, scale, context, edit, layer));

            DoubleOps.Linear(context, n, d, w.AttentionOutput, w.AttentionOutputBias, d, sum);
            for (int i = 0; i < n * d; i++) x[i] += sum[i];
            DoubleOps.LayerNorm(x, n, d, w.Norm1Gamma, w.Norm1Beta, eps, s.Normalized1, s.Rstd1);

            DoubleOps.Linear(x, n, d, w.Intermediate, w.IntermediateBias, inter, mid);
            for (int i = 0; i < n * inter; i++) (mid[i], s.Slope[i]) = DoubleOps.Activate(c.HiddenAct, mid[i]);
            DoubleOps.Linear(mid, n, inter, w.Output, w.OutputBias, d, sum);
            for (int i = 0; i < n * d; i++) x[i] += sum[i];
            DoubleOps.LayerNorm(x, n, d, w.Norm2Gamma, w.Norm2Beta, eps, s.Normalized2, s.Rstd2);
        }
        return new Pass(n, states, x);
    }

    private static void Heads(int heads, int n, Action<int> body)
    {
        if (Gemm.Threads > 1 && n >= 16) WorkerPool.For(heads, body, Gemm.Threads);
        else for (int h = 0; h < heads; h++) body(h);
    }

    /// <summary>softmax(q·kᵀ/√d) of head h into the state, an optional edit, then context = P·V.</summary>
    private static void AttendHead(LayerState s, int n, int d, int dh, int h, double scale, double[] context, AttentionEdit? edit, int layer)
    {
        var (q, k, v) = HeadSlices(s.Qkv, n, d, dh, h);
        var probs = s.Probabilities.AsSpan(h * n * n, n * n);
        DoubleGemm.LinearColumns(q, n, dh, k, new double[n], n, probs, 0, n);
        for (int i = 0; i < n; i++)
        {
            var row = probs.Slice(i * n, n);
            TensorPrimitives.Multiply(row, scale, row);
            double max = TensorPrimitives.Max<double>(row);
            double total = 0;
            for (int j = 0; j < n; j++) { row[j] = Math.Exp(row[j] - max); total += row[j]; }
            TensorPrimitives.Multiply(row, 1 / total, row);
        }
        edit?.Invoke(layer, h, probs);
        var ctx = new double[n * dh];
        DoubleGemm.InputGradientColumns(probs, n, n, v, dh, ctx, accumulate: false, 0, dh);
        for (int i = 0; i < n; i++) ctx.AsSpan(i * dh, dh).CopyTo(context.AsSpan(i * d + h * dh, dh));
    }

    /// <summary>Head h's query, key and value rows [n, dh] each, copied out of the fused [n, 3·hidden] projection.</summary>
    private static (double[] Q, double[] K, double[] V) HeadSlices(double[] qkv, int n, int d, int dh, int h)
    {
        double[] q = new double[n * dh], k = new double[n * dh], v = new double[n * dh];
        for (int i = 0; i < n; i++)
        {
            qkv.AsSpan(i * 3 * d + h * dh, dh).CopyTo(q.AsSpan(i * dh, dh));
            qkv.AsSpan(i * 3 * d + d + h * dh, dh).CopyTo(k.AsSpan(i * dh, dh));
            qkv.AsSpan(i * 3 * d + 2 * d + h * dh, dh).CopyTo(v.AsSpan(i * dh, dh));
        }
        return (q, k, v);
    }

    private static double[] Transposed(ReadOnlySpan<double> a, int n)
    {
        var t = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) t[j * n + i] = a[i * n + j];
        return t;
    }

    /// <summary>
    /// Backward pass of <paramref name="pass"/> from ∂f/∂(last hidden state) [n, hidden]: returns ∂f/∂P for every
    /// layer, [heads, n, n] each (layer order). <paramref name="dLastHidden"/> is used as scratch.
    /// </summary>
    public double[][] Backward(Pass pass, double[] dLastHidden)
    {
        var c = _config;
        int n = pass.Length, d = c.HiddenSize, heads = c.NumHeads, dh = c.HeadDim, inter = c.IntermediateSize;
        if (dLastHidden.Length != n * d) throw new ArgumentException("the gradient does not match the pass", nameof(dLastHidden));
        var result = new double[c.NumLayers][];
        var dx = dLastHidden;
        var dMid = new double[n * inter];
        var dContext = new double[n * d];
        var dQkv = new double[n * 3 * d];
        var dIn = new double[n * d];
        double scale = 1 / Math.Sqrt(dh);
        for (int l = c.NumLayers - 1; l >= 0; l--)
        {
            var w = _layers[l];
            var s = pass.Layers[l];
            DoubleOps.LayerNormBackward(dx, n, d, w.Norm2Gamma, s.Normalized2, s.Rstd2);
            DoubleOps.LinearInputGradient(dx, n, d, w.Output, inter, dMid, accumulate: false);
            for (int i = 0; i < n * inter; i++) dMid[i] *= s.Slope[i];
            DoubleOps.LinearInputGradient(dMid, n, inter, w.Intermediate, d, dx, accumulate: true);
            DoubleOps.LayerNormBackward(dx, n, d, w.Norm1Gamma, s.Normalized1, s.Rstd1);
            DoubleOps.LinearInputGradient(dx, n, d, w.AttentionOutput, d, dContext, accumulate: false);

            var dP = result[l] = new double[heads * n * n];
            Heads(heads, n, h => HeadBackward(s, n, d, dh, h, scale, dContext, dP, dQkv));
            if (l == 0) break; // nothing below needs a gradient
            DoubleOps.LinearInputGradient(dQkv, n, 3 * d, w.Qkv, d, dIn, accumulate: false);
            for (int i = 0; i < n * d; i++) dx[i] += dIn[i];
        }
        return result;
    }

    /// <summary>dP = dC·Vᵀ, dV = Pᵀ·dC, dS = P⊙(dP − rowsum(P⊙dP)), dQ = dS·K/√d, dK = dSᵀ·Q/√d, for head h.</summary>
    private static void HeadBackward(LayerState s, int n, int d, int dh, int h, double scale, double[] dContext, double[] dP, double[] dQkv)
    {
        var (q, k, v) = HeadSlices(s.Qkv, n, d, dh, h);
        var dc = new double[n * dh];
        for (int i = 0; i < n; i++) dContext.AsSpan(i * d + h * dh, dh).CopyTo(dc.AsSpan(i * dh, dh));
        var probs = s.Probabilities.AsSpan(h * n * n, n * n);
        var grads = dP.AsSpan(h * n * n, n * n);
        DoubleGemm.LinearColumns(dc, n, dh, v, new double[n], n, grads, 0, n);
        var ds = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            var pi = probs.Slice(i * n, n);
            var gi = grads.Slice(i * n, n);
            double dot = TensorPrimitives.Dot<double>(pi, gi);
            for (int j = 0; j < n; j++) ds[i * n + j] = pi[j] * (gi[j] - dot) * scale;
        }
        double[] dq = new double[n * dh], dk = new double[n * dh], dv = new double[n * dh];
        DoubleGemm.InputGradientColumns(Transposed(probs, n), n, n, dc, dh, dv, accumulate: false, 0, dh);
        DoubleGemm.InputGradientColumns(ds, n, n, k, dh, dq, accumulate: false, 0, dh);
        DoubleGemm.InputGradientColumns(Transposed(ds, n), n, n, q, dh, dk, accumulate: false, 0, dh);
        for (int i = 0; i < n; i++)
        {
            dq.AsSpan(i * dh, dh).CopyTo(dQkv.AsSpan(i * 3 * d + h * dh, dh));
            dk.AsSpan(i * dh, dh).CopyTo(dQkv.AsSpan(i * 3 * d + d + h * dh, dh));
            dv.AsSpan(i * dh, dh).CopyTo(dQkv.AsSpan(i * 3 * d + 2 * d + h * dh, dh));
        }
    }
}
