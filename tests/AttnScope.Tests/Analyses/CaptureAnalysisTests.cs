using System.Text;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Analyses;

/// <summary>The capture's generic storage of analyses: round trip, replacement, and hostile files.</summary>
public class CaptureAnalysisTests
{
    [Fact]
    public void Analyses_round_trip_and_a_second_one_with_the_same_name_replaces_the_first()
    {
        using var dir = new TempDir();
        var cap = SyntheticCaptures.Encoder(1, 1, 3);
        var a = new CaptureAnalysis("encoder.custom", new FloatTensor([3], [1, 2, 3]), new JsonObject { ["note"] = "<b>x</b>" });
        var b = new CaptureAnalysis("encoder.custom", new FloatTensor([3], [4, 5, 6]));
        var both = cap.WithAnalyses([a]).WithAnalyses([b, new CaptureAnalysis("other", new FloatTensor([1, 1], [7]))]);
        both.Save(dir.File("c.safetensors"));
        var back = AttentionCapture.Load(dir.File("c.safetensors"));
        Assert.Equal([4f, 5f, 6f], back.Analysis("encoder.custom")!.Tensor.Data);
        Assert.Equal([7f], back.Analysis("other")!.Tensor.Data);
        Assert.Equal(2, back.Analyses.Count);
        Assert.Empty(cap.Analyses);
        Assert.Equal(cap.Stacks[AttentionStack.Encoder].Attention.Data, back.Stacks[AttentionStack.Encoder].Attention.Data);
    }

    [Theory]
    [InlineData("Bad.Name")]
    [InlineData("../x")]
    [InlineData("")]
    [InlineData("a..b")]
    public void Invalid_names_are_refused(string name) =>
        Assert.Contains("not valid", Assert.Throws<AttnScopeException>(() => new CaptureAnalysis(name, new FloatTensor([1]))).Message);

    [Fact]
    public void Non_finite_values_and_bad_ranks_are_refused()
    {
        Assert.Contains("finite", Assert.Throws<AttnScopeException>(() => new CaptureAnalysis("x", new FloatTensor([1], [float.NaN]))).Message);
        Assert.Contains("1 to 4", Assert.Throws<AttnScopeException>(() => new CaptureAnalysis("x", new FloatTensor([1, 1, 1, 1, 1]))).Message);
    }

    [Fact]
    public void A_file_with_malformed_analysis_metadata_or_tensors_gets_a_clear_error()
    {
        var cap = SyntheticCaptures.Encoder(1, 1, 3).WithAnalyses([new CaptureAnalysis("encoder.x", new FloatTensor([2], [1, 2]))]);
        var bytes = cap.ToBytes();
        var text = Encoding.UTF8.GetString(bytes);
        // Break the analyses metadata (a JSON string inside the header) without changing the header length.
        var broken = Replace(bytes, "\\u0022encoder.x\\u0022:{}", "\\u0022encoder.x\\u0022:13");
        Assert.Contains("analyses", Assert.Throws<AttnScopeException>(() => AttentionCapture.FromBytes(broken)).Message);
        var badName = Replace(bytes, "analysis.encoder.x", "analysis.encoder.X");
        Assert.Contains("not valid", Assert.Throws<AttnScopeException>(() => AttentionCapture.FromBytes(badName)).Message);
        Assert.Contains("encoder.x", text);
    }

    private static byte[] Replace(byte[] bytes, string from, string to)
    {
        Assert.Equal(from.Length, to.Length);
        var s = Encoding.Latin1.GetString(bytes);
        int at = s.IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{from}' not in the header");
        var copy = (byte[])bytes.Clone();
        Encoding.Latin1.GetBytes(to).CopyTo(copy, at);
        return copy;
    }
}
