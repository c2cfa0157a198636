using System.Diagnostics;
using AttnScope.Capture;
using AttnScope.Sources.Engine;
using AttnScope.Sources.Models;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Sources.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

using static AttnScope.Bench.Timing;

namespace AttnScope.Bench;

/// <summary>
/// Developer benchmarks of the engine's parts (GEMM, row operations, GELU, allocations, memory bandwidth) and of the
/// engine with random weights against ONNX Runtime: <c>--component [--gemm|--rowops|--gelu|--alloc|--bandwidth]</c>.
/// </summary>
public static class ComponentBenchmarks
{
    public static int Run(string[] args)
    {
        // Times the managed engine (the Transformer core running BERT) (random weights of all-MiniLM-L6-v2's shape; values do not change speed) against
        // ONNX Runtime (default session options) on the real embedded model, at several sequence lengths; medians of
        // interleaved runs, each after a short pause so neither side's spinning pool threads slow the other. Usage:
        //   dotnet run -c Release --project bench/AttnScope.Bench [-- --lengths 16,128,512] [--runs 9] [--no-ort] [--qkv]
        //        [--threads N] [--profile (per-stage ms)]
        // Diagnostics: --gemm (GEMM GFLOP/s), --gelu, --rowops (softmax/LayerNorm ns per element), --alloc, --bandwidth.
        var lengths = new[] { 16, 128, 512 };
        int runs = 9;
        bool ort = true, qkv = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--lengths": lengths = args[++i].Split(',').Select(int.Parse).ToArray(); break;
                case "--runs": runs = int.Parse(args[++i]); break;
                case "--no-ort": ort = false; break;
                case "--threads": Gemm.Threads = int.Parse(args[++i]); break;
                case "--qkv": qkv = true; break;
                case "--profile": EngineProfile.Enabled = true; break;
                case "--gemm": GemmBench(); return 0;
                case "--rowops":
                {
                    var rows = Enumerable.Range(0, 512 * 512).Select(i => (float)Math.Sin(i)).ToArray();
                    double ms = Median(7, () => { for (int r = 0; r < 512; r++) RowOps.Softmax(rows.AsSpan(r * 512, 512), 0.17f, default); });
                    Console.WriteLine($"softmax 512 rows of 512: {ms:F3} ms, {ms * 1e6 / rows.Length:F2} ns/element");
                    var g = Enumerable.Repeat(1f, 384).ToArray(); var bb = new float[384];
                    double ms2 = Median(7, () => { for (int r = 0; r < 512; r++) RowOps.LayerNorm(rows.AsSpan(r * 384, 384), g, bb, 1e-12f); });
                    Console.WriteLine($"layernorm 512 rows of 384: {ms2:F3} ms, {ms2 * 1e6 / (512 * 384):F2} ns/element");
                    return 0;
                }
                case "--alloc":
                {
                    int len = 6 * 12 * 512 * 512;
                    double ms = Median(7, () =>
                    {
                        var arr = GC.AllocateUninitializedArray<float>(len, pinned: true);
                        for (int i = 0; i < len; i += 1024) arr[i] = 1;
                    });
                    Console.WriteLine($"allocate + touch 75 MB: {ms:F2} ms");
                    var fixedArr = GC.AllocateUninitializedArray<float>(len, pinned: true);
                    double ms2 = Median(7, () => fixedArr.AsSpan().Fill(1f));
                    double ms3 = Median(7, () => GC.AllocateUninitializedArray<float>(len, pinned: true).AsSpan().Fill(1f));
                    double ms4 = Median(7, () => GC.AllocateUninitializedArray<float>(len).AsSpan().Fill(1f));
                    double ms5 = Median(7, () => { var q = GC.AllocateUninitializedArray<float>(len); for (int i = 0; i < len; i += 1024) q[i] = 1; });
                    Console.WriteLine($"LOH fresh fill {ms4:F2} ms, LOH touch {ms5:F2}");
                    Console.WriteLine($"fill 75 MB: reused {ms2:F2} ms, fresh {ms3:F2} ms");
                    return 0;
                }
                case "--bandwidth":
                {
                    var big = new float[16 << 20];
                    Array.Fill(big, 1f);
                    double ms1 = Median(7, () => System.Numerics.Tensors.TensorPrimitives.Sum(big));
                    double ms2 = Median(7, () => Parallel.For(0, 2, t => System.Numerics.Tensors.TensorPrimitives.Sum(big.AsSpan(t * (8 << 20), 8 << 20))));
                    Console.WriteLine($"read 64 MiB: 1 thread {64 / 1.024 / ms1:F1} GB/s, 2 threads {64 / 1.024 / ms2:F1} GB/s");
                    return 0;
                }
                case "--gelu":
                {
                    var buf = Enumerable.Range(0, 128 * 1536).Select(i => (float)Math.Sin(i) * 3).ToArray();
                    var work = new float[buf.Length];
                    var cpu0 = Environment.CpuUsage.TotalTime;
                    double ms = Median(15, () => { buf.CopyTo(work, 0); Activations.GeluErf(work); });
                    double cpuMs = (Environment.CpuUsage.TotalTime - cpu0).TotalMilliseconds / 17;
                    Console.WriteLine($"gelu {buf.Length} elements: {ms:F3} ms wall, {cpuMs:F3} ms cpu, {cpuMs * 1e6 / buf.Length:F2} cpu ns/element");
                    foreach (var (name, act) in new (string, Action<Span<float>>)[]
                    {
                        ("gelu_new scalar (engine)", Activations.GeluTanh),
                        ("gelu_new vectorised (core)", d => AttnScope.Sources.Transformer.CoreOps.Activate("gelu_new", d)),
                        ("silu vectorised (core)", AttnScope.Sources.Transformer.CoreOps.Silu),
                    })
                    {
                        double t = Median(15, () => { buf.CopyTo(work, 0); act(work); });
                        Console.WriteLine($"{name}: {t * 1e6 / buf.Length:F2} ns/element");
                    }
                    return 0;
                }
            }
        }

        var cfg = EmbeddedMiniLm.Config;
        var sw = Stopwatch.StartNew();
        var engine = BertFamily.Load(cfg, RandomWeights(cfg, 42));
        Console.WriteLine($"engine built in {sw.ElapsedMilliseconds} ms; threads {Environment.ProcessorCount}, " +
            $"Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, FMA {System.Runtime.Intrinsics.X86.Fma.IsSupported}");
        InferenceSession? session = null;
        if (ort) session = new InferenceSession(EmbeddedMiniLm.Extract().OnnxPath);

        Console.WriteLine($"{"tokens",6} {"managed ms",11} {"ORT ms",8} {"ORT/managed",12}");
        foreach (int n in lengths)
        {
            var rng = new Random(n);
            var ids = Enumerable.Range(0, n).Select(i => i == 0 ? 101 : i == n - 1 ? 102 : rng.Next(1000, 30000)).ToArray();
            var input = new EncodedInput(ids, new int[n], Array.Empty<CaptureToken>(), Array.Empty<string>());
            int r = n <= 16 ? runs * 4 : runs;
            Action runManaged = () => engine.Run(input, qkv);
            Action? runOrt = null;
            if (session is not null)
            {
                var idT = new DenseTensor<long>(ids.Select(x => (long)x).ToArray(), [1, n]);
                var mask = new DenseTensor<long>(Enumerable.Repeat(1L, n).ToArray(), [1, n]);
                var types = new DenseTensor<long>(new long[n], [1, n]);
                var feeds = new List<NamedOnnxValue>
                {
                    NamedOnnxValue.CreateFromTensor("input_ids", idT),
                    NamedOnnxValue.CreateFromTensor("attention_mask", mask),
                    NamedOnnxValue.CreateFromTensor("token_type_ids", types),
                };
                runOrt = () => { using var res = session.Run(feeds); };
            }
            // Warm up, then alternate the two so that load from other processes hits both alike. Each timed run starts after
            // a short pause so that neither side's spinning worker threads (ORT's pool spins after a run) eat into the other.
            for (int w = 0; w < 3; w++) { runManaged(); runOrt?.Invoke(); }
            EngineProfile.Reset();
            var tm = new double[r];
            var to = new double[r];
            for (int i = 0; i < r; i++)
            {
                tm[i] = Time(runManaged);
                to[i] = runOrt is null ? double.NaN : Time(runOrt);
            }
            if (EngineProfile.Enabled) Console.WriteLine($"  per run ms: {EngineProfile.Report(r)}");
            double managed = Median(tm), onnx = Median(to);
            Console.WriteLine($"{n,6} {managed,11:F2} {onnx,8:F2} {onnx / managed,12:F2}");
        }
        session?.Dispose();

        return 0;
    }

    private static void GemmBench()
    {
        {
            var ka = new float[6 * 256]; var kw = new float[16 * 256]; var kc = new float[6 * 16];
            var kb = PackedMatrix.FromTransposed(kw, 16, 256);
            double kms = Median(5, () => { for (int i = 0; i < 20000; i++) Gemm.Multiply(ka, 6, kb, kc, parallel: false); });
            Console.WriteLine($"kernel in L1: {2.0 * 6 * 16 * 256 * 20000 / kms / 1e6:F1} GFLOP/s");
        }
        int m = 512, k = 384, n = 1536;
        var rng = new Random(1);
        var a = Enumerable.Range(0, m * k).Select(_ => (float)rng.NextDouble()).ToArray();
        var w = Enumerable.Range(0, n * k).Select(_ => (float)rng.NextDouble()).ToArray();
        var b = PackedMatrix.FromTransposed(w, n, k);
        var c = new float[m * n];
        foreach (bool par in new[] { false, true })
        {
            var cpu0 = Environment.CpuUsage.TotalTime;
            double ms = Median(7, () => Gemm.Multiply(a, m, b, c, parallel: par));
            double cpuMs = (Environment.CpuUsage.TotalTime - cpu0).TotalMilliseconds / 9;
            Console.WriteLine($"gemm {m}x{k}x{n} parallel={par}: {ms:F2} ms wall, {cpuMs:F2} ms cpu, {2.0 * m * n * k / ms / 1e6:F1} GFLOP/s wall, {2.0 * m * n * k / cpuMs / 1e6:F1} per cpu");
        }
    }

    private static WeightStore RandomWeights(BertConfig c, int seed)
    {
        var rng = new Random(seed);
        var store = new WeightStore("random bench weights");
        FloatTensor T(params int[] shape)
        {
            var t = new FloatTensor(shape);
            for (int i = 0; i < t.Data.Length; i++) t.Data[i] = (float)(rng.NextDouble() - 0.5) * 0.1f;
            return t;
        }
        foreach (var (name, shape) in BertFamily.Expected(c)) store.Add(name, T(shape));
        return store;
    }
}
