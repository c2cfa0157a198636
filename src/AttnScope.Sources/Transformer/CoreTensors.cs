namespace AttnScope.Sources.Transformer;

/// <summary>
/// One block's tensors as a family's weight-name map hands them to the core, in PyTorch's linear layout
/// [out, in]. Q, K and V are separate (the core fuses them); a gated MLP has <see cref="Gate"/> as well as
/// <see cref="Up"/>; an attention-only block has no MLP and no second norm. Biases and norm betas the family does not have are null.
/// </summary>
internal sealed class CoreLayerTensors
{
    public required float[] Query { get; init; }
    public required float[] Key { get; init; }
    public required float[] Value { get; init; }
    public float[]? QueryBias { get; init; }
    public float[]? KeyBias { get; init; }
    public float[]? ValueBias { get; init; }
    public required float[] Output { get; init; }
    public float[]? OutputBias { get; init; }
    /// <summary>The norm before attention (pre-norm) or after the attention residual (post-norm).</summary>
    public required float[] Norm1Gain { get; init; }
    public float[]? Norm1Bias { get; init; }
    public float[]? Norm2Gain { get; init; }
    public float[]? Norm2Bias { get; init; }
    /// <summary>Cross-attention (encoder-decoder blocks): projections of the decoder state (query) and of the encoder
    /// output (key, value), the output projection and the sub-layer's norm.</summary>
    public float[]? CrossQuery { get; init; }
    public float[]? CrossKey { get; init; }
    public float[]? CrossValue { get; init; }
    public float[]? CrossQueryBias { get; init; }
    public float[]? CrossKeyBias { get; init; }
    public float[]? CrossValueBias { get; init; }
    public float[]? CrossOutput { get; init; }
    public float[]? CrossOutputBias { get; init; }
    public float[]? CrossNormGain { get; init; }
    public float[]? CrossNormBias { get; init; }
    public float[]? Gate { get; init; }
    public float[]? GateBias { get; init; }
    public float[]? Up { get; init; }
    public float[]? UpBias { get; init; }
    public float[]? Down { get; init; }
    public float[]? DownBias { get; init; }
}

/// <summary>Every tensor of a stack, mapped from the family's names; see <see cref="CoreLayerTensors"/>.</summary>
internal sealed class CoreTensors
{
    /// <summary>[vocab, hidden].</summary>
    public required float[] TokenEmbeddings { get; init; }
    /// <summary>[max_positions, hidden] for learned positions.</summary>
    public float[]? PositionEmbeddings { get; init; }
    /// <summary>[type_vocab, hidden] when the family has segments.</summary>
    public float[]? TypeEmbeddings { get; init; }
    public float[]? EmbeddingNormGain { get; init; }
    public float[]? EmbeddingNormBias { get; init; }
    /// <summary>[buckets, heads] relative-position biases shared by every block (T5), for <see cref="PositionKind.RelativeBias"/>.</summary>
    public float[]? RelativeBias { get; init; }
    public required CoreLayerTensors[] Layers { get; init; }
    public float[]? FinalNormGain { get; init; }
    public float[]? FinalNormBias { get; init; }
    /// <summary>[vocab, hidden] for an untied head; null when tied to <see cref="TokenEmbeddings"/>.</summary>
    public float[]? Unembedding { get; init; }
    public float[]? UnembeddingBias { get; init; }
}
