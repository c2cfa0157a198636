using AttnScope.Capture;
using AttnScope.Sources.Models;

namespace AttnScope.Sources.Engine;

/// <summary>One encoder layer's weights, linear layers packed for <see cref="Gemm"/> (Q, K and V fused).</summary>
internal sealed class BertLayerWeights
{
    public required PackedMatrix Qkv { get; init; }
    public required PackedMatrix AttentionOutput { get; init; }
    public required float[] AttentionNormGamma { get; init; }
    public required float[] AttentionNormBeta { get; init; }
    public required PackedMatrix Intermediate { get; init; }
    public required PackedMatrix Output { get; init; }
    public required float[] OutputNormGamma { get; init; }
    public required float[] OutputNormBeta { get; init; }
}

/// <summary>
/// A BERT encoder's weights, checked against the config and packed once. Every tensor's presence and shape is
/// validated before anything is packed; errors name the tensor and both shapes.
/// </summary>
internal sealed class BertWeights
{
    public required float[] WordEmbeddings { get; init; }
    public required float[] PositionEmbeddings { get; init; }
    public required float[] TokenTypeEmbeddings { get; init; }
    public required float[] EmbeddingNormGamma { get; init; }
    public required float[] EmbeddingNormBeta { get; init; }
    public required BertLayerWeights[] Layers { get; init; }

    /// <summary>Every tensor the engine reads with its expected shape.</summary>
    public static IEnumerable<(string Name, int[] Shape)> Expected(BertConfig c)
    {
        int h = c.HiddenSize, i = c.IntermediateSize;
        yield return ("embeddings.word_embeddings.weight", [c.VocabSize, h]);
        yield return ("embeddings.position_embeddings.weight", [c.MaxPositions, h]);
        yield return ("embeddings.token_type_embeddings.weight", [c.TypeVocabSize, h]);
        yield return ("embeddings.LayerNorm.weight", [h]);
        yield return ("embeddings.LayerNorm.bias", [h]);
        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = $"encoder.layer.{l}.";
            foreach (var qkv in new[] { "query", "key", "value" })
            {
                yield return (p + $"attention.self.{qkv}.weight", [h, h]);
                yield return (p + $"attention.self.{qkv}.bias", [h]);
            }
            yield return (p + "attention.output.dense.weight", [h, h]);
            yield return (p + "attention.output.dense.bias", [h]);
            yield return (p + "attention.output.LayerNorm.weight", [h]);
            yield return (p + "attention.output.LayerNorm.bias", [h]);
            yield return (p + "intermediate.dense.weight", [i, h]);
            yield return (p + "intermediate.dense.bias", [i]);
            yield return (p + "output.dense.weight", [h, i]);
            yield return (p + "output.dense.bias", [h]);
            yield return (p + "output.LayerNorm.weight", [h]);
            yield return (p + "output.LayerNorm.bias", [h]);
        }
    }

    public static BertWeights Load(BertConfig c, WeightStore w)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(w);
        c.Validate();
        if (c.MaxPositions <= 0) throw new AttnScopeException($"model config ({c.Origin}): max_position_embeddings {c.MaxPositions} must be positive");
        if (c.TypeVocabSize <= 0) throw new AttnScopeException($"model config ({c.Origin}): type_vocab_size {c.TypeVocabSize} must be positive");
        foreach (var (name, shape) in Expected(c))
        {
            var t = w.Get(name, shape); // throws naming the tensor
            // A NaN or infinite weight would spread through every later number: refused here, naming the tensor.
            int bad = Array.FindIndex(t.Data, v => !float.IsFinite(v));
            if (bad >= 0) throw new AttnScopeException($"weights from {w.Origin}: '{name}' holds {t.Data[bad]} (element {bad}); the model cannot be run");
        }

        int h = c.HiddenSize, i = c.IntermediateSize;
        float[] D(string name) => w.Get(name).Data;
        var layers = new BertLayerWeights[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = $"encoder.layer.{l}.";
            var qkvW = new float[3 * h * h];
            var qkvB = new float[3 * h];
            int part = 0;
            foreach (var name in new[] { "query", "key", "value" })
            {
                D(p + $"attention.self.{name}.weight").CopyTo(qkvW, part * h * h);
                D(p + $"attention.self.{name}.bias").CopyTo(qkvB, part * h);
                part++;
            }
            layers[l] = new BertLayerWeights
            {
                Qkv = PackedMatrix.FromTransposed(qkvW, 3 * h, h, qkvB),
                AttentionOutput = PackedMatrix.FromTransposed(D(p + "attention.output.dense.weight"), h, h, D(p + "attention.output.dense.bias")),
                AttentionNormGamma = D(p + "attention.output.LayerNorm.weight"),
                AttentionNormBeta = D(p + "attention.output.LayerNorm.bias"),
                Intermediate = PackedMatrix.FromTransposed(D(p + "intermediate.dense.weight"), i, h, D(p + "intermediate.dense.bias")),
                Output = PackedMatrix.FromTransposed(D(p + "output.dense.weight"), h, i, D(p + "output.dense.bias")),
                OutputNormGamma = D(p + "output.LayerNorm.weight"),
                OutputNormBeta = D(p + "output.LayerNorm.bias"),
            };
        }
        return new BertWeights
        {
            WordEmbeddings = D("embeddings.word_embeddings.weight"),
            PositionEmbeddings = D("embeddings.position_embeddings.weight"),
            TokenTypeEmbeddings = D("embeddings.token_type_embeddings.weight"),
            EmbeddingNormGamma = D("embeddings.LayerNorm.weight"),
            EmbeddingNormBeta = D("embeddings.LayerNorm.bias"),
            Layers = layers,
        };
    }
}
