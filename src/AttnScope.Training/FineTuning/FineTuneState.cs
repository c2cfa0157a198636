using System.Text.Json;
using System.Text.Json.Serialization;
using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Training.Training;

namespace AttnScope.Training.FineTuning;

/// <summary>
/// finetune.json of a fine-tuned Marian or T5 folder: where the weights came from, the corpus and its split, the settings,
/// and where training stands (written after the weights and the optimizer state, so it always describes them).
/// </summary>
internal sealed record FineTuneState
{
    public const string FileName = "finetune.json";
    public const string Format = "attnscope.marian-finetune/1";

    [JsonPropertyName("format")] public string FormatId { get; init; } = Format;
    /// <summary>The folder (or hf: name) the fine-tuning started from.</summary>
    [JsonPropertyName("init")] public required string Init { get; init; }
    [JsonPropertyName("corpus")] public required string Corpus { get; init; }
    [JsonPropertyName("source_language")] public string SourceLanguage { get; init; } = "en";
    [JsonPropertyName("target_language")] public string TargetLanguage { get; init; } = "de";
    [JsonPropertyName("training")] public required TrainingOptions Training { get; init; }
    [JsonPropertyName("data")] public required DataOptions Data { get; init; }
    [JsonPropertyName("dropout")] public float Dropout { get; init; }
    /// <summary>Text put before every source, in training and evaluation (T5's task prefix; empty for Marian).</summary>
    [JsonPropertyName("source_prefix")] public string SourcePrefix { get; init; } = "";
    [JsonPropertyName("step")] public long Step { get; init; }
    [JsonPropertyName("epoch")] public int Epoch { get; init; }
    [JsonPropertyName("batch_in_epoch")] public int BatchInEpoch { get; init; }
    [JsonPropertyName("tokens_seen")] public long TokensSeen { get; init; }
    [JsonPropertyName("elapsed_seconds")] public double ElapsedSeconds { get; init; }
    /// <summary>Mean smoothed loss of the last logged step.</summary>
    [JsonPropertyName("last_loss")] public double LastLoss { get; init; }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static bool Exists(string folder) => File.Exists(Path.Combine(folder, FileName));

    public void Save(string folder) =>
        AtomicFile.WriteAllBytes(Path.Combine(folder, FileName), JsonSerializer.SerializeToUtf8Bytes(this, Json));

    public static FineTuneState Load(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) throw new AttnScopeException($"'{folder}' has no {FileName}: not a folder made by 'attnscope train --init'");
        FineTuneState? s;
        try { s = JsonSerializer.Deserialize<FineTuneState>(File.ReadAllText(path)); }
        catch (JsonException e) { throw new AttnScopeException($"{path} is not valid: {e.Message}"); }
        if (s is null || s.FormatId != Format) throw new AttnScopeException($"{path} is not a {Format} file");
        s.Training.Validate();
        s.Data.Validate();
        if (s.Step < 0 || s.Epoch < 0 || s.BatchInEpoch < 0) throw new AttnScopeException($"{path}: negative step counts");
        return s;
    }
}
