using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Web.Data;

namespace AttnScope.Tests.Web;

/// <summary>The analyses in the viewer's data: description, 8-bit and exact sections, the offline bundle.</summary>
public class AnalysisDataTests
{
    private static readonly AttentionCapture Capture = AnalysisCaptures.Encoder(10, 3, 4);

    private static float[] Floats(byte[] b) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(b).ToArray();

    [Fact]
    public void RolloutSectionIsWithinHalfAStepOfEveryValueAndExactSectionsAreTheFloats()
    {
        var data = new ViewerData(Capture, "t");
        var joint = Capture.Analysis("encoder.rollout")!.Tensor;
        var bytes = data.Section("an/rollout/encoder");
        int rows = 3 * 10;
        Assert.Equal(rows * 4 + rows * 10, bytes.Length);
        for (int r = 0; r < rows; r++)
        {
            float scale = BitConverter.ToSingle(bytes, r * 4);
            for (int k = 0; k < 10; k++)
                Assert.True(Math.Abs(bytes[rows * 4 + r * 10 + k] * scale / 255f - joint.Data[r * 10 + k]) <= scale / 510f + 1e-7f);
        }
        Assert.Equal(joint.Data.AsSpan(2 * 100, 100).ToArray(), Floats(data.Section("anx/rollout/encoder/2")));
        Assert.Equal(Capture.Analysis("encoder.flow")!.Tensor.Data, Floats(data.Section("anx/flow/encoder/0")));
        Assert.Contains("an/flow/encoder", data.SectionNames(true));
        Assert.DoesNotContain("anx/flow/encoder/0", data.SectionNames(false));
    }

    [Theory]
    [InlineData("an/rollout/cross")]
    [InlineData("an/norm/encoder")]
    [InlineData("anx/rollout/encoder/3")]
    [InlineData("anx/rollout/encoder")]
    [InlineData("an/rollout")]
    public void UnknownAnalysisSectionsAreNotFound(string name) =>
        Assert.Throws<SectionNotFoundException>(() => new ViewerData(Capture, "t").Section(name));

    [Fact]
    public void DescriptionHoldsSaliencyRolesAndTitles()
    {
        var meta = new ViewerData(Capture, "t").Meta("inline")["analyses"]!;
        var sal = meta["saliency"]!;
        var tokens = sal["sections"]![0]!["tokens"]!.AsArray();
        Assert.Equal(10, tokens.Count);
        Assert.Equal("ed", (string)tokens[7]!["text"]!);
        Assert.True((bool)tokens[7]!["joins"]!);
        Assert.Equal("##ed", (string)tokens[7]!["label"]!);
        Assert.Equal(1.0, (double)tokens[3]!["value"]!);
        var roles = meta["roles"]![0]!;
        Assert.Equal(AnalysisCaptures.Role(2, 1, 4), (string)roles["roles"]![2]![1]!);
        Assert.Equal(AnalysisCaptures.Stat(2, 1, 4), (float)(double)roles["stats"]![(2 * 4 + 1) * AnalysisCaptures.StatNames.Length + 4]!);
        Assert.Equal("#0072b2", (string)roles["colors"]!["previous-token"]!);
        Assert.Equal("after layer 0", (string)meta["rollout"]![0]!["captions"]![0]!);
        Assert.Null(new ViewerData(SyntheticCaptures.Realistic(5), "t").Meta("inline")["analyses"]);
    }

    [Fact]
    public void OfflineBundleCarriesTheAnalysisSections()
    {
        var blob = ViewerBundle.Build(new ViewerData(Capture, "t"));
        var text = System.Text.Encoding.UTF8.GetString(blob);
        Assert.Contains("\"an/rollout/encoder\"", text);
        Assert.Contains("\"anx/rollout/encoder/2\"", text);
        Assert.Contains("\"an/flow/encoder\"", text);
    }
}
