using System.Diagnostics;
using AttnScope.Corpus;
using AttnScope.Sources;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using static AttnScope.Tests.Corpus.CorpusTestData;

namespace AttnScope.Tests.Corpus;

/// <summary>A corpus run stopped midway (cancelled, or its process killed) resumes without losing or repeating a line.</summary>
[Collection("minilm")]
public sealed class CorpusResumeTests
{
    private static string[] ManyLines(int count) =>
        Enumerable.Range(0, count).Select(i => $"{Lines[i % Lines.Length]} This is sentence number {i}.".Trim()).ToArray();

    [Fact]
    public void CancelledRunResumesWithEveryLineExactlyOnce()
    {
        using var dir = new TempDir();
        var lines = ManyLines(23);
        var input = WriteText(dir, lines);
        var db = dir.File("c.duckdb");
        var options = new CorpusRunOptions { InputPath = input, DatabasePath = db, BatchSize = 4, QkHeads = [new HeadRef(1, 1)], QkTokens = 3 };
        using var cancel = new CancellationTokenSource();
        CorpusRunResult first;
        using (var session = ModelSession.Open("minilm"))
            first = CorpusRunner.Run(session, options, p => { if (p.NewThisRun >= 8) cancel.Cancel(); }, cancel.Token);
        Assert.True(first.Cancelled);
        Assert.Equal(8, first.Written);
        Assert.Equal(8, Longs(db, "SELECT count(*) FROM sentences")[0]);

        var (output, _) = RunCorpus("--input", input, "--out", db, "--batch", "4", "--qk-heads", "1.1", "--qk-tokens", "3");
        Assert.Contains("15 new sentences", output);
        Assert.Contains("8 from an earlier run", output);
        AssertComplete(db, NonBlankLines(lines));
        Assert.Equal(23 * 3, Longs(db, "SELECT count(*) FROM qk_vectors")[0]);
        Assert.Equal(23, Longs(db, "SELECT count(DISTINCT line) FROM head_attention")[0]);

        // A third run has nothing left to do.
        var (again, _) = RunCorpus("--input", input, "--out", db, "--batch", "4", "--qk-heads", "1.1", "--qk-tokens", "3");
        Assert.Contains("0 new sentences", again);
        AssertComplete(db, NonBlankLines(lines));
    }

    [Fact]
    public void ResumingWithOtherHeadsIsRefused()
    {
        using var dir = new TempDir();
        var input = WriteText(dir, Lines);
        var db = dir.File("c.duckdb");
        RunCorpus("--input", input, "--out", db, "--qk-heads", "1.1", "--limit", "2");
        var (code, _, err) = CliTests.Run("corpus", "--input", input, "--out", db, "--qk-heads", "2.2");
        CliTests.AssertOneLineError(code, err, "qk_heads = '1.1', not '2.2'");
    }

    [Fact]
    public void KilledProcessResumesWithEveryLineExactlyOnce()
    {
        using var dir = new TempDir();
        var lines = ManyLines(InterruptedRun.Sentences);
        var input = WriteText(dir, lines);
        var db = dir.File("c.duckdb");
        var dll = Path.Combine(AppContext.BaseDirectory, "attnscope.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "corpus", "--input", input, "--out", db, "--batch", "2" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        // Progress lines come after committed batches; kill the process once some lines are stored and more remain.
        var clock = Stopwatch.StartNew();
        bool killed = false;
        while (clock.Elapsed < TimeSpan.FromMinutes(3))
        {
            var line = p.StandardError.ReadLine();
            if (line is null) break;
            var m = System.Text.RegularExpressions.Regex.Match(line, $@"corpus: (\d+)/{InterruptedRun.Sentences} ");
            if (m.Success && int.Parse(m.Groups[1].Value) is > 0 and < InterruptedRun.Sentences - 100)
            {
                p.Kill(entireProcessTree: true);
                killed = true;
                break;
            }
        }
        p.WaitForExit();
        Assert.True(killed, "the run finished before it could be killed midway: " + stdout.Result);
        long before = Longs(db, "SELECT count(*) FROM sentences")[0];
        Assert.InRange(before, 1, InterruptedRun.Sentences - 1);

        var (output, _) = RunCorpus("--input", input, "--out", db, "--batch", "2");
        Assert.Contains($"{InterruptedRun.Sentences - before} new sentences", output);
        AssertComplete(db, NonBlankLines(lines));
    }
}

/// <summary>The length of the runs that are killed or interrupted midway.</summary>
internal static class InterruptedRun
{
    public const int Sentences = 300;
}

/// <summary>Ctrl-C (SIGINT) stops a run after its batch commits, with exit code 130 and a line saying how to go on.</summary>
[Collection("minilm")]
public sealed partial class CorpusInterruptTests
{
    private const int SigInt = 2;

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SendSignal(int pid, int signal);

