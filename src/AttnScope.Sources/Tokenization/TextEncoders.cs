using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Sources.Models;

namespace AttnScope.Sources.Tokenization;

/// <summary>Picks and loads the tokenizer of a model folder.</summary>
internal static class TextEncoders
{
    /// <summary>
    /// Loads the model's tokenizer, trying in order: vocab.txt (BERT WordPiece, as before); tokenizer.json, by its
    /// model.type (WordPiece → <see cref="WordPieceTextEncoder"/>, BPE → <see cref="BpeTextEncoder"/>); vocab.json with
    /// merges.txt (GPT-2); tokenizer.model (SentencePiece, Llama 2 / Mistral). tokenizer_config.json, when present,
    /// decides BOS/EOS and lower-casing.
    /// </summary>
    /// <param name="files">The resolved model files.</param>
    /// <param name="maxLength">The model's context size: inputs are cut to this many tokens.</param>
    /// <param name="lowerCase">WordPiece only: lower-case the text (null: as the files say, else true).</param>
    public static ITextEncoder Load(ModelFiles files, int maxLength, bool? lowerCase = null)
    {
        var config = TokenizerConfig.Read(files.TokenizerConfigPath);
        if (files.VocabPath is not null)
            return WordPieceTextEncoder.FromVocabFile(files.VocabPath, lowerCase ?? config.DoLowerCase ?? true, maxLength);
        if (files.TokenizerJsonPath is not null)
        {
            return ModelType(files.TokenizerJsonPath) == "WordPiece"
                ? WordPieceTextEncoder.FromTokenizerJson(files.TokenizerJsonPath, lowerCase ?? config.DoLowerCase, maxLength)
                : BpeTextEncoder.FromTokenizerJson(files.TokenizerJsonPath, maxLength, config);
        }
        if (files.VocabJsonPath is not null && files.MergesPath is not null)
            return BpeTextEncoder.FromVocabAndMerges(files.VocabJsonPath, files.MergesPath, maxLength, config);
        if (files.SentencePieceModelPath is not null)
            return BpeTextEncoder.FromSentencePieceModel(files.SentencePieceModelPath, maxLength, config);
        if (files.VocabJsonPath is not null)
            throw new AttnScopeException($"model '{files.Id}' has vocab.json but no merges.txt beside it: both are needed for a GPT-2 style tokenizer");
        throw new AttnScopeException($"model '{files.Id}' has no tokenizer (vocab.txt, tokenizer.json, vocab.json with merges.txt, or tokenizer.model)");
    }

    /// <summary>model.type of a tokenizer.json ("WordPiece", "BPE", ...), read without loading the vocabulary.</summary>
    public static string? ModelType(string tokenizerJsonPath)
    {
        if (!File.Exists(tokenizerJsonPath)) throw new AttnScopeException($"tokenizer file not found: '{tokenizerJsonPath}'");
        TokenizerLimits.CheckFileSize(tokenizerJsonPath);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(tokenizerJsonPath));
            return doc.RootElement.ValueKind == JsonValueKind.Object &&
                   doc.RootElement.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.Object &&
                   m.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        }
        catch (JsonException e)
        {
            throw new AttnScopeException($"'{tokenizerJsonPath}' is not valid JSON: {e.Message}");
        }
    }
}
