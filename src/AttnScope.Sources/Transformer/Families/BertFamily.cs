using AttnScope.Sources.Models;

namespace AttnScope.Sources.Transformer.Families;

/// <summary>
/// BERT-family encoders (BERT, MiniLM, RoBERTa-style) over the core: post-norm LayerNorm blocks, learned positions,
/// token types, an embedding norm, bidirectional attention. The config is a <see cref="BertConfig"/>; weights use
/// Hugging Face's BERT names without the model prefix.
/// </summary>
internal static class BertFamily
{
    public static TransformerSpec Spec(BertConfig c) => new()
    {
        Family = c.ModelType,
        Layers = c.NumLayers, Hidden = c.HiddenSize, Heads = c.NumHeads, KvHeads = c.NumHeads, HeadDim = c.HeadDim,
        Intermediate = c.IntermediateSize, Vocab = c.VocabSize, MaxPositions = c.MaxPositions, TypeVocab = c.TypeVocabSize,
        Norm = NormKind.LayerNorm, Placement = NormPlacement.Post, NormEps = c.LayerNormEps, EmbeddingNorm = true,
        Positions = PositionKind.Learned, Causal = false, Activation = c.HiddenAct,
    };

    /// <summary>Every tensor the family reads with its expected shape (PyTorch layout).</summary>
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

    /// <summary>Checks presence and shape of every tensor (errors name the tensor and both shapes), then maps them.</summary>
    public static CoreTensors Tensors(BertConfig c, WeightStore w)
    {
        c.Validate();
        if (c.MaxPositions <= 0) throw new Capture.AttnScopeException($"model config ({c.Origin}): max_position_embeddings {c.MaxPositions} must be positive");
        if (c.TypeVocabSize <= 0) throw new Capture.AttnScopeException($"model config ({c.Origin}): type_vocab_size {c.TypeVocabSize} must be positive");
        foreach (var (name, shape) in Expected(c))
        {
            var t = w.Get(name, shape); // throws naming the tensor
            // A NaN or infinite weight would spread through every later number: refused here, naming the tensor.
            int bad = Array.FindIndex(t.Data, v => !float.IsFinite(v));
            if (bad >= 0) throw new Capture.AttnScopeException($"weights from {w.Origin}: '{name}' holds {t.Data[bad]} (element {bad}); the model cannot be run");
        }
        float[] D(string name) => w.Get(name).Data;
        var layers = new CoreLayerTensors[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = $"encoder.layer.{l}.";
            layers[l] = new CoreLayerTensors
            {
                Query = D(p + "attention.self.query.weight"), QueryBias = D(p + "attention.self.query.bias"),
                Key = D(p + "attention.self.key.weight"), KeyBias = D(p + "attention.self.key.bias"),
                Value = D(p + "attention.self.value.weight"), ValueBias = D(p + "attention.self.value.bias"),
                Output = D(p + "attention.output.dense.weight"), OutputBias = D(p + "attention.output.dense.bias"),
                Norm1Gain = D(p + "attention.output.LayerNorm.weight"), Norm1Bias = D(p + "attention.output.LayerNorm.bias"),
                Up = D(p + "intermediate.dense.weight"), UpBias = D(p + "intermediate.dense.bias"),
                Down = D(p + "output.dense.weight"), DownBias = D(p + "output.dense.bias"),
                Norm2Gain = D(p + "output.LayerNorm.weight"), Norm2Bias = D(p + "output.LayerNorm.bias"),
            };
        }
        return new CoreTensors
        {
            TokenEmbeddings = D("embeddings.word_embeddings.weight"),
            PositionEmbeddings = D("embeddings.position_embeddings.weight"),
            TypeEmbeddings = D("embeddings.token_type_embeddings.weight"),
            EmbeddingNormGain = D("embeddings.LayerNorm.weight"), EmbeddingNormBias = D("embeddings.LayerNorm.bias"),
            Layers = layers,
        };
    }

    /// <summary>The core running a BERT-family encoder.</summary>
    public static TransformerModel Load(BertConfig c, WeightStore w)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(w);
        return new TransformerModel(Spec(c), Tensors(c, w), w.Origin);
    }
}
