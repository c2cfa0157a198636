using System.Diagnostics;

namespace AttnScope.Sources.Engine;

/// <summary>Opt-in wall-clock totals per forward-pass stage, for the benchmark. Off by default (one branch per stage).</summary>
internal static class EngineProfile
{
    public enum Part { Qkv, Attention, AttentionOutput, LayerNorm, Intermediate, Activation, Output, HeadPack, HeadScores, HeadSoftmax, HeadContext }

    public static bool Enabled { get; set; }
    private static readonly long[] Ticks = new long[Enum.GetValues<Part>().Length];

    public static long Now() => Enabled ? Stopwatch.GetTimestamp() : 0;

    public static long Add(Part part, long start)
    {
        if (!Enabled) return 0;
        long now = Stopwatch.GetTimestamp();
        Interlocked.Add(ref Ticks[(int)part], now - start);
        return now;
    }

    public static void Reset() => Array.Clear(Ticks);

    /// <summary>The totals so far in milliseconds, one per <see cref="Part"/>, so a caller can split them by phase.</summary>
    public static double[] Snapshot() => Ticks.Select(t => t * 1000.0 / Stopwatch.Frequency).ToArray();

    public static string Report(int runs) => string.Join(", ", Enum.GetValues<Part>().Select(p =>
        $"{p} {Ticks[(int)p] * 1000.0 / Stopwatch.Frequency / Math.Max(1, runs):F1}"));
}
