using AttnScope.Capture;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Tokenization;

/// <summary>Malformed or hostile tokenizer files give one clear <see cref="AttnScopeException"/> naming the file.</summary>
public class HostileTokenizerFileTests
{
    private const string Merges = "[\"a b\"]";
    private static string Json(string vocab = "{\"a\": 0, \"b\": 1, \"ab\": 2}", string merges = Merges, string added = "[]", string extraModel = "") =>
        "{\"added_tokens\": " + added + ", \"normalizer\": null, \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false}, " +
        "\"model\": {\"type\": \"BPE\", \"vocab\": " + vocab + (merges.Length > 0 ? ", \"merges\": " + merges : "") + extraModel + "}}";

    private static AttnScopeException Refused(string content, params string[] expected)
    {
        using var dir = new TempDir();
        var path = dir.File("tokenizer.json");
        File.WriteAllText(path, content);
        var before = GC.GetTotalAllocatedBytes();
        var e = Assert.Throws<AttnScopeException>(() => BpeTextEncoder.FromTokenizerJson(path, 128));
        Assert.True(GC.GetTotalAllocatedBytes() - before < 64L * 1024 * 1024, "refusing a small file must not allocate much");
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        foreach (var x in expected) Assert.Contains(x, e.Message);
        return e;
    }

    [Fact]
    public void AHugeTokenIdIsRefusedBeforeAllocating() => Refused(Json(vocab: "{\"a\": 0, \"b\": 3000000, \"ab\": 2}"), "3000000", "outside 0..2");

    [Fact]
    public void AHugeAddedTokenIdIsRefused() =>
        Refused(Json(added: "[{\"id\": 3000000, \"content\": \"<s>\", \"special\": true}]"), "3000000", "<s>");

    [Fact]
    public void ANegativeOrFractionalIdIsRefused()
    {
        Refused(Json(vocab: "{\"a\": -1, \"b\": 1, \"ab\": 2}"), "-1");
        Refused(Json(vocab: "{\"a\": 0.5, \"b\": 1, \"ab\": 2}"), "0.5", "whole number");
    }

    [Fact]
    public void MissingMergesAreRefused() => Refused(Json(merges: ""), "model.merges is missing");

    [Fact]
    public void WrongJsonTypesAreRefused()
    {
        Refused(Json(vocab: "[\"a\", \"b\"]"), "model.vocab is an array, expected an object");
        Refused(Json(vocab: "{\"a\": \"0\", \"b\": 1, \"ab\": 2}"), "\"a\"", "a string");
        Refused(Json(merges: "[42]"), "model.merges[0]", "a number");
        Refused(Json(merges: "\"a b\""), "model.merges is a string, expected an array");
        Refused(Json(added: "{}"), "added_tokens is an object");
        Refused("[1, 2, 3]", "not a JSON object");
        Refused("{\"model\": {\"type\": \"BPE\"", "not valid JSON");
    }

    [Fact]
    public void MergesMustUseVocabularyTokens()
    {
        Refused(Json(merges: "[\"a c\"]"), "model.merges[0]", "\"c\"", "not in the vocabulary");
        Refused(Json(merges: "[\"a b c\"]"), "not two tokens");
    }

    [Fact]
    public void DuplicateIdsAndUnsupportedSetupsAreRefused()
    {
        Refused(Json(vocab: "{\"a\": 0, \"b\": 0, \"ab\": 2}"), "id 0 to more than one token");
        Refused(Json().Replace("\"ByteLevel\"", "\"Whitespace\""), "\"Whitespace\"", "supported");
        Refused(Json().Replace("\"BPE\"", "\"Unigram\""), "\"Unigram\"");
        Refused(Json().Replace("{\"type\": \"ByteLevel\", \"add_prefix_space\": false}", "null"), "neither a ByteLevel");
        Refused(Json().Replace("{\"type\": \"ByteLevel\", \"add_prefix_space\": false}",
            "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}"), "pre_tokenizer.pattern", "regex");
    }

    [Fact]
    public void BadMergesTxtAndVocabJsonAreRefused()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("vocab.json"), "{\"a\": 0, \"b\": 1, \"ab\": 2}");
        File.WriteAllText(dir.File("merges.txt"), "#version: 0.2\na b\nab\n");
        var e = Assert.Throws<AttnScopeException>(() => BpeTextEncoder.FromVocabAndMerges(dir.File("vocab.json"), dir.File("merges.txt"), 16));
        Assert.Contains(dir.File("merges.txt"), e.Message);
        Assert.Contains("line 3", e.Message);
        File.WriteAllText(dir.File("vocab.json"), "{\"a\": 0, \"b\": 7000000}");
        e = Assert.Throws<AttnScopeException>(() => BpeTextEncoder.FromVocabAndMerges(dir.File("vocab.json"), dir.File("merges.txt"), 16));
        Assert.Contains("7000000", e.Message);
    }

    [Fact]
    public void ABadTokenizerConfigIsRefused()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("tokenizer_config.json"), "{\"add_bos_token\": \"yes\"}");
        var e = Assert.Throws<AttnScopeException>(() => TokenizerConfig.Read(dir.File("tokenizer_config.json")));
        Assert.Contains("add_bos_token", e.Message);
        File.WriteAllText(dir.File("tokenizer_config.json"), "{\"added_tokens_decoder\": {\"99999999\": {\"content\": \"x\"}}}");
        e = Assert.Throws<AttnScopeException>(() => TokenizerConfig.Read(dir.File("tokenizer_config.json")));
        Assert.Contains("99999999", e.Message);
    }

    [Fact]
    public void ANonSentencePieceTokenizerModelIsRefused()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("tokenizer.model"), [0xFF, 0xFF, 0xFF, 0x01, 0x02]);
        var e = Assert.Throws<AttnScopeException>(() => BpeTextEncoder.FromSentencePieceModel(dir.File("tokenizer.model"), 16));
        Assert.Contains(dir.File("tokenizer.model"), e.Message);
    }

    [Fact]
    public void VocabJsonWithoutMergesIsNamed()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("vocab.json"), "{\"a\": 0}");
        var e = Assert.Throws<AttnScopeException>(() => TextEncoders.Load(new ModelFiles { Id = "m", VocabJsonPath = dir.File("vocab.json") }, 16));
        Assert.Contains("merges.txt", e.Message);
    }
}
