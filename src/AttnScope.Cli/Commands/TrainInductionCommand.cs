using System.Globalization;
using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Training.CausalLm;
using AttnScope.Views.Analyses;
using AttnScope.Views.Animation;
using AttnScope.Views.Static;

namespace AttnScope.Cli;

/// <summary>
/// <c>attnscope train-induction --out DIR [--steps N --seed S --checkpoint-every K] [--animate induction.gif]</c>:
/// trains a 2-layer attention-only decoder on sequences with repeated segments, scores every head on
/// TransformerLens's repeated-token test at each checkpoint, and animates the induction scores across checkpoints.
/// </summary>
internal static class TrainInductionCommand
{
    public static Command Create(CliOutput output)
    {
        var d = new InductionRunOptions();
        var t = d.Training;
        var outPath = new Option<string>("--out") { Description = "run folder: config.json, checkpoints/, log.tsv, scores.tsv, induction-capture.safetensors", Required = true };
        var steps = new Option<long>("--steps") { Description = "optimizer steps", DefaultValueFactory = _ => t.Steps };
        var seed = new Option<int>("--seed") { Description = "seeds the weights and the data", DefaultValueFactory = _ => t.Seed };
        var every = new Option<int>("--checkpoint-every") { Description = "steps between checkpoints (each scores every head)", DefaultValueFactory = _ => d.CheckpointEvery };
        var animate = new Option<string?>("--animate") { Description = "write the layers × heads induction scores across checkpoints as an animated .gif" };
        var batch = new Option<int>("--batch") { Description = "sequences per step", DefaultValueFactory = _ => t.BatchSize };
        var lr = new Option<double>("--lr") { Description = "peak learning rate (linear warm-up, then cosine decay)", DefaultValueFactory = _ => t.LearningRate };
        var warmup = new Option<int>("--warmup") { Description = "warm-up steps", DefaultValueFactory = _ => t.WarmupSteps };
        var vocab = new Option<int>("--vocab") { Description = "vocabulary size, BOS included", DefaultValueFactory = _ => d.Vocab };
        var length = new Option<int>("--length") { Description = "tokens per sequence, BOS included (the model's positions)", DefaultValueFactory = _ => d.Length };
        var layers = new Option<int>("--layers") { DefaultValueFactory = _ => d.Layers };
        var dim = new Option<int>("--d-model") { DefaultValueFactory = _ => d.Hidden };
        var heads = new Option<int>("--heads") { DefaultValueFactory = _ => d.Heads };
        var shards = new Option<int>("--shards") { Description = "fixed batch shards whose gradients are summed in order (run in parallel when cores are free; results depend on this, not on the cores)", DefaultValueFactory = _ => t.Shards };
        var logEvery = new Option<int>("--log-every") { Description = "steps between log.tsv rows", DefaultValueFactory = _ => d.LogEvery };
        var cmd = new Command("train-induction", "Train a small attention-only decoder on repeated random tokens and watch induction heads form.")
        {
            outPath, steps, seed, every, animate, batch, lr, warmup, vocab, length, layers, dim, heads, logEvery, shards,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            var options = d with
            {
                Training = t with
                {
                    Steps = r.GetValue(steps), Seed = r.GetValue(seed), BatchSize = r.GetValue(batch), LearningRate = r.GetValue(lr),
                    MinLearningRate = Math.Min(t.MinLearningRate, r.GetValue(lr)), WarmupSteps = r.GetValue(warmup),
                    Shards = r.GetValue(shards),
                },
                CheckpointEvery = r.GetValue(every), Vocab = r.GetValue(vocab), Length = r.GetValue(length), Layers = r.GetValue(layers),
                Hidden = r.GetValue(dim), Heads = r.GetValue(heads), LogEvery = r.GetValue(logEvery),
            };
            options.Validate();
            var animation = r.GetValue(animate);
            if (animation is not null && !animation.EndsWith(".gif", StringComparison.OrdinalIgnoreCase))
                throw new AttnScopeException($"cannot write animation '{animation}': only .gif is supported");
            if (animation is not null) AtomicFile.CheckWritable(animation); // not after a whole training run
            var dir = r.GetValue(outPath)!;
            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true; // finish the step, save a checkpoint and the capture, then stop
                cancel.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                var result = InductionTraining.Run(options, dir, output.Out, cancel.Token);
                var last = result.Checkpoints[^1];
                var (bl, bh) = last.Scores.BestInductionHead();
                output.Out.WriteLine($"wrote {dir}: {result.Checkpoints.Count} checkpoints in {result.Seconds / 60:0.0} min; final loss {last.Loss:0.000} " +
                                     $"(repeated tokens {last.RepeatedLoss:0.000}, others {last.OtherLoss:0.000}); max induction score {last.Scores.MaxInduction:0.00} (layer {bl} head {bh})");
                output.Out.WriteLine($"wrote {result.CapturePath}: the final model on {options.TestRepeat} random tokens repeated twice");
                if (animation is not null)
                {
                    InductionAnimation.Save(animation, result.Checkpoints, options);
                    output.Out.WriteLine($"wrote {animation}: induction scores at {result.Checkpoints.Count} checkpoints");
                }
                return result.Cancelled ? 130 : 0;
            }
            finally { Console.CancelKeyPress -= onCancel; }
        }));
        return cmd;
    }
}

/// <summary>The induction-score animation: one frame per checkpoint, induction and previous-token grids side by side.</summary>
internal static class InductionAnimation
{
    /// <summary>The figure of one checkpoint.</summary>
    public static HeadScoreGridLayout Layout(InductionCheckpoint c, InductionRunOptions o, FontSet fonts) =>
        HeadScoreGridLayout.Compute(
            [new HeadScorePanel("induction score", c.Scores.Induction), new HeadScorePanel("previous-token score", c.Scores.PreviousToken)],
            $"{o.Layers}-layer attention-only decoder · step {c.Step} of {o.Training.Steps}",
            [
                $"loss {Num(c.Loss)} on all tokens, {Num(c.RepeatedLoss)} on repeated ones (uniform guess: {Math.Log(o.Vocab - 1):0.00})",
                $"scores: TransformerLens tutorial, {o.TestBatch} × (BOS + {o.TestRepeat} random tokens twice); induction = mean of diagonal 1−S",
            ],
            fonts);

    private static string Num(double v) => double.IsNaN(v) ? "–" : v.ToString("0.00", CultureInfo.InvariantCulture);

    public static List<AnimationFrame> Frames(IReadOnlyList<InductionCheckpoint> checkpoints, InductionRunOptions o)
    {
        var renderer = new ViewRenderer();
        return checkpoints.Select(c => new AnimationFrame(
            renderer.RenderBitmap(Layout(c, o, FontSet.Default), "viridis"),
            $"step {c.Step}: max induction score {c.Scores.MaxInduction.ToString("0.00", CultureInfo.InvariantCulture)}")).ToList();
    }

    public static void Save(string path, IReadOnlyList<InductionCheckpoint> checkpoints, InductionRunOptions o)
    {
        var frames = Frames(checkpoints, o);
        try { AnimationWriter.SaveGif(path, frames, new AnimationOptions { DelayMs = 350, LastFrameExtraMs = 2000 }); }
        finally { foreach (var f in frames) f.Image.Dispose(); }
    }
}
