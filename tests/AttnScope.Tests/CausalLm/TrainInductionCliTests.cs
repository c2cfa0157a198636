using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using AttnScope.Tests.Views;
using AttnScope.Training.CausalLm;

namespace AttnScope.Tests.CausalLm;

/// <summary><c>attnscope train-induction</c> end to end on a tiny model (a second or two).</summary>
public class TrainInductionCliTests
{
    private static readonly string[] TinyArgs = ["--vocab", "12", "--length", "13", "--layers", "2", "--d-model", "16", "--heads", "2", "--batch", "4", "--log-every", "2"];

    [Fact]
    public void WritesCheckpointsLogScoresCaptureAndGif()
    {
        using var dir = new TempDir();
        var run = dir.File("run");
        var gif = dir.File("induction.gif");
        var (code, output, err) = CliTests.Run(["train-induction", "--out", run, "--steps", "6", "--checkpoint-every", "3", "--seed", "4", "--animate", gif, .. TinyArgs]);
        Assert.True(code == 0, err + output);
        Assert.Contains("max induction score", output);

        var steps = Directory.GetFiles(Path.Combine(run, CausalLmCheckpoint.Folder)).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["step-000000.safetensors", "step-000003.safetensors", "step-000006.safetensors"], steps);
        var last = SafeTensorsFile.Open(CausalLmCheckpoint.PathFor(run, 6));
        Assert.Equal("6", last.Metadata["step"]);
        Assert.Equal([16, 16], last.Entries["blocks.1.attn.W_Q"].Shape);
        Assert.Equal([12, 16], last.Entries["embed.W_E"].Shape);
        Assert.True(File.Exists(Path.Combine(run, CausalLmCheckpoint.ConfigFile)));

        // log rows every 2 steps and at each checkpoint (0, 3, 6), each with the columns of the header
        var log = File.ReadAllLines(Path.Combine(run, InductionTraining.LogFile));
        Assert.Equal("step\tlr\tloss\tloss_repeated\tloss_other\tmax_induction\tmax_prev_token\tseconds", log[0]);
        Assert.Equal(["0", "2", "3", "4", "6"], log.Skip(1).Select(l => l.Split('\t')[0]));
        Assert.All(log.Skip(1), l => Assert.Equal(8, l.Split('\t').Length));
        // scores.tsv: every head at every checkpoint, and its max is the log's max at those steps
        var scores = File.ReadAllLines(Path.Combine(run, InductionTraining.ScoresFile)).Skip(1).Select(l => l.Split('\t')).ToList();
        Assert.Equal(3 * 2 * 2, scores.Count);
        foreach (var step in new[] { "0", "6" })
            Assert.Equal(log.Single(l => l.StartsWith(step + "\t")).Split('\t')[5], scores.Where(s => s[0] == step).Select(s => s[3]).MaxBy(double.Parse));

        // the capture: decoder attention of the final model on BOS + 6 tokens twice, tokens named t<ID>
        var cap = AttentionCapture.Load(Path.Combine(run, InductionTraining.CaptureFile));
        Assert.Equal([2, 2, 13, 13], cap.Stack(AttentionStack.Decoder).Attention.Shape);
        Assert.Equal("<bos>", cap.Tokens[0].Text);
        Assert.True(cap.Tokens[0].IsSpecial);
        Assert.All(cap.Tokens.Skip(1), t => Assert.Equal("t" + t.Id, t.Text));
        Assert.Equal(cap.Tokens.Skip(1).Take(6).Select(t => t.Id), cap.Tokens.Skip(7).Select(t => t.Id));

        var frames = AnimationWriterTests.DecodeFrames(File.ReadAllBytes(gif), out _);
        Assert.Equal(3, frames.Length); // one per checkpoint
        foreach (var f in frames) f.Dispose();
    }

    [Fact]
    public void BadArgumentsAreOneLineErrors()
    {
        using var dir = new TempDir();
        var (code, _, err) = CliTests.Run("train-induction", "--out", dir.File("r"), "--heads", "3", "--steps", "1");
        Assert.Equal(1, code);
        Assert.Single(err.Trim().Split('\n'));
        (code, _, err) = CliTests.Run("train-induction", "--out", dir.File("r"), "--steps", "1", "--animate", dir.File("x.png"));
        Assert.Equal(1, code);
        Assert.Contains("only .gif", err);
    }
}
