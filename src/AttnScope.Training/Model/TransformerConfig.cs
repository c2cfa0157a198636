using System.Text.Json;
using System.Text.Json.Serialization;
using AttnScope.Capture;

namespace AttnScope.Training.Model;

/// <summary>Shape of an encoder-decoder Transformer. Saved as the "model" object of a run folder's config.json.</summary>
public sealed record TransformerConfig
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

    public void Validate()
    {
        static void Check(bool ok, string message) { if (!ok) throw new AttnScopeException($"invalid model config: {message}"); }
        Check(VocabSize >= 5, $"vocab_size {VocabSize} must be at least 5");
        Check(Dim >= 2 && Dim % 2 == 0, $"d_model {Dim} must be a positive even number");
        Check(Heads >= 1 && Dim % Heads == 0, $"d_model {Dim} must be divisible by heads ({Heads})");
        Check(FeedForward >= 1, $"d_ff {FeedForward} must be positive");
        Check(EncoderLayers >= 1 && DecoderLayers >= 1, "there must be at least one encoder and one decoder layer");
        Check(MaxLength >= 2, $"max_length {MaxLength} must be at least 2");
        Check(Dropout >= 0 && Dropout < 1, $"dropout {Dropout} must be in [0, 1)");
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}
