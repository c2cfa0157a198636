using AttnScope.Capture;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Capture;

/// <summary>Reading a generation (generation.prompt_tokens, strategy, stop) and grouped-query heads (kv_heads) from a capture's metadata.</summary>
public class GenerationMetadataTests
{
    private static AttentionCapture WithExtra(AttentionCapture cap, string key, string value)
    {
        var extra = new Dictionary<string, string>(cap.Metadata.Extra) { [key] = value };
        var meta = new CaptureMetadata { ModelId = cap.Metadata.ModelId, Architecture = cap.Metadata.Architecture, Texts = cap.Metadata.Texts, Extra = extra };
        return new AttentionCapture(meta, cap.Tokens, cap.Stacks.Values, cap.TargetTokens);
    }

    [Fact]
    public void StepsRunFromTheLastPromptRowToTheLastRow()
    {
        var cap = GenerationCaptures.Gpt2Like();
        var g = GenerationInfo.Of(cap)!;
        int n = cap.Tokens.Count, p = 4;
        Assert.Equal(p, g.PromptTokens);
        Assert.Equal(n - p + 1, g.Steps);
        Assert.Equal(Enumerable.Range(p - 1, n - p + 1), Enumerable.Range(0, g.Steps).Select(g.Row));
        Assert.Equal("greedy", g.Strategy);
        // step t produced token P + t; the last step produced nothing
        for (int t = 0; t + 1 < g.Steps; t++)
        {
            Assert.Same(cap.Tokens[p + t], g.Produced(cap.Tokens, t));
            Assert.Equal($"step {t + 1}: produced '{cap.Tokens[p + t].Text}'", g.Caption(cap.Tokens, t));
        }
        Assert.Null(g.Produced(cap.Tokens, g.Steps - 1));
        Assert.Equal($"step {g.Steps}: read '{cap.Tokens[^1].Text}', generation stopped (end of sequence)", g.Caption(cap.Tokens, g.Steps - 1));
        Assert.EndsWith("(max new tokens)", GenerationInfo.Of(GenerationCaptures.Gpt2Like(stop: "max_new"))!.Caption(cap.Tokens, g.Steps - 1));
        // survives a save and load
        Assert.Equal(g, GenerationInfo.Of(AttentionCapture.FromBytes(cap.ToBytes())));
        Assert.Null(GenerationInfo.Of(GenerationCaptures.Gpt2Like(generation: false)));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("9")]
    [InlineData("-1")]
    [InlineData("four")]
    [InlineData("")]
    public void APromptLengthOutOfRangeIsOneClearError(string value)
    {
        var cap = WithExtra(GenerationCaptures.Gpt2Like(), GenerationInfo.PromptTokensKey, value);
        var e = Assert.Throws<AttnScopeException>(() => GenerationInfo.Of(cap));
        Assert.Contains("generation.prompt_tokens", e.Message);
        Assert.Contains("from 1 to 8", e.Message);
    }

    [Fact]
    public void AGenerationOnANonDecoderCaptureIsOneClearError()
    {
        var cap = WithExtra(SyntheticCaptures.Realistic(9), GenerationInfo.PromptTokensKey, "3");
        Assert.Contains("decoder language model", Assert.Throws<AttnScopeException>(() => GenerationInfo.Of(cap)).Message);
    }

    [Fact]
    public void KvHeadsNameTheSharedKeyValueHead()
    {
        var cap = GenerationCaptures.Gpt2Like(heads: 8, kvHeads: 2);
        Assert.Equal(2, KeyValueHeads.Of(cap, AttentionStack.Decoder));
        // query head h reads kv head h / (heads / kv_heads): heads 0-3 kv 0, heads 4-7 kv 1
        Assert.Equal(["head 0 (kv 0)", "head 3 (kv 0)", "head 4 (kv 1)", "head 7 (kv 1)"],
            new[] { 0, 3, 4, 7 }.Select(h => KeyValueHeads.HeadName(h, 8, 2)));
        Assert.Equal("head 5", KeyValueHeads.HeadName(5, 8, null));
        Assert.Null(KeyValueHeads.Of(GenerationCaptures.Gpt2Like(heads: 8), AttentionStack.Decoder));
        Assert.Null(KeyValueHeads.Of(GenerationCaptures.Gpt2Like(heads: 4, kvHeads: 4), AttentionStack.Decoder)); // as many as heads: plain multi-head
        Assert.Contains("does not divide the 8 heads",
            Assert.Throws<AttnScopeException>(() => KeyValueHeads.Of(GenerationCaptures.Gpt2Like(heads: 8, kvHeads: 3), AttentionStack.Decoder)).Message);
        var bad = WithExtra(GenerationCaptures.Gpt2Like(), KeyValueHeads.MetadataKey, "two");
        Assert.Contains("kv_heads is 'two'", Assert.Throws<AttnScopeException>(() => KeyValueHeads.Of(bad, AttentionStack.Decoder)).Message);
    }
}
