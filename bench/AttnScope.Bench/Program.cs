using AttnScope.Bench;
using AttnScope.Capture;

// The benchmark command (see README):
//   dotnet run --project bench/AttnScope.Bench -c Release -- [--lengths 16,128,512] [--runs 15] [--json FILE]
// Developer component timings: -- --component [--gemm|--rowops|--gelu|--alloc|--bandwidth|--profile]
// Translation training throughput (default config): -- --training [--steps N]
// The interactive viewer in headless Chromium: -- viewer [--tokens 128,1024] [--screenshots DIR]
// The 3D (WebGL) view: rotation frame times at 512 tokens × 12 layers: -- viewer3d [--tokens 512] [--screenshots DIR]
// Long captures (32k tokens) and the long view in headless Chromium: -- long [--tokens 32768] [--screenshots DIR]
// Views against matplotlib: -- views [--runs 7] [--peer-runs 3]
// ... end to end (process start to PNG written, real MiniLM capture): -- views --end-to-end [--runs 7] [--cli PATH]
// Gradient relevance against the forward pass: -- relevance [--lengths 16,128,512] [--runs 5]
// Exact attention flow against Edmonds–Karp and networkx: -- flow [--runs 3] [--peer-pairs 6] [--no-networkx]
// Decoder capture (prompt and per-token tokens/s) against ONNX Runtime:
//   -- decoder [--lengths 128,512,2048] [--new 32] [--runs 3] [--shapes gpt2-small,llama] [--json FILE] [--profile]
// Translation on real text (gettext catalogs) against copy-source and retrieval baselines:
//   -- realdata [--catalogs DIR] [--held-out 2000] [--seed 1] [--out DIR] [--run RUN]... [--beam 4]
// Pretrained translation decoding (t5-small, opus-mt shapes): cached search against re-reading every prefix:
//   -- seq2seq [--source 16,48] [--new 32] [--beams 1,4] [--runs 3] [--shapes t5-small,opus-mt]
try
{
    if (args.FirstOrDefault() == "views" && args.Contains("--end-to-end")) return RenderEndToEndBenchmark.Run(args[1..]);
    if (args.FirstOrDefault() == "views")
        return ViewsBenchmark.Run(args.SkipWhile(a => a != "--runs").Skip(1).Select(int.Parse).FirstOrDefault(7),
            args.SkipWhile(a => a != "--peer-runs").Skip(1).Select(int.Parse).FirstOrDefault(3));
    if (args.Contains("--component")) return ComponentBenchmarks.Run(args.Where(a => a != "--component").ToArray());
    if (args.Contains("--training")) return TrainingBenchmark.Run(args.Where(a => a != "--training").ToArray());
    if (args.FirstOrDefault() == "viewer") return ViewerBenchmark.Run(args[1..]);
    if (args.FirstOrDefault() == "viewer3d") return Viewer3dBenchmark.Run(args[1..]);
    if (args.FirstOrDefault() == "long") return LongBenchmark.Run(args[1..]);
    if (args.FirstOrDefault() == "relevance") return RelevanceBenchmark.Run(args[1..]);
    if (args.FirstOrDefault() == "flow") return FlowBenchmark.Run(args[1..]);
    if (args.FirstOrDefault() == "decoder") return DecoderBenchmark.Run(args[1..]);
    if (args.FirstOrDefault() == "realdata") return RealDataBenchmark.Run(args[1..]);
    if (args.FirstOrDefault() == "seq2seq") return Seq2SeqBenchmark.Run(args[1..]);
    var lengths = new[] { 16, 128, 512 };
    int runs = 15;
    string? json = null;
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new AttnScopeException($"{args[i]} needs a value");
        switch (args[i])
        {
            case "--lengths": lengths = Next().Split(',').Select(int.Parse).ToArray(); break;
            case "--runs": runs = int.Parse(Next()); break;
            case "--json": json = Next(); break;
            default: throw new AttnScopeException($"unknown option '{args[i]}' (expected --lengths, --runs, --json or --component)");
        }
    }
    return ForwardBenchmark.Run(lengths, runs, json);
}
catch (Exception e) when (e is AttnScopeException or FormatException)
{
    Console.Error.WriteLine($"bench: error: {e.Message}");
    return 1;
}
