using AttnScope.Corpus;
using Spectre.Console;

namespace AttnScope.Cli;

/// <summary>
/// Shows a corpus run's progress: a Spectre.Console bar with rate and time left on an interactive terminal, else one
/// plain line on standard error at the start, after the first committed batch, then at most every few seconds (and at the end), which logs and tests can read.
/// </summary>
internal static class CorpusProgressDisplay
{
    /// <summary>Seconds between plain progress lines.</summary>
    public const double PlainInterval = 2;

    /// <summary>Runs <paramref name="work"/>, giving it the progress callback.</summary>
    public static CorpusRunResult Run(CliOutput output, Func<Action<CorpusProgress>, CorpusRunResult> work)
    {
        bool terminal = ReferenceEquals(output.Err, Console.Error) && !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (!terminal) return RunPlain(output, work);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        CorpusRunResult? result = null;
        double rate = 0;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RateColumn(() => Volatile.Read(ref rate)), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("sentences");
                result = work(p =>
                {
                    task.MaxValue = p.Total;
                    task.Value = p.Done;
                    task.Description = $"{p.Done}/{p.Total} sentences";
                    Volatile.Write(ref rate, p.Rate);
                });
            });
        return result!;
    }

    /// <summary>A column with the sentences per second of this run.</summary>
    private sealed class RateColumn(Func<double> rate) : ProgressColumn
    {
        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text($"{rate():F1} sentences/s");
    }

    private static CorpusRunResult RunPlain(CliOutput output, Func<Action<CorpusProgress>, CorpusRunResult> work)
    {
        var last = DateTime.MinValue;
        bool firstBatchShown = false;
        return work(p =>
        {
            var now = DateTime.UtcNow;
            // The first committed batch of this run is always shown: it gives the first rate and time left at once.
            bool firstBatch = !firstBatchShown && p.NewThisRun > 0;
            if (!firstBatch && (now - last).TotalSeconds < PlainInterval && p.Done < p.Total) return;
            firstBatchShown |= firstBatch;
            last = now;
            output.Err.WriteLine($"attnscope: corpus: {p.Done}/{p.Total} sentences ({100.0 * p.Done / p.Total:F0}%), " +
                $"{p.Rate:F1}/s, {(p.Left is { } left ? Left(left) : "time left unknown")}");
            output.Err.Flush();
        });
    }

    private static string Left(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m left" : $"{t.Minutes}:{t.Seconds:00} left";
}
