using System.Text.Json;
using System.Text.Json.Serialization;
using AttnScope.Capture;
using AttnScope.Training.Model;
using AttnScope.Training.Training;

namespace AttnScope.Training.Checkpoints;

/// <summary>A run folder's config.json: model shape, training options, languages and the corpus it came from.</summary>
internal sealed record RunConfig
{
    public const string FormatId = "attnscope.translation/1";

    [JsonPropertyName("format")] public string Format { get; init; } = FormatId;
    [JsonPropertyName("architecture")] public string Architecture { get; init; } = "encoder-decoder";
    [JsonPropertyName("model")] public TransformerConfig Model { get; init; } = new();
    [JsonPropertyName("training")] public TrainingOptions Training { get; init; } = new();
    [JsonPropertyName("source_language")] public string SourceLanguage { get; init; } = "en";
    [JsonPropertyName("target_language")] public string TargetLanguage { get; init; } = "de";
    /// <summary>"builtin" or the path the corpus was read from.</summary>
    [JsonPropertyName("corpus")] public string Corpus { get; init; } = "builtin";
    /// <summary>The sentence captured at every checkpoint (attention learning to align).</summary>
    [JsonPropertyName("probe")] public string Probe { get; init; } = "";
    /// <summary>The probe's reference translation, force-decoded so every probe capture has the same axes.</summary>
    [JsonPropertyName("probe_target")] public string ProbeTarget { get; init; } = "";
    /// <summary>Corpus filters, validation file and how the held-out pairs were chosen; null in runs made before it existed.</summary>
    [JsonPropertyName("data")] public DataOptions? Data { get; init; }
    /// <summary>Fuzzy repair (source + separator + the best match's translation); null: plain sources.</summary>
    [JsonPropertyName("fuzzy")] public Fuzzy.FuzzyOptions? Fuzzy { get; init; }
    /// <summary>The BERT vocab.txt the run was trained with (--vocab: "minilm" or the path given); null: a learned vocabulary.
    /// Either way the run's own vocab.txt holds the pieces it uses.</summary>
    [JsonPropertyName("vocab")] public string? Vocab { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, TransformerConfig.JsonOptions);

    public static RunConfig FromJson(string json, string path)
    {
        RunConfig? config;
        try { config = JsonSerializer.Deserialize<RunConfig>(json); }
        catch (JsonException e) { throw new AttnScopeException($"'{path}' is not a valid run config: {e.Message}"); }
        if (config is null) throw new AttnScopeException($"'{path}' is empty");
        // JSON null is accepted by the serializer for any reference-typed field; none of these may be null.
        if (config.Model is null || config.Training is null)
            throw new AttnScopeException($"'{path}' is not a valid run config: \"{(config.Model is null ? "model" : "training")}\" must be an object, not null");
        foreach (var (name, value) in new[] { ("format", config.Format), ("architecture", config.Architecture), ("source_language", config.SourceLanguage),
                     ("target_language", config.TargetLanguage), ("corpus", config.Corpus), ("probe", config.Probe), ("probe_target", config.ProbeTarget) })
            if (value is null) throw new AttnScopeException($"'{path}' is not a valid run config: \"{name}\" must be a string, not null");
        if (config.Format != FormatId)
            throw new AttnScopeException($"'{path}' has format '{config.Format}', expected {FormatId}");
        config.Model.Validate();
        config.Training.Validate();
        config.Data?.Validate();
        config.Fuzzy?.Validate();
        return config;
    }
}
