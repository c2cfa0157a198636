using System.Diagnostics;
using System.Globalization;
using System.Text;
using AttnScope.Analyses.Attention;
using AttnScope.Analyses.Flow;
using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Sources;

namespace AttnScope.Bench;

/// <summary>
/// Exact attention flow (last layer × all inputs) at 6 × 32 and 12 × 128: AttnScope's warm-started push–relabel
/// against, in the same run, plain Edmonds–Karp per pair (ReferenceMaxFlow, timed on a sample of pairs and scaled
/// to all of them) and, when Debian's python3-networkx is there, the networkx max-flow per
/// pair that Abnar &amp; Zuidema's code uses (flow_networkx.py; slow, so at 6 × 16 and 6 × 32 only, run once).
/// </summary>
public static class FlowBenchmark
{
    private const string Text =
        "Attention lets every token look at every other token, weighting what it sees by learned relevance. " +
        "The flow of information from the words of a sentence to its final representation is not one head's map: " +
        "it passes through every layer, mixed with the residual stream, and max flow follows all of those paths at once. ";

    public static int Run(string[] args)
    {
        int runs = Option(args, "--runs", 3);
        int peerPairs = Option(args, "--peer-pairs", 6);
        bool networkx = !args.Contains("--no-networkx");
        Console.WriteLine("AttnScope attention-flow benchmark: exact max flow, last layer × all input tokens");
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, .NET {Environment.Version}");
        using var model = ModelSession.Open("minilm");
        var m32 = MiniLm(model, 32);
        var m128 = MiniLm(model, 128);
        var cases = new (string Name, float[] Matrices, int Layers, int N)[]
        {
            ("MiniLM, 6 × 32", m32, 6, 32),
            ("MiniLM twice, 12 × 128", [.. m128, .. m128], 12, 128),
            ("synthetic BERT-like, 12 × 128", Synthetic(12, 128), 12, 128),
        };

        Console.WriteLine();
        Console.WriteLine($"{"case",-30} {"2 threads ms",13} {"1 thread ms",12} {"Edmonds–Karp ms",16} {"EK ÷ 2 threads",15} {"max |diff|",11}");
        foreach (var (name, matrices, layers, n) in cases)
        {
            double[] flows = [];
            double two = Timing.Median(runs, () => flows = AttentionFlow.MaxFlows(matrices, layers, n, threads: 2));
            double one = Timing.Median(Math.Max(1, runs / 2), () => AttentionFlow.MaxFlows(matrices, layers, n, threads: 1));
            var (peerMs, sampled, diff) = EdmondsKarp(matrices, layers, n, flows, peerPairs);
            Console.WriteLine($"{name,-30} {two,13:F1} {one,12:F1} {peerMs,16:F0}{(sampled ? "*" : " ")} {peerMs / two,14:F0}× {diff,11:E1}");
        }
        Console.WriteLine("* Edmonds–Karp timed on a sample of pairs and scaled to all n² pairs (one thread; it has no warm start).");

        if (networkx) NetworkX(model);
        return 0;
    }

    private static int Option(string[] args, string name, int fallback) =>
        args.SkipWhile(a => a != name).Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(fallback);

    /// <summary>The residual-augmented, head-averaged layers of all-MiniLM-L6-v2 on a real text cut to n tokens.</summary>
    internal static float[] MiniLm(ModelSession model, int n)
    {
        var input = ForwardBenchmark.Cut(model.Encode(string.Concat(Enumerable.Repeat(Text, 4))), n);
        var capture = CaptureBuilder.Build(model.Files.Id, model.Config.ModelType, model.Source.Name, input,
            model.Source.Run([input], false)[0], Text, null);
        var s = capture.Stack(AttentionStack.Encoder);
        return LayerMatrices.Augmented(s, HeadFusion.Mean, 0f, 0, s.Layers);
    }

