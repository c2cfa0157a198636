using AttnScope.Capture;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using AttnScope.Training.Checkpoints;
using SkiaSharp;

namespace AttnScope.Tests.Training;

/// <summary>One tiny run trained through the CLI, shared by the tests below (a few seconds).</summary>
public sealed class TinyRunFixture : IDisposable
{
    public TempDir Dir { get; } = new();
    public string Run => Dir.File("run");
    public string TrainOutput { get; }

    public static readonly string[] TinyArgs =
    [
        "--layers", "1", "--d-model", "16", "--heads", "2", "--d-ff", "32", "--builtin-pairs", "300", "--builtin-test-pairs", "12",
        "--vocab-size", "300", "--checkpoint-every", "2", "--batch-tokens", "400",
    ];

    public TinyRunFixture()
    {
        var (code, output, err) = CliTests.Run(["train", "--out", Run, "--steps", "4", .. TinyArgs]);
        Assert.True(code == 0, err + output);
        TrainOutput = output;
    }

    public void Dispose() => Dir.Dispose();
}

public class TrainingCliTests(TinyRunFixture fixture) : IClassFixture<TinyRunFixture>
{
    [Fact]
    public void TrainWritesARunFolderAndPrintsProgressAndBothMetrics()
    {
        var run = RunFolder.Open(fixture.Run);
        Assert.Equal([2, 4], run.Checkpoints().Select(c => c.Step)); // keeps the newest 2
        Assert.Equal([0, 2, 4], run.Probes().Select(p => p.Step));
        Assert.True(File.Exists(Path.Combine(fixture.Run, "vocab.txt")));
        Assert.True(File.Exists(run.EvaluationPath));
        Assert.Contains("step 4/4", fixture.TrainOutput);          // plain progress lines (output is not a terminal)
        Assert.DoesNotContain("\r", fixture.TrainOutput);
        Assert.Contains("tok/s", fixture.TrainOutput);
        Assert.Contains("held-out BLEU", fixture.TrainOutput);
        Assert.Contains("AER", fixture.TrainOutput);
        Assert.Contains("best layer 0", fixture.TrainOutput);
        // probes share their axes across checkpoints (the reference is force-decoded)
        var first = AttentionCapture.Load(run.Probes()[0].Path);
        var last = AttentionCapture.Load(run.Probes()[^1].Path);
        Assert.Equal(first.Stack("cross").Attention.Shape, last.Stack("cross").Attention.Shape);
        Assert.NotEqual(first.Stack("cross").Attention.Data, last.Stack("cross").Attention.Data);
    }

    [Fact]
    public void TranslateCaptureAndAnimate()
    {
        using var dir = new TempDir();
        var cap = dir.File("cap.safetensors");
        var gif = dir.File("steps.gif");
        var (code, output, err) = CliTests.Run("translate", fixture.Run, "--text", "the dog sees the cat .", "--beam", "2", "--capture", cap, "--animate", gif);
        Assert.True(code == 0, err);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var c = AttentionCapture.Load(cap);
        int s = c.Tokens.Count, t = c.TargetTokens.Count;
        Assert.Equal([1, 2, s, s], c.Stack("encoder").Attention.Shape);
        Assert.Equal([1, 2, t, t], c.Stack("decoder").Attention.Shape);
        Assert.Equal([1, 2, t, s], c.Stack("cross").Attention.Shape);
        Assert.Equal("<eos>", c.Tokens[^1].Text);
        Assert.Equal("<bos>", c.TargetTokens[0].Text);
        Assert.True(c.Tokens[^1].IsSpecial && c.TargetTokens[0].IsSpecial);
        using var codec = SKCodec.Create(gif);
        Assert.Equal(t, codec.FrameCount); // one frame per decoding step

        var capPath = dir.File("cap2.safetensors");
        (code, output, err) = CliTests.Run("capture", "--model", fixture.Run, "--text", "the dog sees the cat .", "-o", capPath);
        Assert.True(code == 0, err);
        Assert.Contains("cross.attention", output);
        Assert.Equal(3, AttentionCapture.Load(capPath).Stacks.Count);

        var png = dir.File("cross.png");
        (code, _, err) = CliTests.Run("heatmap", capPath, "--stack", "cross", "--head", "mean", "-o", png);
        Assert.True(code == 0, err);
    }

