using AttnScope.Analyses.Relevance;
using AttnScope.Sources;
using static AttnScope.Bench.Timing;

namespace AttnScope.Bench;

/// <summary>
/// Gradient-weighted relevance on all-MiniLM-L6-v2 (double-precision forward + backward to every attention
/// probability, then the relevance rule) against the forward passes it explains, measured in the same run: the
/// managed engine's float32 forward and ONNX Runtime's forward with attention outputs. The ratio says how many
/// forward passes one explanation costs.
/// </summary>
public static class RelevanceBenchmark
{
    public static int Run(string[] args)
    {
        var lengths = args.SkipWhile(a => a != "--lengths").Skip(1).Select(s => s.Split(',').Select(int.Parse).ToArray()).FirstOrDefault([16, 128, 512]);
        int runs = args.SkipWhile(a => a != "--runs").Skip(1).Select(int.Parse).FirstOrDefault(5);
        Console.WriteLine("AttnScope gradient relevance benchmark: all-MiniLM-L6-v2, cosine target against a 9-token text");
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, .NET {Environment.Version}");
        using var managed = ModelSession.Open("minilm", EngineKind.Managed);
        using var onnx = ModelSession.Open("minilm", EngineKind.Onnx);
        var relevance = new EmbeddingRelevance(managed);
        var words = string.Concat(Enumerable.Repeat("Attention lets every token look at every other token, weighting what it sees by learned relevance. ", 60))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        const string compare = "A model weighs the words it reads.";

        Console.WriteLine();
        Console.WriteLine($"{"tokens",6} {"relevance ms",13} {"managed fwd ms",15} {"ORT+attn fwd ms",16} {"relevance/managed",18} {"relevance/ORT",14}");
        foreach (var n in lengths)
        {
            // The longest prefix of whole words that fits in n tokens, so the capture's text re-tokenises to its tokens.
            int count = 1;
            while (count < words.Length && managed.Encode(string.Join(' ', words[..(count + 1)])).Length <= n) count++;
            var text = string.Join(' ', words[..count]);
            var capture = managed.Capture(text);
            var input = managed.Encode(text);
            Action explain = () => relevance.Explain(capture, compare);
            Action forward = () => managed.Source.Run([input], captureQkv: false);
            Action ort = () => onnx.Source.Run([input], captureQkv: false);
            explain(); forward(); ort();
            var te = new double[runs]; var tf = new double[runs]; var to = new double[runs];
            for (int i = 0; i < runs; i++)
            {
                te[i] = Time(explain);
                tf[i] = Time(forward);
                to[i] = Time(ort);
            }
            double e = Median(te), f = Median(tf), o = Median(to);
            Console.WriteLine($"{input.Length,6} {e,13:F1} {f,15:F2} {o,16:F2} {e / f,18:F1} {e / o,14:F1}");
        }
        return 0;
    }
}
