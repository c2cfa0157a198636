using AttnScope.Analyses.Vision;
using AttnScope.Sources.Vision;
using AttnScope.Training.Vision;
using Xunit;
using Xunit.Abstractions;

namespace AttnScope.Tests.Vision;

/// <summary>The small ViT trained on the core: its gradients (patch embedding and class token through the input
/// rows, core tensors) against central differences, that it learns, its saved folder, and the pointing game's scoring.</summary>
public class VisionTrainingTests(ITestOutputHelper output)
{
    private static List<ShapeSample> Batch(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => ShapeImages.Make(rng)).ToList();
    }

    [Fact]
    public void GradientsMatchCentralDifferences()
    {
        var t = new TinyVitTrainer(seed: 3, hidden: 16, layers: 2, heads: 2);
        var batch = Batch(3, 5);
        t.Gradients(batch);
        var dW = t.PatchWeightGradient.ToArray();
        var dCls = t.ClassTokenGradient.ToArray();
        var dQ = t.CoreGradients.Grads.Layers[1].Query.ToArray();
        double Loss() => t.Gradients(batch).Loss;
        void Check(string what, float[] values, int index, float analytic)
        {
            const float eps = 1e-2f;
            float keep = values[index];
            values[index] = keep + eps; double up = Loss();
            values[index] = keep - eps; double down = Loss();
            values[index] = keep;
            double fd = (up - down) / (2 * eps);
            output.WriteLine($"{what}[{index}]: backward {analytic:G5}, central difference {fd:G5}");
            Assert.True(Math.Abs(fd - analytic) <= 1e-3 + 0.03 * Math.Abs(fd), $"{what}[{index}]: {analytic} vs {fd}");
        }
        foreach (int i in new[] { 0, 77, 500, 3000 }) Check("patch weight", t.Vision.PatchWeight, i, dW[i]);
        foreach (int i in new[] { 1, 9 }) Check("class token", t.Vision.ClassToken, i, dCls[i]);
        foreach (int i in new[] { 5, 200 }) Check("blocks.1.attn.W_Q", t.Core.Layers[1].Query, i, dQ[i]);
    }

    [Fact]
    public void LearnsAFixedBatchAndSavesAFolderVitModelReads()
    {
        var t = new TinyVitTrainer(seed: 1, hidden: 16, layers: 2, heads: 2);
        var batch = Batch(8, 11);
        double first = t.Step(batch, 3e-3).Loss, last = first;
        for (int i = 0; i < 60; i++) last = t.Step(batch, 3e-3).Loss;
        output.WriteLine($"loss {first:F4} → {last:F4}");
        Assert.True(last < 0.5 * first, $"{first} → {last}");
        using var tmp = new Support.TempDir();
        t.Save(tmp.Path);
        var loaded = VitModel.Load(tmp.Path);
        var mine = t.Model();
        var pixels = mine.Preprocessor.Pixels(batch[0].Image);
        var a = mine.Logits(mine.Forward(pixels).Hidden);
        var b = loaded.Logits(loaded.Forward(loaded.Preprocessor.Pixels(batch[0].Image)).Hidden);
        Assert.Equal(a, b);
        Assert.Equal(ShapeImages.Labels, loaded.Config.Labels);
    }

    [Fact]
    public void PointingGameScoresTheMaximumPatchAgainstTheBox()
    {
        var box = new PixelBox(10, 20, 22, 30); // overlaps columns 1–2 (8…24) and rows 2–3 (16…32) of an 8-pixel grid
        var values = new float[36];
        values[2 * 6 + 1] = 1;
        Assert.True(PointingGame.Hit(new PatchMap(values, 6, 6, ""), 8, box));
        values[0] = 2;
        Assert.False(PointingGame.Hit(new PatchMap(values, 6, 6, ""), 8, box));
        Assert.Equal(4.0 / 36, PointingGame.Chance(6, 6, 8, box), 10);
        // Shapes stay inside the image and their box is where the shape's pixels are.
        foreach (var s in Batch(20, 2))
        {
            Assert.InRange(s.Box.Left, 0, 47);
            Assert.InRange(s.Box.Right, s.Box.Left + 1, 48);
            Assert.InRange(s.Box.Bottom, s.Box.Top + 1, 48);
        }
    }

    [Fact]
    public void TrainVitCommandWritesAFolderExamplesAndThePointingGame()
    {
        using var tmp = new Support.TempDir();
        var dir = Path.Combine(tmp.Path, "vit");
        var (code, text, err) = Cli.CliTests.Run("train-vit", "-o", dir, "--steps", "2", "--batch", "2", "--check", "3", "--distractor");
        Assert.True(code == 0, err);
        Assert.Contains("pointing game on 3 fresh images", text);
        foreach (var m in PointingGame.Methods) Assert.Contains(m + ":", text);
        Assert.Equal(4, Directory.GetFiles(dir, "example*.png").Length);
        Assert.True(VitModel.IsVisionFolder(dir));
        (code, _, err) = Cli.CliTests.Run("train-vit", "-o", dir, "--steps", "0");
        Cli.CliTests.AssertOneLineError(code, err, "steps 0");
    }
}
