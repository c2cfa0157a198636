using AttnScope.Tests.Support;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Model;
using AttnScope.Training.Training;

namespace AttnScope.Tests.Training;

public class RunTrainerTests
{
    /// <summary>A log that requests cancellation (as Ctrl-C does) once a given text has been written.</summary>
    private sealed class CancellingWriter(CancellationTokenSource cancel, string trigger) : StringWriter
    {
        public override void Write(string? value)
        {
            base.Write(value);
            if (value is not null && value.Contains(trigger)) cancel.Cancel();
        }

        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.Contains(trigger)) cancel.Cancel();
        }
    }

    [Fact]
    public void CancellationSavesACheckpointAndStopsCleanly()
    {
        using var dir = new TempDir();
        using var cancel = new CancellationTokenSource();
        var log = new CancellingWriter(cancel, "step 1/50");
        var outcome = RunTrainer.Run(new TrainRequest
        {
            Out = dir.File("run"), Steps = 50,
            Model = new TransformerConfig { Dim = 16, Heads = 2, FeedForward = 32, EncoderLayers = 1, DecoderLayers = 1 },
            Options = new TrainingOptions { BuiltinTrainPairs = 200, BuiltinTestPairs = 5, VocabSize = 200, BatchTokens = 300, CheckpointEvery = 100 },
        }, log, interactive: false, cancel.Token);
        Assert.True(outcome.Cancelled);
        Assert.Equal(1, outcome.Step);
        Assert.Null(outcome.Evaluation);
        var run = RunFolder.Open(dir.File("run"));
        Assert.Equal([0, 1], run.Checkpoints().Select(c => c.Step));
        Assert.Contains("--resume", log.ToString());
    }

    [Fact]
    public void ProgressIsOneRewrittenLineOnATerminalAndPlainLinesOtherwise()
    {
        var report = new StepReport(1, new StepLoss(20, 18, 10), 1e-3, 0.5, 12);
        var terminal = new StringWriter();
        var p = new ProgressReporter(terminal, interactive: true, stepLimit: 3, secondsLimit: 0);
        p.Update(report);
        p.Update(report with { Step = 2 }, force: true);
        p.Update(report with { Step = 3 });
        p.Finish();
        var text = terminal.ToString();
        Assert.StartsWith("\r[", text);
        Assert.Contains("step 3/3", text);
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // one line, rewritten
        Assert.Contains("tok/s", text);
        Assert.Contains("ETA", text);

        var plain = new StringWriter();
        p = new ProgressReporter(plain, interactive: false, stepLimit: 0, secondsLimit: 60);
        p.Update(report);
        p.Update(report with { Step = 2 });
        p.Finish();
        var lines = plain.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length); // the first step, and the last one on finishing
        Assert.DoesNotContain("\r", plain.ToString().Replace("\r\n", "\n"));
        Assert.Contains("step 2 ", lines[1]);
    }
}
