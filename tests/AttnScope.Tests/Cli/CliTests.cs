using System.Text;
using AttnScope.Capture;
using AttnScope.Cli;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Cli;

[Collection("minilm")]
public class CliTests
{
    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = AttnScopeCli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>Every static view (head, heads, layers, model) of every stack of an encoder-decoder capture renders a
    /// readable-sized PNG through <c>attnscope render</c>.</summary>
    internal static void AssertEveryStaticViewRenders(string capture, TempDir tmp)
    {
        foreach (var stack in new[] { "encoder", "decoder", "cross" })
            foreach (var view in new[] { "head", "heads", "layers", "model" })
            {
                var png = tmp.File($"{stack}-{view}.png");
                var (code, _, err) = Run("render", capture, "--view", view, "--stack", stack, "-o", png);
                Assert.True(code == 0, $"{stack}/{view}: {err}");
                using var bmp = SkiaSharp.SKBitmap.Decode(png);
                Assert.True(bmp.Width > 100 && bmp.Height > 100, $"{stack}/{view}");
            }
    }

    internal static void AssertOneLineError(int code, string err, string expected)
    {
        Assert.Equal(1, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("attnscope: error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", err); // never a stack trace
    }

    [Theory]
    [InlineData("managed")]
    [InlineData("onnx")]
    public void CaptureWritesTheDocumentedShapeForTheCatSentence(string engine)
    {
        using var dir = new TempDir();
        var path = dir.File("cap.safetensors");
        var (code, output, err) = Run("capture", "--model", "minilm", "--text", "The cat sat on the mat.", "--engine", engine, "-o", path);
        Assert.True(code == 0, err);
        Assert.Contains("wrote", output);
        var cap = AttentionCapture.Load(path);
        Assert.Equal(new[] { 6, 12, 9, 9 }, cap.Stacks["encoder"].Attention.Shape);
        Assert.Equal(engine, cap.Metadata.Source);
        Assert.Equal("minilm", cap.Metadata.ModelId);
        Assert.Equal(new[] { "The cat sat on the mat." }, cap.Metadata.Texts);
        Assert.Equal("mat", cap.Tokens[6].Text);
        Assert.Equal((19, 22), (cap.Tokens[6].Start, cap.Tokens[6].End));
    }

    [Theory]
    [InlineData("managed")]
    [InlineData("onnx")]
    public void CaptureWithQkvAndPairStoresEverything(string engine)
    {
        using var dir = new TempDir();
        var path = dir.File("pair.safetensors");
        var (code, _, err) = Run("capture", "--text", "Where is it?", "--text-pair", "Over there.", "--qkv", "--engine", engine, "-o", path);
        Assert.True(code == 0, err);
        var cap = AttentionCapture.Load(path);
        var s = cap.Stacks["encoder"];
        int n = cap.Tokens.Count;
        Assert.Equal(new[] { 6, 12, n, 32 }, s.Query!.Shape);
        Assert.Equal(new[] { 6, 12, n, 32 }, s.Key!.Shape);
        Assert.Equal(new[] { 6, 12, n, 32 }, s.Value!.Shape);
        Assert.Equal(new[] { 6, 12, n, n }, s.Scores!.Shape);
        Assert.Contains(cap.Tokens, t => t.Segment == Segment.B && t.Text == "there");
    }

    [Fact]
    public void InspectSummarisesACapture()
    {
        using var dir = new TempDir();
        var path = dir.File("cap.safetensors");
        SyntheticCaptures.Encoder(2, 3, 5).Save(path);
        var (code, output, err) = Run("inspect", path);
        Assert.True(code == 0, err);
        Assert.Contains("synthetic", output);
        Assert.Contains("[2, 3, 5, 5]", output);
        Assert.Contains("[CLS]", output);
    }

    [Fact]
    public void InspectEscapesControlCharactersInTokenText()
    {
        using var dir = new TempDir();
        var path = dir.File("cap.safetensors");
        var tokens = SyntheticCaptures.Tokens(3);
        tokens[1] = tokens[1] with { Text = "\u001b[31mred" };
        var cap = new AttentionCapture(new CaptureMetadata { ModelId = "m" }, tokens, [new AttentionStack("encoder", SyntheticCaptures.RandomAttention(1, 1, 3, 1))]);
        cap.Save(path);
        var (code, output, _) = Run("inspect", path);
        Assert.Equal(0, code);
        Assert.False(output.Contains('\u001b'), "raw escape character in output");
        Assert.Contains("\\u001b[31mred", output);
    }

    [Fact]
    public void UnknownModelIsOneClearLine()
    {
        using var dir = new TempDir();
        var (code, _, err) = Run("capture", "--model", "nonexistent-model", "--text", "hi", "-o", dir.File("x.safetensors"));
        AssertOneLineError(code, err, "unknown model 'nonexistent-model'");
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void EmptyTextIsOneClearLineAndWritesNothing()
    {
        using var dir = new TempDir();
        var (code, _, err) = Run("capture", "--text", "", "-o", dir.File("x.safetensors"));
        AssertOneLineError(code, err, "the text is empty");
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void TextOfOnlySpecialsIsOneClearLine()
    {
        using var dir = new TempDir();
        var (code, _, err) = Run("capture", "--text", "\u0001\u0002", "-o", dir.File("x.safetensors"));
        AssertOneLineError(code, err, "produces no tokens");
    }

    [Fact]
    public void OverlongTextWarnsAndStillCaptures()
    {
        using var dir = new TempDir();
        var text = string.Join(" ", Enumerable.Repeat("word", 600));
        var (code, _, err) = Run("capture", "--text", text, "-o", dir.File("x.safetensors"));
        Assert.Equal(0, code);
        Assert.Contains("attnscope: warning: input longer than the model's maximum of 512 tokens", err);
        Assert.Equal(512, AttentionCapture.Load(dir.File("x.safetensors")).Tokens.Count);
    }

    [Fact]
    public void UnknownEngineIsOneClearLine()
    {
        var (code, _, err) = Run("capture", "--text", "hi", "--engine", "tpu", "-o", "/tmp/never.safetensors");
        AssertOneLineError(code, err, "unknown engine 'tpu'");
    }

    [Fact]
    public void InspectOfANonCaptureFileIsOneClearLine()
    {
        using var dir = new TempDir();
        var path = dir.File("junk.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        var (code, _, err) = Run("inspect", path);
        AssertOneLineError(code, err, "not a valid safetensors file");
    }

    [Fact]
    public void UnwritableOutputIsOneClearLine()
    {
        var (code, _, err) = Run("capture", "--text", "hi", "-o", "/nonexistent-dir/x.safetensors");
        AssertOneLineError(code, err, "does not exist");
    }
}

public class HeatmapCliTests
{
    [Theory]
    [InlineData("head.png", "3")]
    [InlineData("head.svg", "mean")]
    [InlineData("max.png", "max")]
    public void HeatmapWritesAValidImage(string name, string head)
    {
        using var dir = new TempDir();
        var cap = dir.File("cap.safetensors");
        SyntheticCaptures.Encoder(2, 4, 9).Save(cap);
        var output = dir.File(name);
        var (code, _, err) = CliTests.Run("heatmap", cap, "--layer", "1", "--head", head, "-o", output);
        Assert.True(code == 0, err);
        var bytes = File.ReadAllBytes(output);
        if (name.EndsWith(".png")) Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        else Assert.Equal("svg", System.Xml.Linq.XDocument.Parse(Encoding.UTF8.GetString(bytes)).Root!.Name.LocalName);
    }

    [Theory]
    [InlineData(new[] { "--layer", "5" }, "layer 5 is out of range")]
    [InlineData(new[] { "--head", "12" }, "head 12 is out of range")]
    [InlineData(new[] { "--head", "first" }, "head 'first' is not valid")]
    [InlineData(new[] { "--stack", "cross" }, "no 'cross' stack")]
    [InlineData(new[] { "--colormap", "rainbow" }, "rainbow")]
    public void BadHeatmapArgumentsAreOneClearLine(string[] extra, string expected)
    {
        using var dir = new TempDir();
        var cap = dir.File("cap.safetensors");
        SyntheticCaptures.Encoder(2, 4, 9).Save(cap);
        var (code, _, err) = CliTests.Run(["heatmap", cap, "-o", dir.File("x.png"), .. extra]);
        CliTests.AssertOneLineError(code, err, expected);
        Assert.False(File.Exists(dir.File("x.png")));
    }

    [Fact]
    public void UnknownImageExtensionIsOneClearLine()
    {
        using var dir = new TempDir();
        var cap = dir.File("cap.safetensors");
        SyntheticCaptures.Encoder(1, 1, 3).Save(cap);
        var (code, _, err) = CliTests.Run("heatmap", cap, "-o", dir.File("x.bmp"));
        CliTests.AssertOneLineError(code, err, "use a .png or .svg");
    }

    [Fact]
    public void DemoWritesACaptureAndReadableHeatmaps()
    {
        using var dir = new TempDir();
        var (code, output, err) = CliTests.Run("demo", "--out", dir.Path);
        Assert.True(code == 0, err);
        var cap = AttentionCapture.Load(Path.Combine(dir.Path, "capture.safetensors"));
        Assert.Equal(2, cap.Metadata.Texts.Count);
        Assert.NotNull(cap.Stack("encoder").Query);
        var pngs = Directory.GetFiles(dir.Path, "*.png");
        Assert.NotEmpty(pngs);
        foreach (var png in pngs)
        {
            using var bmp = SkiaSharp.SKBitmap.Decode(png);
            // Heatmaps are square-ish; the role map and the saliency text are wide and short.
            bool wide = Path.GetFileName(png) is "roles.png" or "saliency.png";
            Assert.True(bmp.Width > 400 && bmp.Height > (wide ? 200 : 400), $"{png} is {bmp.Width}×{bmp.Height}");
            Assert.Contains(Path.GetFileName(png), output);
        }
        // The other views and the interactive page, each as the format it claims.
        using (var heads = SkiaSharp.SKBitmap.Decode(Path.Combine(dir.Path, "heads-layer2.png")))
            Assert.True(heads.Width > 800, "all 12 heads need a wide figure");
        Assert.NotNull(SkiaSharp.SKBitmap.Decode(Path.Combine(dir.Path, "model.png")));
        using (var codec = SkiaSharp.SKCodec.Create(Path.Combine(dir.Path, "layers-mean.gif")))
            Assert.Equal(6, codec.FrameCount); // one frame per layer of all-MiniLM-L6-v2
        var html = File.ReadAllText(Path.Combine(dir.Path, "viewer.html"));
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", ""));
        foreach (var name in new[] { "heads-layer2.png", "model.png", "layers-mean.gif", "viewer.html", "roles.png", "flow.png", "rollout.gif", "saliency.png" })
            Assert.Contains(name, output);
        // The analyses: kept in the capture (and so in the page), drawn, and relevance on text A alone.
        foreach (var name in new[] { "encoder.rollout", "encoder.flow", "encoder.head_stats", "encoder.norm" })
            Assert.NotNull(cap.Analysis(name));
        using (var codec = SkiaSharp.SKCodec.Create(Path.Combine(dir.Path, "rollout.gif")))
            Assert.Equal(6, codec.FrameCount);
        var single = AttentionCapture.Load(Path.Combine(dir.Path, "capture-a.safetensors"));
        Assert.Single(single.Metadata.Texts);
        Assert.Equal(single.Tokens.Count, single.Analysis("saliency.source")!.Tensor.Shape[0]);
    }
}

public class CliUsageTests
{
    [Fact]
    public void MissingRequiredOptionSaysWhichAndPointsToHelp()
    {
        var (code, output, err) = CliTests.Run("capture", "--text", "hi");
        Assert.Equal(1, code);
        Assert.Contains("attnscope: error: Option '--output' is required.", err);
        Assert.Contains("attnscope capture --help", err);
        Assert.DoesNotContain("Usage:", output + err);
    }

    [Fact]
    public void UnknownCommandIsAnError()
    {
        var (code, _, err) = CliTests.Run("frobnicate");
        Assert.Equal(1, code);
        Assert.Contains("frobnicate", err);
    }

    [Fact]
    public void HelpListsEveryCommand()
    {
        var (code, output, _) = CliTests.Run("--help");
        Assert.Equal(0, code);
        foreach (var c in new[] { "capture", "inspect", "heatmap", "demo" }) Assert.Contains(c, output);
    }

    [Fact]
    public void EachCommandIsBuiltUnderTheNameItIsLookedUpBy()
    {
        // the command line builds only the command its first word names: the table's names must be the commands' own
        var output = new CliOutput(TextWriter.Null, TextWriter.Null);
        foreach (var (name, create) in AttnScopeCli.Commands) Assert.Equal(name, create(output).Name);
        Assert.Equal(AttnScopeCli.Commands.Length, AttnScopeCli.Commands.Select(c => c.Name).Distinct().Count());
    }

    [Fact]
    public void A_named_command_still_parses_and_a_near_miss_still_gets_the_whole_tree()
    {
        // "rendr" names no command: the whole tree is built, so the error is about an unknown command, not options
        var (code, _, err) = CliTests.Run("rendr", "x.safetensors");
        Assert.Equal(1, code);
        Assert.Contains("rendr", err);
        var (code2, output2, _) = CliTests.Run("render", "--help");
        Assert.Equal(0, code2);
        Assert.Contains("--view", output2);
        Assert.DoesNotContain("train-whisper", output2);
    }
}

[Collection("minilm")]
public class TextFileCliTests
{
    [Fact]
    public void TextAndPairCanComeFromFiles()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a.txt"), "Café au lait.\n");
        File.WriteAllText(dir.File("b.txt"), "Tea, please.");
        var (code, _, err) = CliTests.Run("capture", "--text-file", dir.File("a.txt"), "--text-pair-file", dir.File("b.txt"), "-o", dir.File("c.safetensors"));
        Assert.True(code == 0, err);
        var cap = AttentionCapture.Load(dir.File("c.safetensors"));
        Assert.Equal(new[] { "Café au lait.\n", "Tea, please." }, cap.Metadata.Texts);
        var cafe = cap.Tokens.Single(t => t.Text == "cafe");
        Assert.Equal("Café", cap.Metadata.Texts[0][cafe.Start..cafe.End]);
    }

    [Fact]
    public void HugeTextFromAFileIsTruncatedToTheModelMaximum()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("big.txt"), string.Concat(Enumerable.Repeat("lorem ipsum dolor sit amet. ", 40_000)));
        var (code, _, err) = CliTests.Run("capture", "--text-file", dir.File("big.txt"), "-o", dir.File("c.safetensors"));
        Assert.True(code == 0, err);
        Assert.Contains("truncated at character", err);
        Assert.Equal(512, AttentionCapture.Load(dir.File("c.safetensors")).Tokens.Count);
    }

    [Fact]
    public void BothInlineAndFileIsAnError()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a.txt"), "x");
        var (code, _, err) = CliTests.Run("capture", "--text", "x", "--text-file", dir.File("a.txt"), "-o", dir.File("c.safetensors"));
        CliTests.AssertOneLineError(code, err, "not both");
    }

    [Fact]
    public void MissingTextFileIsAnError()
    {
        using var dir = new TempDir();
        var (code, _, err) = CliTests.Run("capture", "--text-file", dir.File("nope.txt"), "-o", dir.File("c.safetensors"));
        CliTests.AssertOneLineError(code, err, "text file not found");
    }

    [Fact]
    public void InvalidUtf8IsAnError()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("bad.txt"), [0x68, 0x69, 0xff, 0xfe, 0x80]);
        var (code, _, err) = CliTests.Run("capture", "--text-file", dir.File("bad.txt"), "-o", dir.File("c.safetensors"));
        CliTests.AssertOneLineError(code, err, "not valid UTF-8");
    }

    [Fact]
    public void NoTextAtAllIsAnError()
    {
        using var dir = new TempDir();
        var (code, _, err) = CliTests.Run("capture", "-o", dir.File("c.safetensors"));
        CliTests.AssertOneLineError(code, err, "no input text");
    }
}
