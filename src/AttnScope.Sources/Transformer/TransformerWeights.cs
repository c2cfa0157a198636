using AttnScope.Capture;
using AttnScope.Sources.Engine;

namespace AttnScope.Sources.Transformer;

/// <summary>One block's weights packed for <see cref="Gemm"/>: Q, K and V fused into one product, gate and up fused.</summary>
internal sealed class PackedLayer
{
    public required PackedMatrix Qkv { get; init; }
    public required PackedMatrix Output { get; init; }
    public required float[] Norm1Gain { get; init; }
    public float[]? Norm1Bias { get; init; }
    public float[]? Norm2Gain { get; init; }
    public float[]? Norm2Bias { get; init; }
    /// <summary>Up projection [hidden → intermediate], or gate | up fused [hidden → 2·intermediate].</summary>
    public PackedMatrix? Up { get; init; }
    public PackedMatrix? Down { get; init; }
    /// <summary>Cross-attention: query [hidden → heads·d_head], key | value of the memory [hidden → 2·kv], output.</summary>
    public PackedMatrix? CrossQuery { get; init; }
    public PackedMatrix? CrossKv { get; init; }
    public PackedMatrix? CrossOutput { get; init; }
    public float[]? CrossNormGain { get; init; }
    public float[]? CrossNormBias { get; init; }
    /// <summary>The unpacked output projection [hidden, heads·head_dim] (per-head slices for attributions).</summary>
    public required float[] OutputWeight { get; init; }
}

/// <summary>
/// A stack's weights checked against its <see cref="TransformerSpec"/> and packed once. Each tensor's length is
/// checked before anything is packed; errors name the tensor.
/// </summary>
internal sealed class TransformerWeights
{
    public required float[] TokenEmbeddings { get; init; }
    public float[]? PositionEmbeddings { get; init; }
    public float[]? TypeEmbeddings { get; init; }
    public float[]? EmbeddingNormGain { get; init; }
    public float[]? EmbeddingNormBias { get; init; }
    /// <summary>[buckets, heads] relative-position biases (T5).</summary>
    public float[]? RelativeBias { get; init; }
    public required PackedLayer[] Layers { get; init; }
    public float[]? FinalNormGain { get; init; }
    public float[]? FinalNormBias { get; init; }
    /// <summary>The language-model head packed [hidden → vocab], or null for encoders.</summary>
    public PackedMatrix? Unembedding { get; init; }
    /// <summary>The unpacked head [vocab, hidden] (the embeddings when tied), times <see cref="TransformerSpec.LogitScale"/>
    /// when that is not 1 (a scaled copy: logits are then hidden·rowsᵀ as everywhere else).</summary>
    public float[]? UnembeddingRows { get; init; }

    /// <summary>
    /// Linear layers that read the same input stacked into one product: weights [rows_i, d] one under the other, the
    /// biases likewise (zeros for a part without one; none at all when no part has one).
    /// </summary>
    private static PackedMatrix Fused(int d, params (float[] Weight, float[]? Bias, int Rows)[] parts)
    {
        int rows = parts.Sum(p => p.Rows);
        var weight = new float[(long)rows * d];
        var bias = parts.Any(p => p.Bias is not null) ? new float[rows] : null;
        int at = 0;
        foreach (var (w, b, r) in parts)
        {
            w.CopyTo(weight, (long)at * d);
            b?.CopyTo(bias!, at);
            at += r;
        }
        return PackedMatrix.FromTransposed(weight, rows, d, bias);
    }

