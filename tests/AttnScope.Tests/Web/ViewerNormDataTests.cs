using AttnScope.Analyses.Norms;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Web.Data;

namespace AttnScope.Tests.Web;

/// <summary>The norm-based sections the viewer reads: from the capture's own analysis when it has one (which may
/// carry the values through the output projection), else from the value vectors; absent without either.</summary>
public sealed class ViewerNormDataTests
{
    private static float[] Floats(byte[] b) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(b).ToArray();

    [Fact]
    public void StoredNormAnalysisIsServedAsStoredAndValueVectorsOtherwise()
    {
        var cap = SyntheticCaptures.Encoder(2, 3, 6, seed: 3, qkv: true);
        var plain = new ViewerData(cap, "t");
        Assert.Equal(("value", "value"), plain.NormSource(AttentionStack.Encoder));
        var fromValues = NormAttention.Compute(cap).Norms;
        Assert.Equal(fromValues.Slice(1, 2).ToArray(), Floats(plain.Section("normx/encoder/1/2")));
        Assert.Contains("norm/encoder/1", plain.SectionNames(includeExact: false));
        Assert.DoesNotContain("normx/encoder/1/0", plain.SectionNames(includeExact: false));

        // With the output projection the norms differ from the value norms: the stored ones are what the page gets.
        var rng = new Random(9);
        var wo = Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, 12 * 12).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray()).ToList();
        var stored = NormAttention.Compute(cap, AttentionStack.Encoder, wo);
        var data = new ViewerData(cap.WithAnalyses([stored.ToAnalysis()]), "t");
        Assert.Equal(("analysis", "value_output"), data.NormSource(AttentionStack.Encoder));
        var served = Floats(data.Section("normx/encoder/1/2"));
        Assert.Equal(stored.Norms.Slice(1, 2).ToArray(), served);
        Assert.NotEqual(fromValues.Slice(1, 2).ToArray(), served);
        var meta = data.Meta("inline")["stacks"]![0]!["norm"]!;
        Assert.Equal("value_output", (string)meta["vectors"]!);
    }

    [Fact]
    public void WithoutValuesThereIsNoNormSectionAndAskingIsAUserError()
    {
        var data = new ViewerData(SyntheticCaptures.Encoder(2, 2, 5), "t");
        Assert.Null(data.NormSource(AttentionStack.Encoder));
        Assert.Null(data.Meta("inline")["stacks"]![0]!["norm"]);
        Assert.DoesNotContain(data.SectionNames(true), n => n.StartsWith("norm", StringComparison.Ordinal));
        Assert.Throws<SectionNotFoundException>(() => data.Section("norm/encoder/0"));
        Assert.Throws<SectionNotFoundException>(() => data.Section("normx/encoder/0/9"));
    }
}
