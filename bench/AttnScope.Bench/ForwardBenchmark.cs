using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Sources.Models;
using AttnScope.Sources.Onnx;
using AttnScope.Sources.Tokenization;
using Microsoft.ML.OnnxRuntime;

using static AttnScope.Bench.Timing;

namespace AttnScope.Bench;

/// <summary>
/// The README's benchmark: milliseconds per forward pass on the embedded all-MiniLM-L6-v2 at 16, 128 and 512
/// tokens, for the managed engine (capturing all attention, as it always does) and ONNX Runtime measured in the
/// same run — both a plain ONNX Runtime forward (the model as exported, no extra outputs) and ONNX Runtime with
/// AttnScope's attention outputs added. The runs alternate so background load hits both alike; medians reported.
/// </summary>
public static class ForwardBenchmark
{
    public sealed record Result(int Tokens, double ManagedMs, double OnnxMs, double OnnxCaptureMs)
    {
        public double Ratio => OnnxMs / ManagedMs;
        public double CaptureRatio => OnnxCaptureMs / ManagedMs;
    }

    public static int Run(int[] lengths, int runs, string? jsonPath)
    {
        Console.WriteLine($"AttnScope forward benchmark: all-MiniLM-L6-v2 (6 layers, 12 heads, hidden 384), batch 1");
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, {RuntimeInfo()}");
        using var managed = ModelSession.Open("minilm", EngineKind.Managed);
        var onnxPath = EmbeddedMiniLm.Extract().OnnxPath;
        using var capture = OnnxAttentionSource.Load(onnxPath);
        using var plain = new InferenceSession(onnxPath, OnnxSessionSettings.Default.CreateSessionOptions());
        var text = string.Concat(Enumerable.Repeat("Attention lets every token look at every other token, weighting what it sees by learned relevance. ", 60));

        Console.WriteLine();
        Console.WriteLine($"{"tokens",6} {"managed ms",11} {"ORT ms",9} {"ORT+attn ms",12} {"ORT/managed",12} {"ORT+attn/managed",17}");
        var results = new List<Result>();
        foreach (var n in lengths)
        {
            var input = Cut(managed.Encode(text), n);
            using var feeds = new Feeds(input);
            using var runOptions = new RunOptions();
            var outputNames = plain.OutputNames.ToList();
            Action runManaged = () => managed.Source.Run([input], captureQkv: false);
            Action runPlain = () => { using var r = plain.Run(runOptions, Feeds.Names, feeds.Values, outputNames); };
            Action runCapture = () => capture.Run([input]);
            int r = n <= 32 ? runs * 4 : runs;
            for (int w = 0; w < 3; w++) { runManaged(); runPlain(); runCapture(); }
            var tm = new double[r]; var tp = new double[r]; var tc = new double[r];
            for (int i = 0; i < r; i++)
            {
                tm[i] = Time(runManaged);
                tp[i] = Time(runPlain);
                tc[i] = Time(runCapture);
            }
            var res = new Result(n, Median(tm), Median(tp), Median(tc));
            results.Add(res);
            Console.WriteLine($"{n,6} {res.ManagedMs,11:F2} {res.OnnxMs,9:F2} {res.OnnxCaptureMs,12:F2} {res.Ratio,11:F2}× {res.CaptureRatio,16:F2}×");
        }
        Console.WriteLine();
        Console.WriteLine("ratio > 1: the managed engine (capturing all attention) is faster than ONNX Runtime.");

        if (jsonPath is not null)
        {
            var json = JsonSerializer.Serialize(new
            {
                model = "all-MiniLM-L6-v2",
                machine = new { cores = Environment.ProcessorCount, runtime = RuntimeInfo() },
                results = results.Select(x => new
                {
                    tokens = x.Tokens,
                    managed_ms = Math.Round(x.ManagedMs, 3),
                    onnx_ms = Math.Round(x.OnnxMs, 3),
                    onnx_capture_ms = Math.Round(x.OnnxCaptureMs, 3),
                    ratio = Math.Round(x.Ratio, 3),
                }),
            }, new JsonSerializerOptions { WriteIndented = true });
            AttnScope.Capture.Io.AtomicFile.WriteAllBytes(jsonPath, System.Text.Encoding.UTF8.GetBytes(json));
            Console.WriteLine($"wrote {jsonPath}");
        }
        return 0;
    }

    /// <summary>The first n tokens of an encoded text, ending with [SEP] as a real n-token input would.</summary>
    internal static EncodedInput Cut(EncodedInput e, int n)
    {
        if (n < 2 || n > e.Length) throw new AttnScopeException($"cannot make a {n}-token input (2..{e.Length})");
        var tokens = e.Tokens.Take(n - 1).Append(e.Tokens[^1]).ToList();
        return new EncodedInput(tokens.Select(t => t.Id).ToArray(), new int[n], tokens, []);
    }

    /// <summary>The model's three int64 inputs as ONNX Runtime values (its fast OrtValue API, no copies of outputs).</summary>
    private sealed class Feeds : IDisposable
    {
        public static readonly string[] Names = ["input_ids", "attention_mask", "token_type_ids"];
        public OrtValue[] Values { get; }

        public Feeds(EncodedInput e)
        {
            long[] shape = [1, e.Length];
            Values =
            [
                OrtValue.CreateTensorValueFromMemory(e.Ids.Select(x => (long)x).ToArray(), shape),
                OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, e.Length).ToArray(), shape),
                OrtValue.CreateTensorValueFromMemory(new long[e.Length], shape),
            ];
        }

        public void Dispose()
        {
            foreach (var v in Values) v.Dispose();
        }
    }

    private static string RuntimeInfo() =>
        $".NET {Environment.Version}, AVX2 {System.Runtime.Intrinsics.X86.Avx2.IsSupported}, FMA {System.Runtime.Intrinsics.X86.Fma.IsSupported}, " +
        $"Vector512 {Vector512.IsHardwareAccelerated}, ONNX Runtime 1.31.1 (CPU)";
}
