using System.Text.Json;
using System.Text.Json.Serialization;
using AttnScope.Capture;

namespace AttnScope.Training.Model;

/// <summary>Shape of an encoder-decoder Transformer. Saved as the "model" object of a run folder's config.json.</summary>
internal sealed record TransformerConfig
{
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("d_model")] public int Dim { get; init; } = 256;
    [JsonPropertyName("heads")] public int Heads { get; init; } = 4;
    [JsonPropertyName("d_ff")] public int FeedForward { get; init; } = 1024;
    [JsonPropertyName("encoder_layers")] public int EncoderLayers { get; init; } = 3;
    [JsonPropertyName("decoder_layers")] public int DecoderLayers { get; init; } = 3;
    /// <summary>Layer norm before each sub-layer (pre-LN, plus a final norm) or after the residual sum (post-LN, the original).</summary>
    [JsonPropertyName("pre_norm")] public bool PreNorm { get; init; } = true;
    /// <summary>Learned position table instead of fixed sinusoids.</summary>
    [JsonPropertyName("learned_positions")] public bool LearnedPositions { get; init; }
    [JsonPropertyName("max_length")] public int MaxLength { get; init; } = 128;
    /// <summary>One embedding table for source, target and the output projection (needs a joint vocabulary).</summary>
    [JsonPropertyName("shared_embeddings")] public bool SharedEmbeddings { get; init; } = true;
    [JsonPropertyName("dropout")] public float Dropout { get; init; } = 0.1f;

    /// <summary>Largest max_length (positions) a run may declare; see docs/limits.md.</summary>
    public const int MaxMaxLength = 8192;
    /// <summary>Largest d_model.</summary>
    public const int MaxDim = 4096;
    /// <summary>Largest number of heads.</summary>
    public const int MaxHeads = 256;
    /// <summary>Largest d_ff.</summary>
    public const int MaxFeedForward = 65_536;
    /// <summary>Most encoder (and, separately, decoder) layers.</summary>
    public const int MaxLayers = 128;
    /// <summary>Largest vocab_size.</summary>
    public const int MaxVocabSize = 1_000_000;
    /// <summary>Most parameters in all (weights alone; training holds about four times as many floats).</summary>
    public const long MaxParameters = 1_000_000_000;

    /// <summary>
    /// Checks every size before anything is allocated: positive, consistent, and within the limits above, so a
    /// config.json with an absurd value is one clear line instead of a failed allocation.
    /// </summary>
    public void Validate()
    {
        static void Check(bool ok, string message) { if (!ok) throw new AttnScopeException($"invalid model config: {message}"); }
        Check(VocabSize >= 5, $"vocab_size {VocabSize} must be at least 5");
        Check(VocabSize <= MaxVocabSize, $"vocab_size {VocabSize} is more than the {MaxVocabSize} AttnScope supports");
        Check(Dim >= 2 && Dim % 2 == 0, $"d_model {Dim} must be a positive even number");
        Check(Dim <= MaxDim, $"d_model {Dim} is more than the {MaxDim} AttnScope supports");
        Check(Heads >= 1 && Dim % Heads == 0, $"d_model {Dim} must be divisible by heads ({Heads})");
        Check(Heads <= MaxHeads, $"heads {Heads} is more than the {MaxHeads} AttnScope supports");
        Check(FeedForward >= 1, $"d_ff {FeedForward} must be positive");
        Check(FeedForward <= MaxFeedForward, $"d_ff {FeedForward} is more than the {MaxFeedForward} AttnScope supports");
        Check(EncoderLayers >= 1 && DecoderLayers >= 1, "there must be at least one encoder and one decoder layer");
        Check(EncoderLayers <= MaxLayers && DecoderLayers <= MaxLayers, $"{EncoderLayers} encoder and {DecoderLayers} decoder layers: at most {MaxLayers} each");
        Check(MaxLength >= 2, $"max_length {MaxLength} must be at least 2");
        Check(MaxLength <= MaxMaxLength, $"max_length {MaxLength} is more than the {MaxMaxLength} AttnScope supports");
        Check(Dropout >= 0 && Dropout < 1, $"dropout {Dropout} must be in [0, 1)");
        long parameters = EstimatedParameters();
        Check(parameters <= MaxParameters, $"about {parameters:N0} parameters, more than the {MaxParameters:N0} AttnScope trains");
    }

    /// <summary>Parameters of a model of this shape (weights and biases, within a few per cent), without building it.</summary>
    public long EstimatedParameters()
    {
        long d = Dim, ff = FeedForward, v = VocabSize;
        long embeddings = (SharedEmbeddings ? 1 : 3) * v * d + (LearnedPositions ? 2L * MaxLength * d : 0);
        long encoder = EncoderLayers * (4 * d * d + 2 * d * ff);
        long decoder = DecoderLayers * (8 * d * d + 2 * d * ff);
        return embeddings + encoder + decoder;
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}
