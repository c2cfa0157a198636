namespace AttnScope.Sources.Models;

/// <summary>Where a named model's files are on disk, once resolved (and downloaded or extracted if needed).</summary>
internal sealed record ModelFiles
{
    /// <summary>The name the user gave (<c>minilm</c>, a path, <c>hf:org/name@rev</c>).</summary>
    public required string Id { get; init; }
    /// <summary>config.json, when there is one.</summary>
    public string? ConfigPath { get; init; }
    /// <summary>model.safetensors, for folder and Hub models.</summary>
    public string? SafetensorsPath { get; init; }
    /// <summary>model.safetensors.index.json of a sharded checkpoint (when there is no model.safetensors).</summary>
    public string? SafetensorsIndexPath { get; init; }
    /// <summary>model.onnx, for the embedded model, .onnx paths, and folders that hold one.</summary>
    public string? OnnxPath { get; init; }
    /// <summary>vocab.txt (BERT WordPiece).</summary>
    public string? VocabPath { get; init; }
    /// <summary>tokenizer.json (Hugging Face tokenizers: WordPiece or BPE).</summary>
    public string? TokenizerJsonPath { get; init; }
    /// <summary>vocab.json (GPT-2 byte-level BPE vocabulary; read with <see cref="MergesPath"/>).</summary>
    public string? VocabJsonPath { get; init; }
    /// <summary>merges.txt (GPT-2 BPE merge rules).</summary>
    public string? MergesPath { get; init; }
    /// <summary>tokenizer.model (SentencePiece model: Llama 2, Mistral).</summary>
    public string? SentencePieceModelPath { get; init; }
    /// <summary>tokenizer_config.json (do_lower_case, add_bos_token, bos/eos tokens), when present.</summary>
    public string? TokenizerConfigPath { get; init; }
    /// <summary>A config known without a file (the embedded model).</summary>
    public BertConfig? BuiltInConfig { get; init; }

    /// <summary>Whether some tokenizer file is known (vocab.txt, tokenizer.json, vocab.json with merges.txt, tokenizer.model).</summary>
    public bool HasTokenizer =>
        VocabPath is not null || TokenizerJsonPath is not null || (VocabJsonPath is not null && MergesPath is not null) || SentencePieceModelPath is not null;
}
