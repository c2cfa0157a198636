using System.Diagnostics;
using AttnScope.Sources.Engine;
using AttnScope.Training.Data;
using AttnScope.Training.Model;
using AttnScope.Training.Text;
using AttnScope.Training.Training;

namespace AttnScope.Bench;

/// <summary>
/// Training throughput of the default translation config on built-in corpus batches: target tokens per second and
/// achieved GFLOP/s (forward + backward counted as 3× the forward multiply-adds), with the split between forward,
/// backward and optimizer, and, as the peer in the same run, the packed GEMM's own GFLOP/s on a layer-sized
/// product (what the training step would reach if it were nothing but GEMM).
/// </summary>
internal static class TrainingBenchmark
{
    public static int Run(string[] args)
    {
        int steps = 20;
        for (int i = 0; i < args.Length; i++)
            if (args[i] == "--steps" && i + 1 < args.Length) steps = int.Parse(args[++i]);
        var options = TrainingDefaults.Options;
        var (train, _) = BuiltinCorpus.Generate(BuiltinCorpus.DefaultSeed, 6000, 10);
        var vocab = SubwordVocabulary.Learn(train.SelectMany(p => new[] { p.Source, p.Target }), options.VocabSize);
        var config = TrainingDefaults.Model with { VocabSize = vocab.Size };
        var (examples, _) = CorpusLoader.Encode(vocab, train, options.MaxPieces, config.MaxLength);
        var model = new Transformer(config, options.LabelSmoothing);
        model.Initialize(1);
        var session = new TrainingSession(model, options, examples, TrainingSession.BucketPlan(examples, options.BatchTokens, 1));
        Console.WriteLine($"training throughput: d_model {config.Dim}, {config.Heads} heads, {config.EncoderLayers}+{config.DecoderLayers} layers, d_ff {config.FeedForward}, " +
                          $"vocab {config.VocabSize}, batches of {options.BatchTokens} tokens, {Gemm.Threads} threads, {Environment.ProcessorCount} cores");
        for (int i = 0; i < 3; i++) session.Step(0);

        var batch = new Batch();
        double fwd = 0, bwd = 0, opt = 0, flops = 0;
        long tokens = 0;
        var plan = TrainingSession.BucketPlan(examples, options.BatchTokens, 1)(0);
        for (int i = 0; i < steps; i++)
        {
            // the session's step, split into its parts with the same calls
            batch.Fill(examples, plan[i % plan.Count], SubwordVocabulary.BosId, SubwordVocabulary.EosId);
            var sw = Stopwatch.StartNew();
            model.ZeroGrad();
            var random = FastRandom.ForStep(1, i);
            var loss = model.Forward(batch, ref random, training: true);
            fwd += sw.Elapsed.TotalSeconds; sw.Restart();
            model.Backward(1f / loss.Tokens);
            bwd += sw.Elapsed.TotalSeconds; sw.Restart();
            session.Optimizer.ClipGradients(options.ClipNorm);
            session.Optimizer.Step(1e-4);
            opt += sw.Elapsed.TotalSeconds;
            tokens += loss.Tokens;
            flops += 3 * Transformer.ForwardFlops(config, batch.Size, batch.SourceLength, batch.TargetLength);
        }
        double seconds = fwd + bwd + opt;
        double gemm = GemmGflops(options.BatchTokens, config.Dim, config.FeedForward);
        Console.WriteLine($"  {steps} steps: {tokens / seconds:N0} target tokens/s, {flops / seconds / 1e9:F1} GFLOP/s " +
                          $"(forward {fwd / seconds:P0}, backward {bwd / seconds:P0}, optimizer {opt / seconds:P0}); {seconds / steps * 1000:F0} ms per step");
        Console.WriteLine($"  peer: packed GEMM [{options.BatchTokens}×{config.Dim}]·[{config.Dim}×{config.FeedForward}] alone: {gemm:F1} GFLOP/s; " +
                          $"training reaches {flops / seconds / 1e9 / gemm:P0} of it");
        return 0;
    }

    private static unsafe double GemmGflops(int m, int k, int n)
    {
        var a = GC.AllocateArray<float>(m * k, pinned: true);
        var b = new float[k * n];
        var c = GC.AllocateArray<float>(m * n, pinned: true);
        for (int i = 0; i < a.Length; i++) a[i] = (i % 7) * 0.1f;
        for (int i = 0; i < b.Length; i++) b[i] = (i % 5) * 0.1f;
        var packed = PackedMatrix.FromRowMajor(b, k, n);
        for (int i = 0; i < 3; i++) Gemm.Multiply(a, m, packed, c);
        double ms = Timing.Median(15, () => Gemm.Multiply(a, m, packed, c));
        return 2.0 * m * k * n / (ms / 1000) / 1e9;
    }
}
