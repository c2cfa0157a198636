using System.Diagnostics;
using System.Text;
using AttnScope.Capture;
using Xunit.Abstractions;

namespace AttnScope.Tests.Fuzz;

/// <summary>
/// One bounded fuzz campaign over a reader: a fixed seed, a time budget and an iteration cap. Every mutated input
/// must either be read or be refused with an <see cref="AttnScopeException"/> (what the CLI turns into exit code 1
/// and one line); any other exception fails the test, with the input that caused it. The bytes the reader
/// allocates on this thread are measured per input and must stay below the stated limit.
/// </summary>
public sealed class FuzzRun
{
    /// <summary>Multiplies every time budget and iteration cap (ATTNSCOPE_FUZZ_SCALE, default 1): longer runs by hand.</summary>
    public static double Scale => double.TryParse(Environment.GetEnvironmentVariable("ATTNSCOPE_FUZZ_SCALE"), System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 1;

    /// <summary>Added to every seed (ATTNSCOPE_FUZZ_SEED, default 0): other inputs by hand, the same ones in CI.</summary>
    public static int SeedOffset => int.TryParse(Environment.GetEnvironmentVariable("ATTNSCOPE_FUZZ_SEED"), out var s) ? s : 0;

    public required string Name { get; init; }
    public required int Seed { get; init; }
    public required IReadOnlyList<byte[]> Seeds { get; init; }
    /// <summary>Whether the inputs are text (JSON, lines): adds number, value, line and control-character mutations.</summary>
    public bool Text { get; init; }
    public TimeSpan Budget { get; init; } = TimeSpan.FromSeconds(4);
    public int MaxIterations { get; init; } = 1_000_000;
    /// <summary>The allocation limit for one input, from its length.</summary>
    public required Func<int, long> AllocationLimit { get; init; }

    /// <summary>What happened over the campaign.</summary>
    public sealed record Outcome(int Iterations, int Accepted, int Refused, long MaxAllocated, double MaxRatio);

    /// <summary>Runs <paramref name="target"/> on the seeds (which must be accepted) and on mutations of them.</summary>
    public Outcome Execute(Action<byte[]> target, ITestOutputHelper? log = null)
    {
        var failures = new List<string>();
        var rng = new Random(Seed + SeedOffset);
        int iterations = 0, accepted = 0, refused = 0;
        long maxAllocated = 0;
        double maxRatio = 0;
        foreach (var seed in Seeds) target(seed); // the valid files are read as they are
        var clock = Stopwatch.StartNew();
        var budget = Budget * Scale;
        int cap = (int)Math.Min(int.MaxValue, MaxIterations * Scale);
        while (iterations < cap && clock.Elapsed < budget && failures.Count < 5)
        {
            var input = Mutator.Mutate(Seeds[rng.Next(Seeds.Count)], rng, Text);
            iterations++;
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                target(input);
                accepted++;
            }
            catch (AttnScopeException e)
            {
                refused++;
                // The CLI prints the message escaped on one line (TokenText.Escaped); it must say something.
                if (string.IsNullOrWhiteSpace(e.Message)) failures.Add($"refused without a message for {Show(input)}");
            }
            catch (Exception e)
            {
                failures.Add($"{e.GetType().Name}: {e.Message} for {Show(input)}\n{e.StackTrace}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            maxAllocated = Math.Max(maxAllocated, allocated);
            maxRatio = Math.Max(maxRatio, allocated / (double)Math.Max(1, input.Length));
            long limit = AllocationLimit(input.Length);
            if (allocated > limit) failures.Add($"allocated {allocated:N0} bytes (limit {limit:N0}) for {input.Length} bytes: {Show(input)}");
        }
        var outcome = new Outcome(iterations, accepted, refused, maxAllocated, maxRatio);
        log?.WriteLine($"{Name}: {outcome} in {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(failures.Count == 0, $"{Name} (seed {Seed + SeedOffset}): {failures.Count} failure(s):\n" + string.Join("\n\n", failures));
        Assert.True(iterations >= Math.Min(cap, 50), $"{Name}: only {iterations} inputs in {budget.TotalSeconds} s");
        return outcome;
    }

    /// <summary>The input as text when it is short, else its length and base64 head.</summary>
    private static string Show(byte[] input)
    {
        if (input.Length <= 400)
        {
            var text = Encoding.UTF8.GetString(input);
            return $"[{input.Length} bytes] base64:{Convert.ToBase64String(input)} text:{TokenText.Escaped(text)}";
        }
        return $"[{input.Length} bytes] base64 head:{Convert.ToBase64String(input, 0, 400)}";
    }
}
