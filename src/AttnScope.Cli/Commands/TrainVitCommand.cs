using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using AttnScope.Analyses.Vision;
using AttnScope.Capture;
using AttnScope.Sources.Vision;
using AttnScope.Training.Vision;
using AttnScope.Views.Vision;

namespace AttnScope.Cli;

/// <summary>
/// <c>attnscope train-vit -o DIR [--steps N] [--batch B] [--seed S] [--check N]</c>: trains a small ViT on the core
/// to name the shape in generated images, saves it as a Hugging Face ViT folder with a few example images, and plays
/// the pointing game on fresh images (raw attention, rollout, relevance).
/// </summary>
internal static class TrainVitCommand
{
    public static Command Create(CliOutput output)
    {
        var outDir = new Option<string>("--output", "-o") { Description = "folder to write the model into", Required = true };
        var steps = new Option<int>("--steps") { Description = "optimizer steps", DefaultValueFactory = _ => 1500 };
        var batch = new Option<int>("--batch") { Description = "images per step", DefaultValueFactory = _ => 32 };
        var rate = new Option<double>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => 2e-3 };
        var seed = new Option<int>("--seed") { Description = "seed of the weights and the training images", DefaultValueFactory = _ => 1 };
        var check = new Option<int>("--check") { Description = "fresh images for the pointing game (0: none)", DefaultValueFactory = _ => 500 };
        var distractor = new Option<bool>("--distractor") { Description = "draw a ring (no class) beside each shape, in training and in the check" };
        var cmd = new Command("train-vit", "Train a small ViT on generated shape images and measure where its explanations point.")
        {
            outDir, steps, batch, rate, seed, check, distractor,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            var dir = r.GetValue(outDir)!;
            var trainer = new TinyVitTrainer(r.GetValue(seed));
            var clock = Stopwatch.StartNew();
            trainer.Train(r.GetValue(steps), r.GetValue(batch), r.GetValue(rate), r.GetValue(seed) + 1000,
                (s, loss, acc) => output.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {s}: loss {loss:F4}, accuracy {acc:P1} ({clock.Elapsed.TotalSeconds:F0} s)")),
                distractor: r.GetValue(distractor));
            trainer.Save(dir);
            var rng = new Random(r.GetValue(seed) + 2000);
            for (int i = 0; i < 4; i++)
            {
                var s = ShapeImages.Make(rng, trainer.Config.ImageSize, r.GetValue(distractor));
                ImageFile.SavePng(Path.Combine(dir, $"example{i}-{ShapeImages.Labels[s.Label]}.png"), s.Image);
            }
            output.Out.WriteLine($"wrote {dir} ({clock.Elapsed.TotalSeconds:F0} s of training)");
            int n = r.GetValue(check);
            if (n > 0) Report(output, VitModel.Load(dir), n, r.GetValue(seed) + 3000, r.GetValue(distractor));
            return 0;
        }));
        return cmd;
    }

    /// <summary>Plays the pointing game on <paramref name="count"/> fresh images and prints one line per method.</summary>
    public static PointingReport Report(CliOutput output, VitModel model, int count, int seed, bool distractor = false)
    {
        if (count is < 1 or > 100_000) throw new AttnScopeException($"--check {count} must be 1…100,000 images");
        var rng = new Random(seed);
        var samples = Enumerable.Range(0, count).Select(_ => ShapeImages.Make(rng, model.Config.ImageSize, distractor)).Select(s => (s.Image, s.Label, s.Box)).ToList();
        var report = PointingGame.Run(model, samples);
        output.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pointing game on {report.Images} fresh images (accuracy {report.Accuracy:P1}; a random patch hits {report.ChanceHitRate:P1}):"));
        foreach (var s in report.Scores)
            output.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {s.Method}: {s.HitRate:P1} ({s.Hits}/{s.Images})"));
        return report;
    }
}