    public static TransformerWeights Pack(TransformerSpec s, CoreTensors t, string origin)
    {
        void Len(float[]? a, long expected, string what, bool required = true)
        {
            if (a is null)
            {
                if (required) throw new AttnScopeException($"weights from {origin}: {what} is missing");
                return;
            }
            if (a.Length != expected) throw new AttnScopeException($"weights from {origin}: {what} has {a.Length} values, expected {expected}");
            // A NaN or infinite weight would spread through every later number.
            int bad = Array.FindIndex(a, v => !float.IsFinite(v));
            if (bad >= 0) throw new AttnScopeException($"weights from {origin}: {what} holds {a[bad]} (element {bad}); the model cannot be run");
        }
        int d = s.Hidden, q = s.QueryWidth, kv = s.KvWidth, inter = s.Intermediate;
        Len(t.TokenEmbeddings, (long)s.Vocab * d, "the token embedding");
        Len(t.PositionEmbeddings, (long)s.MaxPositions * d, "the position embedding", s.Positions == PositionKind.Learned);
        Len(t.TypeEmbeddings, (long)s.TypeVocab * d, "the token type embedding", s.TypeVocab > 0);
        Len(t.EmbeddingNormGain, d, "the embedding norm", s.EmbeddingNorm);
        Len(t.EmbeddingNormBias, d, "the embedding norm bias", s.EmbeddingNorm && s.Norm == NormKind.LayerNorm);
        Len(t.RelativeBias, (long)s.RelativeBuckets * s.Heads, "the relative-position bias", s.Positions == PositionKind.RelativeBias);
        Len(t.FinalNormGain, d, "the final norm", s.FinalNorm);
        Len(t.FinalNormBias, d, "the final norm bias", s.FinalNorm && s.Norm == NormKind.LayerNorm);
        if (s.LmHead && !s.TiedHead) Len(t.Unembedding, (long)s.Vocab * d, "the language-model head");
        if (t.Layers.Length != s.Layers) throw new AttnScopeException($"weights from {origin}: {t.Layers.Length} layers, config says {s.Layers}");
        bool ln = s.Norm == NormKind.LayerNorm;
        for (int l = 0; l < s.Layers; l++)
        {
            var w = t.Layers[l];
            string p = $"layer {l}: ";
            Len(w.Query, (long)q * d, p + "query weight");
            Len(w.Key, (long)kv * d, p + "key weight");
            Len(w.Value, (long)kv * d, p + "value weight");
            Len(w.QueryBias, q, p + "query bias", false);
            Len(w.KeyBias, kv, p + "key bias", false);
            Len(w.ValueBias, kv, p + "value bias", false);
            Len(w.Output, (long)d * q, p + "attention output weight");
            Len(w.OutputBias, d, p + "attention output bias", false);
            Len(w.Norm1Gain, d, p + "first norm");
            Len(w.Norm1Bias, d, p + "first norm bias", ln);
            if (s.CrossAttention)
            {
                Len(w.CrossQuery, (long)q * d, p + "cross-attention query weight");
                Len(w.CrossKey, (long)kv * d, p + "cross-attention key weight");
                Len(w.CrossValue, (long)kv * d, p + "cross-attention value weight");
                Len(w.CrossQueryBias, q, p + "cross-attention query bias", false);
                Len(w.CrossKeyBias, kv, p + "cross-attention key bias", false);
                Len(w.CrossValueBias, kv, p + "cross-attention value bias", false);
                Len(w.CrossOutput, (long)d * q, p + "cross-attention output weight");
                Len(w.CrossOutputBias, d, p + "cross-attention output bias", false);
                Len(w.CrossNormGain, d, p + "cross-attention norm");
                Len(w.CrossNormBias, d, p + "cross-attention norm bias", ln);
            }
            if (!s.Mlp) continue;
            Len(w.Norm2Gain, d, p + "second norm");
            Len(w.Norm2Bias, d, p + "second norm bias", ln);
            Len(w.Gate, (long)inter * d, p + "MLP gate", s.GatedMlp);
            Len(w.GateBias, inter, p + "MLP gate bias", false);
            Len(w.Up, (long)inter * d, p + "MLP up projection");
            Len(w.UpBias, inter, p + "MLP up bias", false);
            Len(w.Down, (long)d * inter, p + "MLP down projection");
            Len(w.DownBias, d, p + "MLP down bias", false);
        }
        Len(t.UnembeddingBias, s.Vocab, "the language-model head bias", false);

        var layers = new PackedLayer[s.Layers];
        for (int l = 0; l < s.Layers; l++)
        {
            var w = t.Layers[l];
            var qkv = Fused(d, (w.Query, w.QueryBias, q), (w.Key, w.KeyBias, kv), (w.Value, w.ValueBias, kv));
            PackedMatrix? up = !s.Mlp ? null
                : s.GatedMlp ? Fused(d, (w.Gate!, w.GateBias, inter), (w.Up!, w.UpBias, inter))
                : PackedMatrix.FromTransposed(w.Up!, inter, d, w.UpBias);
            PackedMatrix? crossKv = s.CrossAttention ? Fused(d, (w.CrossKey!, w.CrossKeyBias, kv), (w.CrossValue!, w.CrossValueBias, kv)) : null;
            layers[l] = new PackedLayer
            {
                CrossQuery = s.CrossAttention ? PackedMatrix.FromTransposed(w.CrossQuery!, q, d, w.CrossQueryBias) : null,
                CrossKv = crossKv,
                CrossOutput = s.CrossAttention ? PackedMatrix.FromTransposed(w.CrossOutput!, d, q, w.CrossOutputBias) : null,
                CrossNormGain = w.CrossNormGain, CrossNormBias = w.CrossNormBias,
                Qkv = qkv,
                Output = PackedMatrix.FromTransposed(w.Output, d, q, w.OutputBias),
                OutputWeight = w.Output,
                Norm1Gain = w.Norm1Gain, Norm1Bias = w.Norm1Bias, Norm2Gain = w.Norm2Gain, Norm2Bias = w.Norm2Bias,
                Up = up,
                Down = s.Mlp ? PackedMatrix.FromTransposed(w.Down!, d, inter, w.DownBias) : null,
            };
        }
        PackedMatrix? head = null;
        float[]? headRows = null;
        if (s.LmHead)
        {
            headRows = s.TiedHead ? t.TokenEmbeddings : t.Unembedding!;
            if (s.LogitScale != 1f)
            {
                var scaled = new float[headRows.Length];
                System.Numerics.Tensors.TensorPrimitives.Multiply(headRows, s.LogitScale, scaled);
                headRows = scaled;
            }
            head = PackedMatrix.FromTransposed(headRows, s.Vocab, d, t.UnembeddingBias);
        }
        return new TransformerWeights
        {
            TokenEmbeddings = t.TokenEmbeddings, PositionEmbeddings = t.PositionEmbeddings, TypeEmbeddings = t.TypeEmbeddings,
            EmbeddingNormGain = t.EmbeddingNormGain, EmbeddingNormBias = t.EmbeddingNormBias, RelativeBias = t.RelativeBias,
            Layers = layers, FinalNormGain = t.FinalNormGain, FinalNormBias = t.FinalNormBias,
            Unembedding = head, UnembeddingRows = headRows,
        };
    }
}
