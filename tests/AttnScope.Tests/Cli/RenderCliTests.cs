using System.Text;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Tests.Views;
using SkiaSharp;

namespace AttnScope.Tests.Cli;

/// <summary><c>attnscope render</c>: every view in every format, animation over layers, and bad input.</summary>
public class RenderCliTests
{
    private static string WriteCapture(TempDir dir, AttentionCapture? cap = null)
    {
        var path = dir.File("cap.safetensors");
        (cap ?? ViewTestCaptures.WithScores(9, 3, 4)).Save(path);
        return path;
    }

    public static TheoryData<string, string> ViewsAndFormats()
    {
        var data = new TheoryData<string, string>();
        foreach (var view in new[] { "head", "heads", "layers", "model" })
            foreach (var ext in new[] { "png", "svg", "pdf" })
                data.Add(view, ext);
        data.Add("head", "gif");
        data.Add("heads", "gif");
        return data;
    }

    [Theory]
    [MemberData(nameof(ViewsAndFormats))]
    public void EveryViewAndFormatWritesAValidFile(string view, string ext)
    {
        using var dir = new TempDir();
        var cap = WriteCapture(dir);
        var output = dir.File($"{view}.{ext}");
        var (code, stdout, err) = CliTests.Run("render", cap, "--view", view, "-o", output);
        Assert.True(code == 0, err);
        Assert.Contains("wrote", stdout);
        var bytes = File.ReadAllBytes(output);
        switch (ext)
        {
            case "png":
                Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
                using (var bmp = SKBitmap.Decode(bytes)) Assert.True(bmp.Width > 100 && bmp.Height > 100);
                break;
            case "svg":
                Assert.Equal("svg", System.Xml.Linq.XDocument.Parse(Encoding.UTF8.GetString(bytes)).Root!.Name.LocalName);
                break;
            case "pdf":
                Assert.Equal("%PDF-", Encoding.ASCII.GetString(bytes, 0, 5));
                break;
            case "gif":
                var frames = AnimationWriterTests.DecodeFrames(bytes, out _);
                Assert.Equal(3, frames.Length); // one per layer
                foreach (var f in frames) f.Dispose();
                Assert.Contains("3 frames", stdout);
                break;
        }
        Assert.Single(Directory.GetFiles(dir.Path, $"{view}.*")); // no temporary files left
    }

    [Fact]
    public void OptionsReachTheFigure()
    {
        using var dir = new TempDir();
        var cap = dir.File("pair.safetensors");
        SyntheticCaptures.Realistic(30, layers: 2, heads: 4, pair: true).Save(cap);
        var a = dir.File("a.svg");
        var (code, _, err) = CliTests.Run("render", cap, "--view", "heads", "--layer", "1", "--pairs", "AB", "--hide-special",
            "--colormap", "magma", "--log", "--color-range", "shared", "--range", "2:28", "--dpi", "192", "-o", a);
        Assert.True(code == 0, err);
        var svg = File.ReadAllText(a);
        Assert.Contains("layer 1 · all 4 heads · tokens 2–27 · A→B · special tokens hidden, not renormalised", svg);
        Assert.Contains("log scale", svg);
        Assert.Contains("fill=\"#000004\"", svg); // magma bottom
        var small = dir.File("s.png");
        Assert.Equal(0, CliTests.Run("render", cap, "--view", "head", "-o", small).Code);
        var big = dir.File("b.png");
        Assert.Equal(0, CliTests.Run("render", cap, "--view", "head", "--scale", "2", "-o", big).Code);
        using var s1 = SKBitmap.Decode(small);
        using var s2 = SKBitmap.Decode(big);
        Assert.InRange(s2.Width, 2 * s1.Width - 4, 2 * s1.Width + 4);
        var scores = dir.File("scores.svg");
        var sc = dir.File("sc.safetensors");
        ViewTestCaptures.WithScores(6, 1, 2).Save(sc);
        (code, _, err) = CliTests.Run("render", sc, "--values", "scores", "--colormap", "rdbu", "--view", "layers", "--head", "1", "-o", scores);
        Assert.True(code == 0, err);
        Assert.Contains(">−3<", File.ReadAllText(scores).Replace("-3", "−3"));
    }

