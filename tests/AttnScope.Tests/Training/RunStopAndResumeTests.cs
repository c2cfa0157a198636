using System.Diagnostics;
using System.Runtime.InteropServices;
using AttnScope.Tests.Packaging;
using AttnScope.Tests.Support;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Model;
using AttnScope.Training.Training;

namespace AttnScope.Tests.Training;

/// <summary>log.tsv is written as the run goes, SIGTERM stops a run like Ctrl-C, and resuming continues the run's
/// remaining budget unless given a new one (both commands are printed).</summary>
public partial class RunStopAndResumeTests
{
    private static TrainRequest Tiny(string run, long steps) => new()
    {
        Out = run, Steps = steps, Evaluate = false,
        Model = new TransformerConfig { Dim = 16, Heads = 2, FeedForward = 32, EncoderLayers = 1, DecoderLayers = 1 },
        Options = new TrainingOptions { BuiltinTrainPairs = 200, BuiltinTestPairs = 5, VocabSize = 200, BatchTokens = 300, CheckpointEvery = 100_000 },
    };

    private static string ReadShared(string path)
    {
        try
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return new StreamReader(s).ReadToEnd();
        }
        catch (IOException) { return ""; }
    }

    [Fact]
    public void LogTsvIsWrittenWhileTheRunGoes()
    {
        using var dir = new TempDir();
        var run = dir.File("run");
        using var cancel = new CancellationTokenSource();
        var training = Task.Run(() => RunTrainer.Run(Tiny(run, 1_000_000), TextWriter.Null, interactive: false, cancel.Token));
        var logPath = Path.Combine(run, "log.tsv");
        string seen = "";
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(90) && !training.IsCompleted)
        {
            seen = ReadShared(logPath);
            if (seen.Split('\n').Any(l => l.StartsWith("1\t"))) break;
            Thread.Sleep(50);
        }
        cancel.Cancel();
        var outcome = training.GetAwaiter().GetResult();
        Assert.True(outcome.Cancelled);
        Assert.StartsWith("step\tloss", seen);                              // read while the run was still going
        Assert.Contains(seen.Split('\n'), l => l.StartsWith("1\t"));
    }

    private sealed class CancellingWriter(CancellationTokenSource cancel, string trigger) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.Contains(trigger)) cancel.Cancel();
        }
    }

    [Fact]
    public void ResumeAloneContinuesTheRunsBudgetAndMinutesGiveANewOne()
    {
        using var dir = new TempDir();
        var run = dir.File("run");
        using (var cancel = new CancellationTokenSource())
        {
            var log = new CancellingWriter(cancel, "step 1/6");
            var first = RunTrainer.Run(Tiny(run, 6), log, interactive: false, cancel.Token);
            Assert.Equal(1, first.Step);
            var text = log.ToString();
            Assert.Contains($"resume with: attnscope train --out {run} --resume   (continues to step 6)", text);
            Assert.Contains($"or: attnscope train --out {run} --resume --minutes {TrainingDefaults.Minutes}   (a new {TrainingDefaults.Minutes}-minute budget from now)", text);
        }
        Assert.Equal(6, RunFolder.Open(run).Config.Training.MaxSteps); // the budget is saved with the run

        var resumed = new StringWriter();
        var second = RunTrainer.Run(Tiny(run, 0) with { Resume = true }, resumed, interactive: false, CancellationToken.None);
        Assert.Equal(6, second.Step);                                   // the saved target, not an open-ended session
        Assert.Contains("continuing the run's budget (step 6)", resumed.ToString());
        Assert.Contains("used up", resumed.ToString());                 // and says how to train more

        var e = Assert.Throws<AttnScope.Capture.AttnScopeException>(() =>
            RunTrainer.Run(Tiny(run, 0) with { Resume = true }, new StringWriter(), interactive: false, CancellationToken.None));
        Assert.Contains("--minutes N", e.Message);

        // a new budget: 0.001 minutes from now, saved so that a later --resume alone continues it
        var more = new StringWriter();
        RunTrainer.Run(Tiny(run, 0) with { Resume = true, Minutes = 0.001 }, more, interactive: false, CancellationToken.None);
        Assert.Contains("new budget for this run", more.ToString());
        var saved = RunFolder.Open(run).Config.Training;
        Assert.Equal(0, saved.MaxSteps);
        Assert.True(saved.MaxMinutes > 0.001, $"{saved.MaxMinutes}"); // time already spent plus the new minutes
    }

    [Fact]
    public void TheBudgetLeftIsTheRunsTotalLessTheTrainingTimeSpent()
    {
        var budget = new TrainingBudget(0, 12);
        Assert.Equal(7, budget.RemainingMinutes(300), 9);
        Assert.Equal((0L, 7.0), budget.SessionLimits(300));
        Assert.Same(budget, TrainingBudget.ForResume(budget, 0, 0, 300));
        var fresh = TrainingBudget.ForResume(budget, 0, 5, 300);
        Assert.Equal((0L, 5.0), fresh.SessionLimits(300));             // 5 minutes from now
        Assert.True(budget.IsUsedUp(0, 12 * 60));
        var hints = budget.ResumeHints("runs/a b", 40, 300);
        Assert.Contains("--out 'runs/a b' --resume   (continues with the remaining 07:00 of the run's 12 minutes of training)", hints[0]);
        Assert.Contains("--resume --minutes 12   (a new 12-minute budget from now)", hints[1]);
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int SendSignal(int pid, int signal);

    [Fact]
    public void SigtermStopsTrainingLikeCtrlC()
    {
        if (OperatingSystem.IsWindows()) return; // no SIGTERM there
        using var dir = new TempDir();
        var run = dir.File("run");
        var psi = new ProcessStartInfo(ToolPackageTests.DotnetHost())
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in (string[])[Path.Combine(AppContext.BaseDirectory, "attnscope.dll"), "train", "--out", run, "--steps", "1000000",
                     "--checkpoint-every", "100000", "--no-evaluate", "--layers", "1", "--d-model", "16", "--heads", "2", "--d-ff", "32",
                     "--builtin-pairs", "200", "--builtin-test-pairs", "5", "--vocab-size", "200", "--batch-tokens", "300"])
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            var logPath = Path.Combine(run, "log.tsv");
            var clock = Stopwatch.StartNew();
            while (!p.HasExited && clock.Elapsed < TimeSpan.FromSeconds(120) && !ReadShared(logPath).Split('\n').Any(l => l.StartsWith("1\t")))
                Thread.Sleep(100);
            if (p.HasExited) Assert.Fail($"the run ended early: {stderr.Result}");
            Assert.Equal(0, SendSignal(p.Id, 15));
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)), "the run did not stop within 60 s of SIGTERM");
            p.WaitForExit();
            var output = stdout.Result;
            Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}\n{output}\n{stderr.Result}");
            Assert.Contains("(interrupted)", output);
            Assert.Contains("resume with: attnscope train --out", output);
            var checkpoints = RunFolder.Open(run).Checkpoints();
            Assert.True(checkpoints[^1].Step >= 1, "a checkpoint is saved at the step it stopped");
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
    }
}
