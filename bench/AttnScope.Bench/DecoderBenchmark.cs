using System.Diagnostics;
using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Engine;
using AttnScope.Sources.Models;
using AttnScope.Sources.Onnx;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;
using Microsoft.ML.OnnxRuntime;

namespace AttnScope.Bench;

/// <summary>
/// Decoder capture speed: the Transformer core against ONNX Runtime on the same random-weight decoders, both
/// returning every layer's attention probabilities. Per prompt length: the whole prompt in one pass (tokens/s), then
/// each generated token with the key/value cache (tokens/s). Usage:
/// <c>decoder [--lengths 128,512,2048] [--new 32] [--runs N] [--shapes gpt2-small,llama] [--json FILE] [--profile] [--dir DIR]</c>.
/// </summary>
public static class DecoderBenchmark
{
    /// <summary>One shape at one prompt length; ms are medians (prompt: over runs; step: over every generated token of every run).</summary>
    public sealed record Row(string Shape, int Tokens, int NewTokens, int Runs, double CorePromptMs, double OrtPromptMs, double CoreStepMs, double OrtStepMs)
    {
        public double PromptRatio => OrtPromptMs / CorePromptMs;
        public double StepRatio => OrtStepMs / CoreStepMs;
    }

    public static int Run(string[] args)
    {
        int[] lengths = [128, 512, 2048];
        int newTokens = 32, runs = 3;
        string[] shapes = ["gpt2-small", "llama"];
        string? json = null, dir = null;
        bool profile = false;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new AttnScopeException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--lengths": lengths = Next().Split(',').Select(int.Parse).ToArray(); break;
                case "--new": newTokens = int.Parse(Next()); break;
                case "--runs": runs = int.Parse(Next()); break;
                case "--shapes": shapes = Next().Split(','); break;
                case "--json": json = Next(); break;
                case "--dir": dir = Next(); break;
                case "--profile": profile = true; break;
                default: throw new AttnScopeException($"unknown option '{args[i]}' (expected --lengths, --new, --runs, --shapes, --json, --dir or --profile)");
            }
        }
        if (lengths.Length == 0 || lengths.Any(n => n < 1 || n > 8192)) throw new AttnScopeException("--lengths must be between 1 and 8192 tokens");
        if (newTokens < 1 || newTokens > 1024) throw new AttnScopeException("--new must be between 1 and 1024");
        if (runs < 1) throw new AttnScopeException("--runs must be at least 1");
        var shapeList = shapes.Select(DecoderShape.Parse).ToList();
        int positions = lengths.Max() + newTokens;

        Console.WriteLine("AttnScope decoder capture benchmark: the Transformer core vs ONNX Runtime, both returning every attention tensor");
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores ({CpuName()}), .NET {Environment.Version}, AVX2 {System.Runtime.Intrinsics.X86.Avx2.IsSupported}, FMA {System.Runtime.Intrinsics.X86.Fma.IsSupported}, Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, ONNX Runtime 1.31.1 CPU (default session options)");
        Console.WriteLine($"prompt lengths {string.Join(", ", lengths)}; {newTokens} generated tokens after each; {runs} timed runs after 1 warm-up; " +
            $"models built for {positions} positions (longest prompt + new tokens)");
        dir ??= Path.Combine(Path.GetTempPath(), "attnscope-bench-decoder");
        Directory.CreateDirectory(dir);

        var rows = new List<Row>();
        foreach (var shape in shapeList)
        {
            Console.WriteLine();
            Console.WriteLine($"{shape.Name}: {shape.Description}; {shape.Parameters(positions) / 1e6:F1}M parameters, random weights");
            var (model, session) = Prepare(shape, positions, Path.Combine(dir, shape.Name));
            using (session)
            {
                Check(model, session, shape);
                Console.WriteLine($"{"tokens",6} | {"prompt core ms",14} {"ORT ms",9} {"core tok/s",10} {"ORT tok/s",9} {"core÷ORT",8} | " +
                    $"{"token core ms",13} {"ORT ms",7} {"core tok/s",10} {"ORT tok/s",9} {"core÷ORT",8}");
                foreach (int n in lengths)
                {
                    var row = Measure(model, session, shape, n, newTokens, runs, profile);
                    rows.Add(row);
                    Console.WriteLine($"{n,6} | {row.CorePromptMs,14:F1} {row.OrtPromptMs,9:F1} {n * 1000 / row.CorePromptMs,10:F0} {n * 1000 / row.OrtPromptMs,9:F0} {row.PromptRatio,7:F2}× | " +
                        $"{row.CoreStepMs,13:F2} {row.OrtStepMs,7:F2} {1000 / row.CoreStepMs,10:F1} {1000 / row.OrtStepMs,9:F1} {row.StepRatio,7:F2}×");
                }
            }
            model = null;
            GC.Collect();
        }
        Console.WriteLine();
        Console.WriteLine("core÷ORT = ORT ms ÷ core ms (tokens/s ratio): above 1 means the core, capturing all attention, is faster.");
        Console.WriteLine("Both sides use a key/value cache when generating; each generated token returns that token's attention row in every layer and head.");

        if (json is not null)
        {
            var text = JsonSerializer.Serialize(new
            {
                benchmark = "decoder",
                machine = new { cores = Environment.ProcessorCount, cpu = CpuName(), runtime = $".NET {Environment.Version}", onnxruntime = "1.31.1" },
                positions,
                results = rows.Select(r => new
                {
                    shape = r.Shape, tokens = r.Tokens, new_tokens = r.NewTokens, runs = r.Runs,
                    prompt_core_ms = Math.Round(r.CorePromptMs, 3), prompt_ort_ms = Math.Round(r.OrtPromptMs, 3),
                    prompt_core_tokens_per_s = Math.Round(r.Tokens * 1000 / r.CorePromptMs, 1), prompt_ort_tokens_per_s = Math.Round(r.Tokens * 1000 / r.OrtPromptMs, 1),
                    prompt_ratio = Math.Round(r.PromptRatio, 3),
                    token_core_ms = Math.Round(r.CoreStepMs, 3), token_ort_ms = Math.Round(r.OrtStepMs, 3),
                    token_ratio = Math.Round(r.StepRatio, 3),
                }),
            }, new JsonSerializerOptions { WriteIndented = true });
            AttnScope.Capture.Io.AtomicFile.WriteAllBytes(json, System.Text.Encoding.UTF8.GetBytes(text));
            Console.WriteLine($"wrote {json}");
        }
        return 0;
    }

    /// <summary>Writes the model folder and the ONNX export of the same weights, then loads both sides.</summary>
    private static (TransformerModel Model, InferenceSession Session) Prepare(DecoderShape shape, int positions, string folder)
    {
        var sw = Stopwatch.StartNew();
        Directory.CreateDirectory(folder);
        string config = Path.Combine(folder, "config.json"), weightsPath = Path.Combine(folder, "model.safetensors"), onnx = Path.Combine(folder, "model.onnx");
        {
            var weights = shape.RandomWeights(positions);
            File.WriteAllText(config, shape.ConfigJson(positions));
            SafeTensorsFile.Write(weightsPath, weights.Select(kv => (kv.Key, kv.Value)), new Dictionary<string, string> { ["format"] = "pt" });
            DecoderOnnxExport.Write(shape, weights, positions, onnx);
        }
        GC.Collect();
        Console.WriteLine($"  wrote {folder}/config.json, model.safetensors ({new FileInfo(weightsPath).Length / 1e6:F0} MB) and model.onnx ({new FileInfo(onnx).Length / 1e6:F0} MB) in {sw.Elapsed.TotalSeconds:F1} s");
        sw.Restart();
        var model = ModelFamilies.LoadDecoder(config, SafetensorsWeights.Load(weightsPath));
        GC.Collect();
        var session = new InferenceSession(onnx, OnnxSessionSettings.Default.CreateSessionOptions());
        Console.WriteLine($"  loaded the core and an ONNX Runtime session in {sw.Elapsed.TotalSeconds:F1} s");
        return (model, session);
    }

    /// <summary>
    /// Not timed: a 16-token prompt and two cached steps on both sides, fed the same ids; the logits must agree within
    /// 1e-3 and the attention within 1e-4, or the benchmark stops (the two sides would not be doing the same job).
    /// </summary>
    private static void Check(TransformerModel model, InferenceSession session, DecoderShape shape)
    {
        var prompt = RandomIds(16, shape.Vocab, 7);
        var cache = model.NewCache(prompt.Length + 2);
        using var ort = new OrtDecoder(session, shape);
        double logitDiff = 0, attDiff = 0, maxLogit = 0;
        int[] feed = prompt;
        for (int step = 0; step < 3; step++)
        {
            var r = model.Forward(new ForwardInput { Ids = feed, Cache = cache, Logits = LogitRows.Last });
            var o = ort.Run(feed);
            var a = o.Logits;
            for (int i = 0; i < a.Length; i++)
            {
                logitDiff = Math.Max(logitDiff, Math.Abs(a[i] - r.Logits!.Data[i]));
                maxLogit = Math.Max(maxLogit, Math.Abs(r.Logits.Data[i]));
            }
            int per = (int)r.Attention!.Length / shape.Layers;
            for (int l = 0; l < shape.Layers; l++)
            {
                var oa = o.Attention(l);
                if (oa.Length != per) throw new AttnScopeException($"ONNX Runtime's attention of layer {l} has {oa.Length} values, the core's {per}");
                var ca = r.Attention.Data.AsSpan(l * per, per);
                for (int i = 0; i < per; i++) attDiff = Math.Max(attDiff, Math.Abs(ca[i] - oa[i]));
            }
            feed = [Argmax(r.Logits!.Data)];
        }
        Console.WriteLine($"  check (16-token prompt + 2 cached steps, same ids): max |logit difference| {logitDiff:E2} (logits up to {maxLogit:F2}), max |attention difference| {attDiff:E2}");
        if (!(logitDiff <= 1e-3) || !(attDiff <= 1e-4))
            throw new AttnScopeException($"ONNX Runtime and the core disagree on {shape.Name} (logits {logitDiff:E2}, attention {attDiff:E2}); not timing");
    }

    private static Row Measure(TransformerModel model, InferenceSession session, DecoderShape shape, int n, int newTokens, int runs, bool profile)
    {
        var prompt = RandomIds(n, shape.Vocab, n);
        var cache = model.NewCache(n + newTokens);
        using var ort = new OrtDecoder(session, shape);
        var corePrompt = new List<double>();
        var ortPrompt = new List<double>();
        var coreSteps = new List<double>();
        var ortSteps = new List<double>();
        var promptParts = new double[Enum.GetValues<EngineProfile.Part>().Length];
        var stepParts = new double[promptParts.Length];
        static void AddDifference(double[] total, double[] before, double[] after)
        {
            for (int i = 0; i < total.Length; i++) total[i] += after[i] - before[i];
        }

        void Core(int steps, bool record)
        {
            cache.Clear();
            Pause();
            var p0 = EngineProfile.Snapshot();
            var t = Stopwatch.StartNew();
            var r = model.Forward(new ForwardInput { Ids = prompt, Cache = cache, Logits = LogitRows.Last });
            int next = Argmax(r.Logits!.Data);
            double ms = t.Elapsed.TotalMilliseconds;
            r = null;
            var p1 = EngineProfile.Snapshot();
            if (record) corePrompt.Add(ms);
            for (int s = 0; s < steps; s++)
            {
                t.Restart();
                var step = model.Forward(new ForwardInput { Ids = [next], Cache = cache, Logits = LogitRows.Last });
                next = Argmax(step.Logits!.Data);
                if (record) coreSteps.Add(t.Elapsed.TotalMilliseconds);
            }
            if (record)
            {
                AddDifference(promptParts, p0, p1);
                AddDifference(stepParts, p1, EngineProfile.Snapshot());
            }
        }

        void Ort(int steps, bool record)
        {
            ort.Reset();
            Pause();
            var t = Stopwatch.StartNew();
            int next = Argmax(ort.Run(prompt).Logits);
            double ms = t.Elapsed.TotalMilliseconds;
            if (record) ortPrompt.Add(ms);
            for (int s = 0; s < steps; s++)
            {
                t.Restart();
                next = Argmax(ort.Run([next]).Logits);
                if (record) ortSteps.Add(t.Elapsed.TotalMilliseconds);
            }
        }

        Core(2, false);
        Ort(2, false);
        if (profile) EngineProfile.Enabled = true;
        EngineProfile.Reset();
        for (int i = 0; i < runs; i++)
        {
            Core(newTokens, true);
            Ort(newTokens, true);
        }
        if (profile)
        {
            EngineProfile.Enabled = false;
            // Stages on the calling thread are wall time; the Head* parts add up the time of every thread running heads.
            string Parts(double[] total, int count) => string.Join(", ", Enum.GetValues<EngineProfile.Part>().Select(p => $"{p} {total[(int)p] / count:F2}"));
            Console.WriteLine($"    core profile per prompt, ms: {Parts(promptParts, runs)}; wall median {Timing.Median(corePrompt.ToArray()):F1}");
            Console.WriteLine($"    core profile per generated token, ms: {Parts(stepParts, runs * newTokens)}; wall median {Timing.Median(coreSteps.ToArray()):F2}");
        }
        ort.Reset();
        return new Row(shape.Name, n, newTokens, runs, Timing.Median(corePrompt.ToArray()), Timing.Median(ortPrompt.ToArray()),
            Timing.Median(coreSteps.ToArray()), Timing.Median(ortSteps.ToArray()));
    }

    /// <summary>Collects what the previous run left (not timed) and pauses so neither side's spinning threads overlap the other.</summary>
    private static void Pause()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Thread.Sleep(60);
    }

    internal static int[] RandomIds(int n, int vocab, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
    }

    internal static int Argmax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    internal static string CpuName()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return "unknown CPU";
    }
}