    [Fact]
    public void HeatmapCommandStillWorks()
    {
        using var dir = new TempDir();
        var cap = WriteCapture(dir);
        var (code, _, err) = CliTests.Run("heatmap", cap, "--layer", "2", "--head", "mean", "-o", dir.File("h.png"));
        Assert.True(code == 0, err);
        Assert.True(File.Exists(dir.File("h.png")));
    }

    [Theory]
    [InlineData(new[] { "--view", "heads", "--layer", "3" }, "layer 3 is out of range: encoder has 3 layers (0..2)")]
    [InlineData(new[] { "--view", "head", "--layer", "-1" }, "layer -1 is out of range")]
    [InlineData(new[] { "--view", "head", "--head", "4" }, "head 4 is out of range: encoder has 4 heads (0..3)")]
    [InlineData(new[] { "--view", "layers", "--head", "9" }, "head 9 is out of range")]
    [InlineData(new[] { "--view", "layers", "--head", "avg" }, "head 'avg' is not valid")]
    [InlineData(new[] { "--view", "grid" }, "unknown view 'grid' (expected head, heads, layers or model)")]
    [InlineData(new[] { "--stack", "cross" }, "the capture has no 'cross' stack (it has: encoder)")]
    [InlineData(new[] { "--stack", "decoder", "--view", "model" }, "no 'decoder' stack")]
    [InlineData(new[] { "--view", "model", "--layer", "1" }, "--layer does not apply to the model view")]
    [InlineData(new[] { "--view", "heads", "--head", "1" }, "--head does not apply to the heads view")]
    [InlineData(new[] { "--range", "9:3" }, "token range '9:3' is not valid")]
    [InlineData(new[] { "--range", "50:60" }, "starts after the last token")]
    [InlineData(new[] { "--pairs", "AB" }, "needs a sentence pair")]
    [InlineData(new[] { "--pairs", "XY" }, "pair filter 'XY' is not valid")]
    [InlineData(new[] { "--colormap", "jet" }, "unknown colour map 'jet'")]
    [InlineData(new[] { "--color-range", "global" }, "--color-range 'global' is not valid")]
    [InlineData(new[] { "--values", "probs" }, "unknown values 'probs'")]
    [InlineData(new[] { "--log", "--values", "scores" }, "a log colour scale needs non-negative values")]
    [InlineData(new[] { "--scale", "2", "--dpi", "192" }, "give --scale or --dpi, not both")]
    [InlineData(new[] { "--scale", "50" }, "scale 50 is out of range")]
    [InlineData(new[] { "--animate", "layers" }, "an animation is written as a .gif file")]
    [InlineData(new[] { "--animate", "heads" }, "--animate heads is not supported")]
    public void BadInputIsOneClearLineAndWritesNothing(string[] extra, string expected)
    {
        using var dir = new TempDir();
        var cap = WriteCapture(dir);
        var (code, _, err) = CliTests.Run(["render", cap, "-o", dir.File("x.png"), .. extra]);
        CliTests.AssertOneLineError(code, err, expected);
        Assert.False(File.Exists(dir.File("x.png")));
        Assert.Single(Directory.GetFiles(dir.Path)); // only the capture
    }

    [Theory]
    [InlineData("x.gif", new[] { "--view", "model" }, "not the model view")]
    [InlineData("x.gif", new[] { "--layer", "1" }, "--layer does not apply to an animation")]
    [InlineData("x.bmp", new string[0], "use a .png, .svg, .pdf or .gif")]
    [InlineData("no-such-folder/x.png", new string[0], "does not exist")]
    [InlineData("taken.png", new string[0], "it is a folder")]
    public void BadOutputIsOneClearLine(string name, string[] extra, string expected)
    {
        using var dir = new TempDir();
        var cap = WriteCapture(dir);
        Directory.CreateDirectory(dir.File("taken.png"));
        var (code, _, err) = CliTests.Run(["render", cap, "-o", dir.File(name), .. extra]);
        CliTests.AssertOneLineError(code, err, expected);
        Assert.Equal(2, Directory.GetFileSystemEntries(dir.Path).Length); // the capture and the folder, nothing else
    }

    [Fact]
    public void MissingCaptureIsOneClearLine()
    {
        using var dir = new TempDir();
        var (code, _, err) = CliTests.Run("render", dir.File("none.safetensors"), "-o", dir.File("x.png"));
        Assert.Equal(1, code);
        Assert.StartsWith("attnscope: error: ", err);
    }
}
