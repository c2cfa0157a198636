using AttnScope.Capture;

namespace AttnScope.Sources.Transformer;

/// <summary>LayerNorm (mean and variance, gain and bias) or RMSNorm (root mean square, gain only).</summary>
internal enum NormKind { LayerNorm, RmsNorm }

/// <summary>Where each block normalises: before each sub-layer (GPT-2, Llama) or after the residual sum (BERT).</summary>
internal enum NormPlacement { Pre, Post }

/// <summary>Fixed sinusoids: sin/cos interleaved by dimension (Vaswani et al.) or sin in the first half, cos in the second (Marian).</summary>
internal enum SinusoidLayout { Interleaved, Halves }

/// <summary>How positions enter: a learned table added to the embeddings, fixed sinusoids, rotary (RoPE) on
/// queries and keys, ALiBi biases on the scores, T5's learned relative-position biases on the scores (one per head
/// and distance bucket, see <see cref="RelativePositionBuckets"/>), or none.</summary>
internal enum PositionKind { None, Learned, Sinusoidal, Rotary, Alibi, RelativeBias }

/// <summary>
/// Rotary position embedding: θ, how many dimensions of each head rotate, and the frequency scaling of the
/// family (<c>none</c>, <c>linear</c>, <c>llama3</c>). Pairs are (i, i + rotary/2) ("rotate half"), as in
/// Llama, Mistral and Qwen2 checkpoints.
/// </summary>
internal sealed record RopeSpec
{
    public float Theta { get; init; } = 10000f;
    /// <summary>Rotated dimensions per head (the head dimension unless partial rotary).</summary>
    public int RotaryDim { get; init; }
    public string Scaling { get; init; } = "none";
    public float Factor { get; init; } = 1f;
    public float LowFreqFactor { get; init; } = 1f;
    public float HighFreqFactor { get; init; } = 4f;
    public int OriginalMaxPositions { get; init; } = 8192;
}

/// <summary>
/// The declarative description of one Transformer stack: everything the core needs to run a family's weights.
/// A family's config reader produces it; the core never looks at the family's name.
/// </summary>
internal sealed record TransformerSpec
{
    /// <summary>Family name as written into captures (<c>bert</c>, <c>gpt2</c>, <c>llama</c>, …).</summary>
    public required string Family { get; init; }
    public required int Layers { get; init; }
    public required int Hidden { get; init; }
    public required int Heads { get; init; }
    /// <summary>Key/value heads: equal to <see cref="Heads"/> (multi-head), fewer (grouped-query) or 1 (multi-query).</summary>
    public required int KvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int Intermediate { get; init; }
    public required int Vocab { get; init; }
    public required int MaxPositions { get; init; }
    /// <summary>Token type (segment) embeddings; 0 when the family has none.</summary>
    public int TypeVocab { get; init; }

    public NormKind Norm { get; init; } = NormKind.LayerNorm;
    public NormPlacement Placement { get; init; } = NormPlacement.Pre;
    public float NormEps { get; init; } = 1e-5f;
    /// <summary>A norm right after the embeddings (BERT).</summary>
    public bool EmbeddingNorm { get; init; }
    /// <summary>A norm after the last block (pre-norm stacks).</summary>
    public bool FinalNorm { get; init; }
    /// <summary>Embeddings multiplied by this (√d for Marian/T5-style stacks; 1 otherwise).</summary>
    public float EmbeddingScale { get; init; } = 1f;

    public PositionKind Positions { get; init; } = PositionKind.Learned;
    public RopeSpec? Rope { get; init; }
    public SinusoidLayout Sinusoids { get; init; } = SinusoidLayout.Interleaved;
    /// <summary>Decoder blocks of an encoder-decoder: a cross-attention sub-layer over the encoder's output
    /// (<see cref="ForwardInput.Memory"/>) between self-attention and the MLP, with its own norm.</summary>
    public bool CrossAttention { get; init; }
    /// <summary>Each query sees only keys at its position or before.</summary>
    public bool Causal { get; init; }
    /// <summary>Query i sees keys j with i − window &lt; j (on top of causality); null for full attention.</summary>
    public int? SlidingWindow { get; init; }
    /// <summary>Relative-position buckets (T5's <c>relative_attention_num_buckets</c>) for <see cref="PositionKind.RelativeBias"/>.</summary>
    public int RelativeBuckets { get; init; } = 32;
    /// <summary>Distance from which every offset shares the last bucket (T5's <c>relative_attention_max_distance</c>).</summary>
    public int RelativeMaxDistance { get; init; } = 128;
    /// <summary>Factor on Q·Kᵀ before the softmax; null for 1/√d_head. T5 folds it into its weights and uses 1.</summary>
    public float? AttentionScale { get; init; }
    /// <summary>The factor the scores use.</summary>
    public float ScoreScale => AttentionScale ?? 1f / MathF.Sqrt(HeadDim);
    /// <summary>Logits = (hidden × this)·W_Uᵀ + b: T5 with a tied head scales by d_model^−½; 1 elsewhere.</summary>
    public float LogitScale { get; init; } = 1f;

