using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Web.Data;

namespace AttnScope.Tests.Web;

/// <summary>The generation-step frames and grouped-query heads of the viewer's meta JSON.</summary>
public class GenerationStepMetaTests
{
    [Fact]
    public void GenerationStepsRevealDecoderRowsFromTheLastPromptToken()
    {
        var cap = GenerationCaptures.Gpt2Like();
        var meta = new ViewerData(cap, "g").Meta("inline");
        var steps = meta["steps"]!.AsArray();
        int n = cap.Tokens.Count, p = 4;
        Assert.Equal(n - p + 1, steps.Count);
        Assert.Equal(Enumerable.Range(p - 1, n - p + 1), steps.Select(s => (int)s!["step"]!));
        Assert.All(steps, s => Assert.Equal("decoder", (string)s!["stack"]!));
        Assert.All(steps, s => Assert.True((bool)s!["causal"]!));
        for (int t = 0; t + 1 < steps.Count; t++)
        {
            Assert.Equal($"step {t + 1}: produced '{cap.Tokens[p + t].Text}'", (string)steps[t]!["caption"]!);
            Assert.Equal(cap.Tokens[p + t].Text, (string)steps[t]!["produced"]!);
        }
        Assert.Null(steps[^1]!["produced"]);
        Assert.StartsWith($"step {steps.Count}: read '.'", (string)steps[^1]!["caption"]!);
        Assert.Equal(2, meta["frames"]!.AsArray().Count); // layer frames unchanged
        Assert.Null(meta["stacks"]![0]!["kvHeads"]);
    }

    [Fact]
    public void NoGenerationNoStepsAndKvHeadsReachTheStack()
    {
        var meta = new ViewerData(GenerationCaptures.Gpt2Like(heads: 8, kvHeads: 2, generation: false), "g").Meta("inline");
        Assert.Empty(meta["steps"]!.AsArray());
        Assert.Equal(2, (int)meta["stacks"]![0]!["kvHeads"]!);
    }

    [Fact]
    public void BadGenerationMetadataIsAUserError()
    {
        var cap = GenerationCaptures.Gpt2Like();
        var extra = new Dictionary<string, string>(cap.Metadata.Extra) { [GenerationInfo.PromptTokensKey] = "99" };
        var bad = new AttentionCapture(new CaptureMetadata { Extra = extra }, cap.Tokens, cap.Stacks.Values);
        Assert.Throws<AttnScopeException>(() => new ViewerData(bad, "g").Meta("inline"));
    }
}
