using AttnScope.Sources.Tokenization;
using AttnScope.Tests.Support;
using T = AttnScope.Tests.Tokenization.TinySentencePieceJson;

namespace AttnScope.Tests.Tokenization;

/// <summary>A tokenizer.model read through Microsoft.ML.Tokenizers' LlamaTokenizer, with offsets found by walking its pieces.</summary>
public class SentencePieceModelTests
{
    private static BpeTextEncoder Load(TempDir dir)
    {
        File.WriteAllBytes(dir.File("tokenizer.model"), TinySentencePieceModel.Bytes());
        return BpeTextEncoder.FromSentencePieceModel(dir.File("tokenizer.model"), 64);
    }

    [Theory]
    [InlineData("hello world")]
    [InlineData("hello é world")]
    [InlineData("  world  hello 🎉")]
    [InlineData("hello</s>world")]
    public void TheModelAgreesWithTheSameTokenizerJsonAndKeepsOffsets(string text)
    {
        using var dir = new TempDir();
        var model = Load(dir);
        var json = BpeTextEncoder.FromTokenizerJson(T.Write(dir.File("tokenizer.json")), 64);
        var e = model.Encode(text);
        Assert.Equal(json.Encode(text).Ids, e.Ids);
        Assert.Equal(T.Bos, e.Ids[0]);
        OffsetChecks.CoverTheText(e, text, text.Contains("</s>") ? text.Replace("</s>", "") : null);
        // Text after an added token got its own "▁", which decodes as a space.
        Assert.Equal(text.Replace("</s>", " "), model.Decode(e.Ids, skipSpecialTokens: true));
    }

    [Fact]
    public void HelloWorldGivesTheHandAssignedIds()
    {
        using var dir = new TempDir();
        var e = Load(dir).Encode("hello world");
        Assert.Equal(new[] { T.Bos, T.Id("▁hello"), T.Id("▁world") }, e.Ids);
        Assert.Equal((" world", 5, 11), (e.Tokens[2].Text, e.Tokens[2].Start, e.Tokens[2].End));
    }
}
