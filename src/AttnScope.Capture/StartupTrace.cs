namespace AttnScope.Capture;

/// <summary>
/// Where a command's time goes, for the end-to-end benchmark: with the environment variable
/// <c>ATTNSCOPE_TIMINGS=1</c>, each stage a command passes (runtime started, command line parsed, capture read,
/// figure laid out, painted, encoded, written) is printed to standard error with the milliseconds since the process
/// started. Off (and free) otherwise.
/// </summary>
internal static class StartupTrace
{
    private static readonly bool On = Environment.GetEnvironmentVariable("ATTNSCOPE_TIMINGS") == "1";
    private static readonly DateTime Start = On ? System.Diagnostics.Process.GetCurrentProcess().StartTime : default;

    public static void Mark(string stage)
    {
        if (On) Console.Error.WriteLine($"[{(DateTime.Now - Start).TotalMilliseconds,7:0.0} ms] {stage}");
    }
}