    [Fact]
    public void InterruptStopsCleanlyAndTheSameCommandFinishes()
    {
        // A process started in the background by a non-interactive shell (`dotnet test ... &`) has SIGINT ignored, and
        // so has every process it starts: the child would rightly ignore the signal. Say so rather than fail obscurely.
        var ignored = File.Exists("/proc/self/status")
            ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:"))
            : null;
        if (ignored is not null)
            Assert.True((Convert.ToUInt64(ignored["SigIgn:".Length..].Trim(), 16) & (1UL << (SigInt - 1))) == 0,
                "this test process ignores SIGINT (it was started in the background, e.g. `dotnet test &`), so the corpus " +
                "process it starts would too: run the tests in the foreground");
        using var dir = new TempDir();
        var lines = Enumerable.Range(0, InterruptedRun.Sentences).Select(i => $"{Lines[i % Lines.Length]} Sentence {i} of the interrupted run.".Trim()).ToArray();
        var input = WriteText(dir, lines);
        var db = dir.File("c.duckdb");
        var dll = Path.Combine(AppContext.BaseDirectory, "attnscope.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "corpus", "--input", input, "--out", db, "--batch", "2" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var err = new System.Text.StringBuilder();
        bool sent = false;
        string? line;
        while ((line = p.StandardError.ReadLine()) is not null)
        {
            err.AppendLine(line);
            var m = System.Text.RegularExpressions.Regex.Match(line, $@"corpus: (\d+)/{InterruptedRun.Sentences} ");
            if (!sent && m.Success && int.Parse(m.Groups[1].Value) is > 0 and < InterruptedRun.Sentences - 100)
            {
                // Signalled directly (not through a `kill` process, whose start can take longer than the whole run).
                Assert.Equal(0, SendSignal(p.Id, SigInt));
                sent = true;
            }
        }
        Assert.True(p.WaitForExit(60_000));
        Assert.True(sent, "the run finished before it could be interrupted: " + stdout.Result);
        Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}\n{err}");
        Assert.Contains("run the same command again to go on", err.ToString());
        Assert.DoesNotContain("   at ", err.ToString());
        long before = Longs(db, "SELECT count(*) FROM sentences")[0];
        Assert.InRange(before, 1, InterruptedRun.Sentences - 1);
        var (output, _) = RunCorpus("--input", input, "--out", db, "--batch", "2");
        Assert.Contains($"{InterruptedRun.Sentences - before} new sentences", output);
        AssertComplete(db, NonBlankLines(lines));
    }
}

/// <summary>Shards of one input, run separately and merged, give the database of one run over the whole file.</summary>
[Collection("minilm")]
public sealed class CorpusShardTests
{
    [Fact]
    public void ShardsMergeIntoTheDatabaseOfOneRun()
    {
        using var dir = new TempDir();
        var input = WriteText(dir, Lines);
        var whole = dir.File("whole.duckdb");
        RunCorpus("--input", input, "--out", whole, "--qk-heads", "3.3", "--batch", "4");
        var shards = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            var s = dir.File($"shard{i}.duckdb");
            RunCorpus("--input", input, "--out", s, "--qk-heads", "3.3", "--shard", $"{i}/3");
            shards.Add(s);
        }
        Assert.Equal([1L, 7], Longs(shards[0], "SELECT line FROM sentences ORDER BY line")); // lines 1, 4 (blank), 7
        var merged = dir.File("merged.duckdb");
        var (code, output, err) = CliTests.Run(["corpus", "merge", "--out", merged, .. shards]);
        Assert.True(code == 0, err);
        Assert.Contains("wrote", output);
        AssertComplete(merged, NonBlankLines(Lines));
        // Merging again adds nothing.
        (code, output, _) = CliTests.Run(["corpus", "merge", "--out", merged, .. shards]);
        Assert.Equal(0, code);
        Assert.Contains("0 new sentences", output);
        AssertComplete(merged, NonBlankLines(Lines));
        // The same values as the single run, row for row.
        using var db = CorpusDatabase.Open(merged, create: false);
        db.Execute($"ATTACH '{whole}' AS whole (READ_ONLY)");
        Assert.Equal(0L, Convert.ToInt64(db.Scalar(
            "SELECT count(*) FROM head_stats m FULL JOIN whole.head_stats w USING (line, layer, head) " +
            "WHERE m.entropy IS NULL OR w.entropy IS NULL OR abs(m.entropy - w.entropy) > 1e-6 OR abs(m.previous_token - w.previous_token) > 1e-6")));
        Assert.Equal(Convert.ToInt64(db.Scalar("SELECT count(*) FROM whole.qk_vectors")), Convert.ToInt64(db.Scalar("SELECT count(*) FROM qk_vectors")));

        var other = dir.File("other.duckdb");
        RunCorpus("--input", input, "--out", other, "--limit", "1");
        (code, _, err) = CliTests.Run("corpus", "merge", "--out", merged, other);
        CliTests.AssertOneLineError(code, err, "qk_heads");
    }
}
