using AttnScope.Analyses.Relevance;
using AttnScope.Capture;
using AttnScope.Sources.Vision;

namespace AttnScope.Analyses.Vision;

/// <summary>Relevance of an image–text similarity: over the text tokens (the EOS row) and over the patches (the [CLS] row).</summary>
internal sealed record ClipRelevanceResult(float[] Text, PatchMap Image, int EosIndex, float Similarity);

/// <summary>
/// Chefer, Gur &amp; Wolf 2021's bi-modal rule for CLIP, each tower on its own (CLIP's towers never attend to each
/// other): R = I; for each layer R += mean_h((∇A ⊙ A)⁺)·R, with ∇A = ∂similarity/∂A from the core's backward pass
/// (<see cref="ClipModel.SimilarityGradients"/>). The text relevance is R's EOS row (the pooled token), the image
/// relevance R's [CLS] row over the patches (the class token itself left out).
/// </summary>
internal static class ClipRelevance
{
    public static ClipRelevanceResult Compute(ClipModel model, FloatTensor pixels, int[] ids)
    {
        ArgumentNullException.ThrowIfNull(model);
        var pass = model.Run(pixels, ids, record: true);
        var (gImage, gText) = model.SimilarityGradients(pass);
        var rImage = Stack(pass.Image.Attention!, gImage, model.Vision.Spec.Layers, model.Vision.Spec.Heads, model.Config.ImageTokens);
        var rText = Stack(pass.Text.Attention!, gText, model.Text.Spec.Layers, model.Text.Spec.Heads, ids.Length);
        int n = model.Config.ImageTokens, t = ids.Length;
        var patches = new float[n - 1];
        for (int j = 1; j < n; j++) patches[j - 1] = (float)rImage[j];
        var text = new float[t];
        for (int j = 0; j < t; j++) text[j] = (float)rText[pass.EosIndex * t + j];
        return new ClipRelevanceResult(text, new PatchMap(patches, model.Config.Grid, model.Config.Grid, "relevance for the text"), pass.EosIndex, pass.Similarity);
    }

    /// <summary>R after every layer of one stack: attention [layers, heads, n, n] and ∂f/∂A per layer.</summary>
    public static double[] Stack(FloatTensor attention, float[][] gradients, int layers, int heads, int n)
    {
        var r = RelevanceRules.Identity(n);
        int len = heads * n * n;
        var a = new double[len];
        var g = new double[len];
        for (int l = 0; l < layers; l++)
        {
            var att = attention.Data.AsSpan(l * len, len);
            for (int i = 0; i < len; i++) { a[i] = att[i]; g[i] = gradients[l][i]; }
            RelevanceRules.ApplySelf(r, n, n, RelevanceRules.WeightedAttention(a, g, heads, n, n));
        }
        return r;
    }
}
