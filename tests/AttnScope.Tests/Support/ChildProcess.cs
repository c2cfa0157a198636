using System.Diagnostics;

namespace AttnScope.Tests.Support;

/// <summary>
/// Runs an external program to completion with a time limit: standard output and error are read concurrently (no
/// pipe deadlock), and on timeout the whole process tree is killed and the test fails with what it printed so far.
/// </summary>
public static class ChildProcess
{
    /// <summary>What a finished program returned.</summary>
    public sealed record Result(int ExitCode, string Out, string Err, TimeSpan Elapsed)
    {
        /// <summary>Exit code, command and both streams, for an assertion message.</summary>
        public string Describe(string what) => $"{what}: exit {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout\n{Out}\n--- stderr\n{Err}";
    }

    /// <summary>
    /// Runs <paramref name="file"/> with <paramref name="args"/> in <paramref name="workingDirectory"/>;
    /// <paramref name="environment"/> entries set (non-null) or remove (null) variables of the inherited environment.
    /// </summary>
    public static Result Run(string file, IEnumerable<string> args, string workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) psi.Environment.Remove(key);
            else psi.Environment[key] = value;
        }
        var clock = Stopwatch.StartNew();
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { /* already gone */ }
            p.WaitForExit();
            Assert.Fail($"{file} {string.Join(' ', psi.ArgumentList)} did not finish within {timeout.TotalSeconds:F0} s\n" +
                $"--- stdout\n{Completed(stdout)}\n--- stderr\n{Completed(stderr)}");
        }
        p.WaitForExit(); // lets the asynchronous readers drain
        if (!Task.WaitAll([stdout, stderr], TimeSpan.FromSeconds(30)))
            Assert.Fail($"{file} {string.Join(' ', psi.ArgumentList)} exited but a process it started still holds its output open");
        return new Result(p.ExitCode, stdout.Result, stderr.Result, clock.Elapsed);
    }

    private static string Completed(Task<string> read) =>
        read.Wait(TimeSpan.FromSeconds(5)) ? read.Result : "(still open: a child process holds the pipe)";
}
