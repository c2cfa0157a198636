using System.Text;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Tests.Views;
using SkiaSharp;

namespace AttnScope.Tests.Cli;

/// <summary><c>attnscope render --view rollout|flow|saliency|saliency-bars|roles|norm|norm-heads</c>: files, the rollout GIF, and clear errors.</summary>
public class RenderAnalysisCliTests
{
    private static string WriteCapture(TempDir dir, AttentionCapture? cap = null)
    {
        var path = dir.File("cap.safetensors");
        (cap ?? AnalysisCaptures.Encoder(10, 3, 4)).Save(path);
        return path;
    }

    public static TheoryData<string, string> ViewsAndFormats()
    {
        var data = new TheoryData<string, string>();
        foreach (var view in new[] { "rollout", "flow", "saliency", "saliency-bars", "roles", "norm", "norm-heads" })
            foreach (var ext in new[] { "png", "svg", "pdf" })
                data.Add(view, ext);
        return data;
    }

    [Theory]
    [MemberData(nameof(ViewsAndFormats))]
    public void EveryAnalysisViewAndFormatWritesAValidFile(string view, string ext)
    {
        using var dir = new TempDir();
        var cap = WriteCapture(dir);
        var output = dir.File($"{view}.{ext}");
        var (code, stdout, err) = CliTests.Run("render", cap, "--view", view, "-o", output);
        Assert.True(code == 0, err);
        Assert.Contains($"wrote {output}", stdout);
        var bytes = File.ReadAllBytes(output);
        switch (ext)
        {
            case "png":
                using (var bmp = SKBitmap.Decode(bytes)) Assert.True(bmp.Width > 200 && bmp.Height > 100);
                break;
            case "svg":
                var doc = System.Xml.Linq.XDocument.Parse(Encoding.UTF8.GetString(bytes));
                Assert.Equal("svg", doc.Root!.Name.LocalName);
                Assert.Contains(doc.Descendants(doc.Root.Name.Namespace + "text"), t => t.Value.Contains(view switch
                {
                    "rollout" => "rollout after layer 2",
                    "flow" => "exact attention flow",
                    "saliency" or "saliency-bars" => "token saliency",
                    "roles" => "head roles",
                    _ => "norm-based attention",
                }));
                break;
            case "pdf":
                Assert.Equal("%PDF-", Encoding.ASCII.GetString(bytes, 0, 5));
                break;
        }
        Assert.Single(Directory.GetFiles(dir.Path, $"{view}.*"));
    }

    [Fact]
    public void RolloutAsGifHasOneFramePerLayer()
    {
        using var dir = new TempDir();
        var cap = WriteCapture(dir);
        var (code, stdout, err) = CliTests.Run("render", cap, "--view", "rollout", "--animate", "layers", "-o", dir.File("r.gif"));
        Assert.True(code == 0, err);
        Assert.Contains("3 frames", stdout);
        var frames = AnimationWriterTests.DecodeFrames(File.ReadAllBytes(dir.File("r.gif")), out _);
        Assert.Equal(3, frames.Length);
        foreach (var f in frames) f.Dispose();
    }

    [Fact]
    public void RolloutLayerAndNormHeadAreChosen()
    {
        using var dir = new TempDir();
        var cap = WriteCapture(dir);
        var (code, _, err) = CliTests.Run("render", cap, "--view", "rollout", "--layer", "1", "-o", dir.File("r.svg"));
        Assert.True(code == 0, err);
        Assert.Contains("rollout after layer 1 (layers 0–1)", File.ReadAllText(dir.File("r.svg")));
        (code, _, err) = CliTests.Run("render", cap, "--view", "norm", "--layer", "2", "--head", "mean", "-o", dir.File("n.svg"));
        Assert.True(code == 0, err);
        Assert.Contains("layer 2 · mean of heads · norm-based attention", File.ReadAllText(dir.File("n.svg")));
    }

    [Theory]
    [InlineData("rollout", new string[0], "the capture has no attention rollout of the encoder stack")]
    [InlineData("flow", new string[0], "the capture has no attention flow of the encoder stack")]
    [InlineData("saliency", new string[0], "the capture has no token saliency")]
    [InlineData("roles", new string[0], "the capture has no head statistics of the encoder stack")]
    [InlineData("norm-heads", new string[0], "the capture has no norm-based attention of the encoder stack")]
    public void AMissingAnalysisSaysToRunAnalyze(string view, string[] extra, string expected)
    {
        using var dir = new TempDir();
        var cap = WriteCapture(dir, SyntheticCaptures.Realistic(8));
        var (code, _, err) = CliTests.Run(["render", cap, "--view", view, "-o", dir.File("x.png"), .. extra]);
        CliTests.AssertOneLineError(code, err, expected);
        Assert.Contains("run 'attnscope analyze CAPTURE --", err);
        Assert.False(File.Exists(dir.File("x.png")));
    }

    [Theory]
    [InlineData("x.png", new[] { "--view", "grid" }, "analysis view: rollout, flow, saliency, saliency-bars, roles, norm, norm-heads")]
    [InlineData("x.png", new[] { "--view", "flow", "--layer", "1" }, "--layer does not apply to the flow view")]
    [InlineData("x.png", new[] { "--view", "rollout", "--head", "1" }, "--head does not apply to the rollout view")]
    [InlineData("x.png", new[] { "--view", "norm-heads", "--head", "1" }, "which shows all heads")]
    [InlineData("x.png", new[] { "--view", "rollout", "--layer", "7" }, "the rollout covers layers 0–2; layer 7 is not among them")]
    [InlineData("x.png", new[] { "--view", "norm", "--layer", "5" }, "layer 5 is out of range")]
    [InlineData("x.png", new[] { "--view", "roles", "--values", "scores" }, "--values does not apply to the roles view")]
    [InlineData("x.png", new[] { "--view", "saliency", "--hide-special" }, "do not apply to the saliency view")]
    [InlineData("x.png", new[] { "--view", "flow", "--stack", "cross" }, "no 'cross' stack")]
    [InlineData("x.gif", new[] { "--view", "roles" }, "the roles view has no animation")]
    [InlineData("x.gif", new[] { "--view", "rollout", "--layer", "1" }, "--layer does not apply to an animation")]
    public void BadInputIsOneClearLineAndWritesNothing(string output, string[] extra, string expected)
    {
        using var dir = new TempDir();
        var cap = WriteCapture(dir);
        var (code, _, err) = CliTests.Run(["render", cap, "-o", dir.File(output), .. extra]);
        CliTests.AssertOneLineError(code, err, expected);
        Assert.Single(Directory.GetFiles(dir.Path));
    }
}