    [Fact]
    public void EvaluatePrintsBleuAndAerAgain()
    {
        var (code, output, err) = CliTests.Run("evaluate", fixture.Run, "--limit", "5");
        Assert.True(code == 0, err);
        Assert.Contains("held-out BLEU", output);
        Assert.Contains("on 5 sentences", output);
        Assert.Contains("layer 0", output);

        using var dir = new TempDir();
        var tsv = dir.File("test.tsv");
        File.WriteAllText(tsv, "The dog sleeps.\tDer Hund schläft.\nThe cat sees the dog.\tDie Katze sieht den Hund.\n\tleer\n");
        (code, output, err) = CliTests.Run("evaluate", fixture.Run, "--corpus", tsv, "--beam", "2");
        Assert.True(code == 0, err);
        Assert.Contains("on 2 sentences (beam 2", output);
        Assert.Contains("no gold word alignments", output);
        Assert.Contains("empty 1", err); // the reader's report: the empty line was skipped and counted
    }

    [Fact]
    public void TrainingAnimationAndResume()
    {
        using var dir = new TempDir();
        var run = dir.File("run");
        var (code, output, err) = CliTests.Run(["train", "--out", run, "--steps", "2", "--no-evaluate", .. TinyRunFixture.TinyArgs]);
        Assert.True(code == 0, err);
        var gif = dir.File("training.gif");
        (code, output, err) = CliTests.Run(["train", "--out", run, "--resume", "--steps", "4", "--no-evaluate", "--animate", gif]);
        Assert.True(code == 0, err);
        Assert.Contains("resuming from step-0000002", output);
        Assert.Equal(4, RunFolder.Open(run).Checkpoints()[^1].Step);
        using var codec = SKCodec.Create(gif);
        Assert.Equal(3, codec.FrameCount); // probes at steps 0, 2 and 4
    }

    [Fact]
    public void BadRunFoldersGiveOneLineErrors()
    {
        using var dir = new TempDir();
        var (code, _, err) = CliTests.Run("translate", dir.File("missing"), "--text", "a");
        CliTests.AssertOneLineError(code, err, "does not exist");
        (code, _, err) = CliTests.Run("translate", dir.Path, "--text", "a");
        CliTests.AssertOneLineError(code, err, "is not a run folder");
        (code, _, err) = CliTests.Run("evaluate", dir.Path);
        CliTests.AssertOneLineError(code, err, "is not a run folder");
        (code, _, err) = CliTests.Run("train", "--out", fixture.Run, "--steps", "1");
        CliTests.AssertOneLineError(code, err, "--resume");
        (code, _, err) = CliTests.Run("train", "--out", dir.File("none"), "--resume", "--steps", "1");
        CliTests.AssertOneLineError(code, err, "does not exist");
        (code, _, err) = CliTests.Run("train", "--out", dir.File("new1"), "--steps", "1", "--decay", "exponential");
        CliTests.AssertOneLineError(code, err, "decay 'exponential'");
        (code, _, err) = CliTests.Run("train", "--out", dir.File("new2"), "--steps", "1", "--heads", "3");
        CliTests.AssertOneLineError(code, err, "divisible");
        (code, _, err) = CliTests.Run("train", "--corpus", dir.File("no-such-corpus.tsv"), "--out", dir.File("new3"), "--steps", "1");
        Assert.Equal(1, code);
        Assert.StartsWith("attnscope: error: ", err);
        Assert.False(Directory.Exists(dir.File("new1")) || Directory.Exists(dir.File("new2")) || Directory.Exists(dir.File("new3")),
            "a rejected run leaves no folder behind");

        // a corrupt checkpoint: copy the run and cut its newest checkpoint short
        var copy = dir.File("copy");
        CopyFolder(fixture.Run, copy);
        var latest = RunFolder.Open(copy).LatestCheckpoint();
        var bytes = File.ReadAllBytes(latest);
        File.WriteAllBytes(latest, bytes[..(bytes.Length / 2)]);
        (code, _, err) = CliTests.Run("translate", copy, "--text", "a");
        CliTests.AssertOneLineError(code, err, Path.GetFileName(latest));

        // a config that is not JSON
        File.WriteAllText(Path.Combine(copy, "config.json"), "{ attnscope.translation/1");
        (code, _, err) = CliTests.Run("translate", copy, "--text", "a");
        CliTests.AssertOneLineError(code, err, "config");

        (code, _, err) = CliTests.Run("translate", fixture.Run, "--text", "a", "--beam", "0");
        CliTests.AssertOneLineError(code, err, "--beam");
        (code, _, err) = CliTests.Run("translate", fixture.Run, "--text", "a", "--animate", dir.File("x.mp4"));
        CliTests.AssertOneLineError(code, err, ".gif");
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyFolder(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
