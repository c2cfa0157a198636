using System.Text.Json;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Tokenization;

/// <summary>A model folder's tokenizer files are found by the resolver and <see cref="TextEncoders.Load"/> picks the right encoder.</summary>
public class TextEncoderLoadingTests
{
    private static void WriteModelStub(TempDir dir)
    {
        File.WriteAllText(dir.File("config.json"), "{}");
        File.WriteAllBytes(dir.File("model.safetensors"), []);
    }

    [Fact]
    public void AGpt2FolderWithVocabJsonAndMergesLoadsByteLevelBpe()
    {
        using var dir = new TempDir();
        WriteModelStub(dir);
        File.Copy(Gpt2Files.VocabJson, dir.File("vocab.json"));
        File.Copy(Gpt2Files.MergesTxt, dir.File("merges.txt"));
        var files = ModelResolver.Resolve(dir.Path);
        Assert.Equal(Path.GetFullPath(dir.File("vocab.json")), files.VocabJsonPath);
        Assert.Equal(Path.GetFullPath(dir.File("merges.txt")), files.MergesPath);
        var tok = Assert.IsType<BpeTextEncoder>(TextEncoders.Load(files, 1024));
        Assert.Equal(new[] { 15496, 995 }, tok.Encode("Hello world").Ids);
        Assert.Equal(1024, tok.MaxLength);
    }

    [Fact]
    public void ABpeTokenizerJsonLoadsBpeAndTheConfigDecidesBos()
    {
        using var dir = new TempDir();
        WriteModelStub(dir);
        TinySentencePieceJson.Write(dir.File("tokenizer.json"));
        File.WriteAllText(dir.File("tokenizer_config.json"), "{\"add_bos_token\": false}");
        var tok = TextEncoders.Load(ModelResolver.Resolve(dir.Path), 32);
        Assert.Equal("SentencePiece BPE", tok.Kind);
        Assert.Equal(new[] { TinySentencePieceJson.Id("▁hello") }, tok.Encode("hello").Ids);
    }

    [Fact]
    public void AWordPieceTokenizerJsonStillLoadsWordPiece()
    {
        using var dir = new TempDir();
        WriteModelStub(dir);
        var vocab = new Dictionary<string, int> { ["[PAD]"] = 0, ["[UNK]"] = 1, ["[CLS]"] = 2, ["[SEP]"] = 3, ["the"] = 4, ["cat"] = 5 };
        File.WriteAllText(dir.File("tokenizer.json"), JsonSerializer.Serialize(new { model = new { type = "WordPiece", vocab } }));
        var tok = Assert.IsType<WordPieceTextEncoder>(TextEncoders.Load(ModelResolver.Resolve(dir.Path), 16));
        Assert.Equal(new[] { 2, 4, 5, 3 }, tok.Encode("The cat").Ids);
        Assert.True(tok.AcceptsPairs);
        Assert.True(tok.IsSpecial(2));
        Assert.Equal("the cat", tok.Decode(tok.Encode("The cat").Ids, skipSpecialTokens: true));
    }

    [Fact]
    public void AFolderWithOnlyATokenizerModelResolves()
    {
        using var dir = new TempDir();
        WriteModelStub(dir);
        File.WriteAllBytes(dir.File("tokenizer.model"), TinySentencePieceModel.Bytes());
        var files = ModelResolver.Resolve(dir.Path);
        Assert.Equal(Path.GetFullPath(dir.File("tokenizer.model")), files.SentencePieceModelPath);
        var tok = TextEncoders.Load(files, 32);
        Assert.Equal("SentencePiece BPE", tok.Kind);
    }
}