    /// <summary><c>gelu</c> (erf), <c>gelu_new</c>/<c>gelu_pytorch_tanh</c> (tanh), <c>relu</c>, <c>silu</c>, <c>quick_gelu</c> (CLIP: x·σ(1.702x)).</summary>
    public string Activation { get; init; } = "gelu";
    /// <summary>Blocks have an MLP; false for attention-only models (the second norm is then absent too).</summary>
    public bool Mlp { get; init; } = true;
    /// <summary>Gated MLP: act(gate(x))·up(x) (SwiGLU with silu, GeGLU with gelu).</summary>
    public bool GatedMlp { get; init; }
    public bool AttentionBias { get; init; } = true;
    public bool OutputBias { get; init; } = true;
    public bool MlpBias { get; init; } = true;
    /// <summary>Whether the model has a language-model head (decoders) — tied to the embeddings or its own.</summary>
    public bool LmHead { get; init; }
    public bool TiedHead { get; init; }
    /// <summary>Token ids the family marks (for generation): begin and end of sequence.</summary>
    public int? BosId { get; init; }
    public int? EosId { get; init; }

    public int QueryWidth => Heads * HeadDim;
    public int KvWidth => KvHeads * HeadDim;
    /// <summary>Width of the fused projection: Q | K | V.</summary>
    public int QkvWidth => QueryWidth + 2 * KvWidth;
    public int MlpWidth => GatedMlp ? 2 * Intermediate : Intermediate;

    /// <summary>Largest sizes the core accepts (beyond them a config is refused before anything is allocated).</summary>
    public const int MaxLayers = 512, MaxHeads = 1024, MaxWidth = 1 << 16, MaxVocab = 4_000_000, MaxPositionLimit = 1 << 20;

    /// <summary>Checks every size and option; one line naming the first problem.</summary>
    public void Validate(string origin)
    {
        void Check(bool ok, string what) { if (!ok) throw new AttnScopeException($"model config ({origin}): {what}"); }
        Check(Layers is > 0 and <= MaxLayers, $"{Layers} layers (must be 1..{MaxLayers})");
        Check(Heads is > 0 and <= MaxHeads, $"{Heads} attention heads (must be 1..{MaxHeads})");
        Check(KvHeads > 0 && KvHeads <= Heads && Heads % KvHeads == 0, $"{KvHeads} key/value heads must divide {Heads} attention heads");
        Check(HeadDim is > 0 and <= 4096, $"head dimension {HeadDim} (must be 1..4096)");
        Check(Hidden is > 0 and <= MaxWidth, $"hidden size {Hidden} (must be 1..{MaxWidth})");
        Check((long)Heads * HeadDim <= MaxWidth, $"{Heads} heads × {HeadDim} is too wide");
        Check(Intermediate is > 0 and <= 4 * MaxWidth, $"intermediate size {Intermediate} (must be 1..{4 * MaxWidth})");
        Check(Vocab is > 0 and <= MaxVocab, $"vocabulary size {Vocab} (must be 1..{MaxVocab})");
        Check(MaxPositions is > 0 and <= MaxPositionLimit, $"maximum positions {MaxPositions} (must be 1..{MaxPositionLimit})");
        Check(TypeVocab is >= 0 and <= 1024, $"token type vocabulary {TypeVocab} (must be 0..1024)");
        Check(float.IsFinite(NormEps) && NormEps > 0, $"norm epsilon {NormEps} must be a positive number");
        Check(float.IsFinite(EmbeddingScale) && EmbeddingScale > 0, $"embedding scale {EmbeddingScale} must be positive");
        Check(SlidingWindow is null or > 0, $"sliding window {SlidingWindow} must be positive");
        Check(Activation is "gelu" or "gelu_new" or "gelu_pytorch_tanh" or "relu" or "silu" or "quick_gelu",
            $"activation '{Activation}' is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu, silu, quick_gelu)");
        if (Positions == PositionKind.Rotary)
        {
            Check(Rope is not null, "rotary positions without rotary settings");
            Check(Rope!.RotaryDim > 0 && Rope.RotaryDim <= HeadDim && Rope.RotaryDim % 2 == 0, $"rotary dimension {Rope.RotaryDim} must be even and at most the head dimension {HeadDim}");
            Check(float.IsFinite(Rope.Theta) && Rope.Theta > 1, $"rope_theta {Rope.Theta} must be greater than 1");
            Check(Rope.Scaling is "none" or "default" or "linear" or "llama3", $"rope scaling '{Rope.Scaling}' is not supported (linear, llama3)");
            Check(float.IsFinite(Rope.Factor) && Rope.Factor > 0, $"rope scaling factor {Rope.Factor} must be positive");
            if (Rope.Scaling == "llama3")
                Check(Rope.HighFreqFactor > Rope.LowFreqFactor && Rope.LowFreqFactor > 0 && Rope.OriginalMaxPositions > 0,
                    "llama3 rope scaling needs high_freq_factor > low_freq_factor > 0 and original_max_position_embeddings > 0");
        }
        Check(AttentionScale is null || float.IsFinite(AttentionScale.Value) && AttentionScale.Value > 0, $"attention scale {AttentionScale} must be positive");
        Check(float.IsFinite(LogitScale) && LogitScale > 0, $"logit scale {LogitScale} must be positive");
        if (Positions == PositionKind.RelativeBias)
        {
            Check(RelativeBuckets is >= 2 and <= 4096, $"{RelativeBuckets} relative-position buckets (must be 2..4096)");
            int exact = RelativePositionBuckets.ExactBuckets(!Causal, RelativeBuckets);
            Check(exact >= 1 && RelativeMaxDistance > exact && RelativeMaxDistance <= MaxPositionLimit,
                $"relative_attention_max_distance {RelativeMaxDistance} must exceed the {exact} exact buckets of {RelativeBuckets}");
        }
        if (Placement == NormPlacement.Post) Check(!FinalNorm, "a post-norm stack has no final norm");
        Check(!TiedHead || LmHead, "a tied head needs a language-model head");
    }
}
