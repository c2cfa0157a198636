namespace AttnScope.Sources.Tokenization;

/// <summary>Sizes checked before anything is allocated from a tokenizer file's declarations.</summary>
internal static class TokenizerLimits
{
    /// <summary>Largest tokenizer file read (tokenizer.json, vocab.json, merges.txt, tokenizer.model): 256 MiB.</summary>
    public const long MaxFileBytes = 256L * 1024 * 1024;
    /// <summary>Most token ids (vocabulary entries plus added tokens) a tokenizer may declare: 4,000,000.</summary>
    public const int MaxVocabulary = 4_000_000;
    /// <summary>Most merge rules a BPE tokenizer may declare: 4,000,000.</summary>
    public const int MaxMerges = 4_000_000;

    internal static void CheckFileSize(string path)
    {
        var length = new FileInfo(path).Length;
        if (length > MaxFileBytes)
            throw new Capture.AttnScopeException($"'{path}' is {length:N0} bytes; tokenizer files over {MaxFileBytes / (1024 * 1024)} MiB are refused");
    }
}
