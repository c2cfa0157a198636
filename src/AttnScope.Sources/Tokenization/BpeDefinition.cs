namespace AttnScope.Sources.Tokenization;

/// <summary>The two BPE families read: GPT-2 style byte-level, and Llama style SentencePiece ("▁" for spaces, byte fallback).</summary>
internal enum BpeFlavour { ByteLevel, SentencePiece }

/// <summary>A token matched whole in the raw text before anything else (tokenizer.json "added_tokens").</summary>
internal sealed record AddedToken(int Id, string Content, bool Special);

/// <summary>Everything a BPE tokenizer file says, checked and ready for <see cref="BpeTextEncoder"/>.</summary>
internal sealed class BpeDefinition
{
    public required string Origin { get; init; }
    public required BpeFlavour Flavour { get; init; }
    public required Dictionary<string, int> Vocab { get; init; }
    public required List<(string Left, string Right)> Merges { get; init; }
    public List<AddedToken> Added { get; init; } = [];
    public List<NormalizerStep> Normalizers { get; init; } = [];
    public List<PreTokenizerStep> PreTokenizers { get; init; } = [];
    public bool ByteFallback { get; init; }
    public string? UnknownToken { get; init; }
    public bool FuseUnknown { get; init; }
    /// <summary>model.ignore_merges (Llama 3): a piece that is a vocabulary entry as a whole is taken as it is.</summary>
    public bool IgnoreMerges { get; init; }
    /// <summary>The token the file's post-processor puts before the text, when it has a template.</summary>
    public string? TemplateBos { get; init; }
    /// <summary>The token the file's post-processor puts after the text, when it has a template.</summary>
    public string? TemplateEos { get; init; }
    /// <summary>Whether the file has a post-processor template at all (then it, not the family default, decides BOS/EOS).</summary>
    public bool HasTemplate { get; init; }
}
