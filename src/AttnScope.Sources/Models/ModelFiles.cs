namespace AttnScope.Sources.Models;

/// <summary>Where a named model's files are on disk, once resolved (and downloaded or extracted if needed).</summary>
public sealed record ModelFiles
{
    /// <summary>The name the user gave (<c>minilm</c>, a path, <c>hf:org/name@rev</c>).</summary>
    public required string Id { get; init; }
    /// <summary>config.json, when there is one.</summary>
    public string? ConfigPath { get; init; }
    /// <summary>model.safetensors, for folder and Hub models.</summary>
    public string? SafetensorsPath { get; init; }
    /// <summary>model.onnx, for the embedded model, .onnx paths, and folders that hold one.</summary>
    public string? OnnxPath { get; init; }
    public string? VocabPath { get; init; }
    public string? TokenizerJsonPath { get; init; }
    /// <summary>tokenizer_config.json (do_lower_case), when present.</summary>
    public string? TokenizerConfigPath { get; init; }
    /// <summary>A config known without a file (the embedded model).</summary>
    public BertConfig? BuiltInConfig { get; init; }
}
