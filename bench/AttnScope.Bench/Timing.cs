using System.Diagnostics;

namespace AttnScope.Bench;

/// <summary>Timing helpers shared by the benchmarks.</summary>
public static class Timing
{
    /// <summary>
    /// Times one run after a short pause, so that neither side's spinning worker threads (ONNX Runtime's pool spins
    /// after a run, and so does the engine's) eat into the other's time when two contestants alternate.
    /// </summary>
    public static double Time(Action run)
    {
        Thread.Sleep(60);
        var t = Stopwatch.StartNew();
        run();
        return t.Elapsed.TotalMilliseconds;
    }

    public static double Median(double[] times)
    {
        var s = times.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>Median wall time of <paramref name="runs"/> back-to-back runs after two warm-up runs.</summary>
    public static double Median(int runs, Action run)
    {
        run(); run();
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            var t = Stopwatch.StartNew();
            run();
            times[i] = t.Elapsed.TotalMilliseconds;
        }
        return Median(times);
    }
}
