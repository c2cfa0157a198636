using AttnScope.Capture;
using AttnScope.Sources.Vision;

namespace AttnScope.Analyses.Vision;

/// <summary>Pointing-game figures of one explanation method over a set of images.</summary>
internal sealed record PointingScore(string Method, int Hits, int Images)
{
    public double HitRate => Images == 0 ? 0 : (double)Hits / Images;
}

/// <summary>The pointing game's outcome: per method, with the model's accuracy and the chance level.</summary>
internal sealed record PointingReport(IReadOnlyList<PointingScore> Scores, double Accuracy, double ChanceHitRate, int Images);

/// <summary>
/// The pointing game (Zhang et al. 2016) on images where the object's box is known: a map scores a hit when its
/// highest patch overlaps the object's bounding box. Methods: the class token's raw attention in the last layer
/// (mean of heads), attention rollout, and gradient relevance (Chefer et al. 2021, for the predicted class). The
/// chance level is the expected hit rate of a patch picked uniformly at random (the share of patches that overlap
/// the box, averaged over the images).
/// </summary>
internal static class PointingGame
{
    public static readonly string[] Methods = ["raw attention (CLS, last layer)", "rollout", "relevance"];

    /// <summary>Whether the highest value of a patch map (first one on ties) overlaps the box.</summary>
    public static bool Hit(PatchMap map, int patchSize, PixelBox box)
    {
        int best = 0;
        for (int i = 1; i < map.Values.Length; i++) if (map.Values[i] > map.Values[best]) best = i;
        int r = best / map.Cols, c = best % map.Cols;
        return box.Overlaps(c * patchSize, r * patchSize, (c + 1) * patchSize, (r + 1) * patchSize);
    }

    /// <summary>Share of the grid's patches that overlap the box.</summary>
    public static double Chance(int rows, int cols, int patchSize, PixelBox box)
    {
        int n = 0;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                if (box.Overlaps(c * patchSize, r * patchSize, (c + 1) * patchSize, (r + 1) * patchSize)) n++;
        return (double)n / (rows * cols);
    }

    public static PointingReport Run(VitModel model, IReadOnlyList<(RgbImage Image, int Label, PixelBox Box)> samples)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (samples.Count == 0) throw new AttnScopeException("the pointing game needs at least one image");
        var hits = new int[Methods.Length];
        int correct = 0;
        double chance = 0;
        int p = model.Config.PatchSize, g = model.Config.Grid;
        foreach (var (image, label, box) in samples)
        {
            if (image.Width != model.Config.ImageSize || image.Height != model.Config.ImageSize)
                throw new AttnScopeException($"the pointing game takes images of the model's size {model.Config.ImageSize}×{model.Config.ImageSize} (boxes are in its pixels), not {image.Width}×{image.Height}");
            var cap = VisionCapture.Capture(model, image, "generated", model.Origin);
            int layers = cap.Stack(AttentionStack.Encoder).Layers;
            var pixels = model.Preprocessor.Pixels(image);
            var (relevance, predicted) = VisionMaps.Relevance(model, pixels);
            if (predicted == label) correct++;
            PatchMap[] maps = [VisionMaps.Attention(cap, layers - 1, -1, 0), VisionMaps.Rollout(cap)[^1], relevance];
            for (int m = 0; m < maps.Length; m++) if (Hit(maps[m], p, box)) hits[m]++;
            chance += Chance(g, g, p, box);
        }
        return new PointingReport(Methods.Select((name, m) => new PointingScore(name, hits[m], samples.Count)).ToList(),
            (double)correct / samples.Count, chance / samples.Count, samples.Count);
    }
}