    /// <summary>BERT-like softmax attention ([CLS]/[SEP] sinks, previous token, local window, self), 12 heads, augmented.</summary>
    private static float[] Synthetic(int layers, int n)
    {
        var s = ViewsBenchmark.SyntheticCapture(layers, 12, n, seed: 7).Stack(AttentionStack.Encoder);
        return LayerMatrices.Augmented(s, HeadFusion.Mean, 0f, 0, layers);
    }

    /// <summary>Plain Edmonds–Karp per pair on one thread, and the largest difference from AttnScope's values.</summary>
    private static (double Ms, bool Sampled, double MaxDiff) EdmondsKarp(float[] matrices, int layers, int n, double[] ours, int samplePairs)
    {
        var peer = new ReferenceMaxFlow(FlowNetwork.From(matrices, layers, n));
        // All pairs would take Edmonds–Karp minutes (hours at 12 × 128): it is timed on a spread-out sample of
        // samplePairs · (128 / n)² pairs and scaled to all n².
        var pairs = new List<(int S, int T)>();
        long sample = Math.Min((long)n * n, (long)samplePairs * (128 / n) * (128 / n));
        bool sampled = sample < (long)n * n;
        var rng = new Random(1);
        if (!sampled) for (int s = 0; s < n; s++) for (int t = 0; t < n; t++) pairs.Add((s, t));
        else while (pairs.Count < sample) pairs.Add((rng.Next(n), rng.Next(n)));
        double diff = 0;
        var clock = Stopwatch.StartNew();
        foreach (var (s, t) in pairs) diff = Math.Max(diff, Math.Abs(peer.Solve(s, t) - ours[s * n + t]));
        double ms = clock.Elapsed.TotalMilliseconds * ((double)n * n / pairs.Count);
        return (ms, sampled, diff);
    }

    /// <summary>Abnar &amp; Zuidema's approach (a networkx DiGraph, one maximum_flow_value per pair) on the same MiniLM layers.</summary>
    private static void NetworkX(ModelSession model)
    {
        Console.WriteLine();
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var check = ViewsBenchmark.Exec(python, ["-c", "import networkx; print(networkx.__version__)"]);
        if (check.Code != 0)
        {
            Console.WriteLine("networkx  MISSING: the peer needs Debian's python3-networkx (apt-get install -y python3-networkx); no networkx ratios this run");
            return;
        }
        Console.WriteLine($"networkx {check.Out.Trim()} (Edmonds–Karp per pair, as in Abnar & Zuidema's code; one run each):");
        Console.WriteLine($"{"case",-30} {"networkx ms",12} {"AttnScope ms",13} {"networkx ÷ AttnScope",21} {"max |diff|",11}");
        var script = Path.Combine(AppContext.BaseDirectory, "flow_networkx.py");
        foreach (int n in new[] { 16, 32 })
        {
            var matrices = MiniLm(model, n);
            double[] ours = [];
            double ms = Timing.Median(5, () => ours = AttentionFlow.MaxFlows(matrices, 6, n, threads: 2));
            var file = Path.Combine(Path.GetTempPath(), $"attnscope-flow-{Environment.ProcessId}-{n}.txt");
            var text = new StringBuilder($"{6} {n}\n");
            foreach (var v in matrices) text.Append(((double)v).ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            File.WriteAllText(file, text.ToString());
            try
            {
                var run = ViewsBenchmark.Exec(python, [script, file]);
                if (run.Code != 0) { Console.WriteLine($"6 × {n}: networkx failed: {run.Err.Trim()}"); continue; }
                var lines = run.Out.Trim().Split('\n');
                double peerMs = double.Parse(lines[0], CultureInfo.InvariantCulture);
                var values = lines[1].Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
                double diff = values.Select((v, k) => Math.Abs(v - ours[k])).Max();
                Console.WriteLine($"{$"MiniLM, 6 × {n}",-30} {peerMs,12:F0} {ms,13:F2} {peerMs / ms,20:F0}× {diff,11:E1}");
            }
            finally { File.Delete(file); }
        }
    }
}
