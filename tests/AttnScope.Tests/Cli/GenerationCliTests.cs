using AttnScope.Analyses.Heads;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Tests.Views;
using SkiaSharp;

namespace AttnScope.Tests.Cli;

/// <summary><c>attnscope render --animate steps</c>, <c>--view sinks</c> and <c>inspect</c> on a decoder language model's generation.</summary>
public class GenerationCliTests
{
    private static string Save(TempDir dir, AttentionCapture cap)
    {
        var path = dir.File("gen.safetensors");
        cap.Save(path);
        return path;
    }

    [Fact]
    public void AnimateStepsWritesOneFramePerGenerationStep()
    {
        using var dir = new TempDir();
        var cap = GenerationCaptures.Gpt2Like();
        var path = Save(dir, cap);
        var gif = dir.File("gen.gif");
        // no --stack: a capture with only a decoder stack shows it
        var (code, stdout, err) = CliTests.Run("render", path, "--view", "head", "--layer", "1", "--animate", "steps", "-o", gif);
        Assert.True(code == 0, err);
        int steps = GenerationInfo.Of(cap)!.Steps;
        Assert.Contains($"{steps} frames, one per generation step, layer 1", stdout);
        var frames = AnimationWriterTests.DecodeFrames(File.ReadAllBytes(gif), out _);
        Assert.Equal(steps, frames.Length);
        // frames differ (more is revealed each step) and the last differs from the first
        Assert.NotEqual(Pixels(frames[0]), Pixels(frames[^1]));
        foreach (var f in frames) f.Dispose();

        // the default animation stays over layers
        var layersGif = dir.File("layers.gif");
        (code, stdout, err) = CliTests.Run("render", path, "--view", "heads", "-o", layersGif);
        Assert.True(code == 0, err);
        Assert.Contains("2 frames, one per layer", stdout);
    }

    private static byte[] Pixels(SKBitmap b) => b.Bytes;

    [Theory]
    [InlineData("--animate", "steps", "out.png", "written as a .gif")]
    [InlineData("--animate", "tokens", "out.gif", "--animate tokens is not supported")]
    public void BadAnimationsAreOneClearLine(string opt, string value, string file, string message)
    {
        using var dir = new TempDir();
        var path = Save(dir, GenerationCaptures.Gpt2Like());
        var (code, _, err) = CliTests.Run("render", path, opt, value, "-o", dir.File(file));
        Assert.Equal(1, code);
        Assert.Contains(message, err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void AnimateStepsOnACaptureWithoutAGenerationSaysWhy()
    {
        using var dir = new TempDir();
        var path = Save(dir, GenerationCaptures.Gpt2Like(generation: false));
        var (code, _, err) = CliTests.Run("render", path, "--animate", "steps", "-o", dir.File("x.gif"));
        Assert.Equal(1, code);
        Assert.Contains("records no generation", err);
        Assert.False(File.Exists(dir.File("x.gif")));
    }

    [Fact]
    public void SinksViewRendersWithoutAnalyze()
    {
        using var dir = new TempDir();
        var path = Save(dir, GenerationCaptures.Gpt2Like(kvHeads: 2));
        var png = dir.File("sinks.png");
        var (code, stdout, err) = CliTests.Run("render", path, "--view", "sinks", "-o", png);
        Assert.True(code == 0, err);
        Assert.Contains("wrote", stdout);
        using (var bmp = SKBitmap.Decode(png)) Assert.True(bmp.Width > 200 && bmp.Height > 100);
        (code, _, err) = CliTests.Run("render", path, "--view", "sinks", "--layer", "1", "-o", png);
        Assert.Equal(1, code);
        Assert.Contains("--layer does not apply to the sinks view", err);
    }

    [Fact]
    public void InspectShowsTheGenerationKvHeadsAndSinks()
    {
        using var dir = new TempDir();
        var cap = GenerationCaptures.Gpt2Like(layers: 2, heads: 4, kvHeads: 2);
        var path = Save(dir, cap);
        var (code, stdout, err) = CliTests.Run("inspect", path);
        Assert.True(code == 0, err);
        Assert.Contains("generation:   4 prompt tokens + 4 generated (greedy, stopped: end of sequence); 5 steps", stdout);
        Assert.Contains("grouped-query: 4 heads share 2 kv heads (kv = head ÷ 2)", stdout);
        Assert.Contains("attention sinks (decoder; first token 'The'; means over query rows 1..7", stdout);
        var r = SinkStatistics.Compute(cap, AttentionStack.Decoder);
        var lines = stdout.Split('\n');
        int at = Array.FindIndex(lines, l => l.Contains("first-token share, layer × head"));
        string F(float v) => v.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
        for (int l = 0; l < 2; l++)
            Assert.Equal([$"{l}", .. Enumerable.Range(0, 4).Select(h => F(r.FirstTokenShare(l, h)))],
                lines[at + 2 + l].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        at = Array.FindIndex(lines, l => l.Contains("top-1 key share, layer × head"));
        for (int l = 0; l < 2; l++)
            Assert.Equal([$"{l}", .. Enumerable.Range(0, 4).Select(h => F(r.TopKeyShare(l, h)))],
                lines[at + 2 + l].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        // head 0 carries the synthetic sink; its kv head is 0
        Assert.Contains("strongest first-token sink: layer ", stdout);
        Assert.Matches(@"strongest first-token sink: layer \d head 0 \(kv 0\)", stdout);
    }
}
