using AttnScope.Analyses.Relevance;
using AttnScope.Analyses.Rollout;
using AttnScope.Capture;
using AttnScope.Sources.Vision;

namespace AttnScope.Analyses.Vision;

/// <summary>A map over the patch grid [rows, cols] with what it shows.</summary>
internal sealed record PatchMap(float[] Values, int Rows, int Cols, string Title);

/// <summary>
/// Maps over an image's patch grid from a vision capture: the attention of one query token (the class token, or
/// a patch) per head or averaged, attention rollout, and gradient relevance (Chefer et al. 2021).
/// </summary>
internal static class VisionMaps
{
    /// <summary>
    /// Attention of <paramref name="query"/> over the patches in one layer: one map per head, or the mean of the heads
    /// when <paramref name="head"/> is -1 (special tokens left out of the map).
    /// </summary>
    public static PatchMap Attention(AttentionCapture capture, int layer, int head, int query = 0)
    {
        var v = VisionLayout.Require(capture);
        var s = capture.Stack(AttentionStack.Encoder);
        int n = s.Queries;
        if (layer < 0 || layer >= s.Layers) throw new AttnScopeException($"layer {layer} is out of range (0…{s.Layers - 1})");
        if (head < -1 || head >= s.Heads) throw new AttnScopeException($"head {head} is out of range (0…{s.Heads - 1}, or -1 for the mean)");
        if (query < 0 || query >= n) throw new AttnScopeException($"query token {query} is out of range (0…{n - 1})");
        var row = new float[n];
        var data = s.Attention.Data;
        for (int h = 0; h < s.Heads; h++)
        {
            if (head >= 0 && h != head) continue;
            var src = data.AsSpan((((layer * s.Heads) + h) * n + query) * n, n);
            for (int j = 0; j < n; j++) row[j] += src[j];
        }
        if (head < 0) for (int j = 0; j < n; j++) row[j] /= s.Heads;
        string who = capture.Tokens[query].Text;
        return new PatchMap(v.PatchValues(row), v.GridRows, v.GridCols, head < 0 ? $"layer {layer}, mean of heads: {who}" : $"layer {layer} head {head}: {who}");
    }

    /// <summary>Attention rollout (mean of heads, residual added) of <paramref name="query"/> after the last layer, or after every layer.</summary>
    public static IReadOnlyList<PatchMap> Rollout(AttentionCapture capture, int query = 0)
    {
        var v = VisionLayout.Require(capture);
        var r = AttentionRollout.Compute(capture);
        var joint = r.Joint;
        int steps = joint.Shape[0], n = joint.Shape[1];
        if (query < 0 || query >= n) throw new AttnScopeException($"query token {query} is out of range (0…{n - 1})");
        var maps = new List<PatchMap>();
        for (int l = 0; l < steps; l++)
            maps.Add(new PatchMap(v.PatchValues(joint.Data.AsSpan((l * n + query) * n, n)), v.GridRows, v.GridCols, $"rollout after layer {l}: {capture.Tokens[query].Text}"));
        return maps;
    }

    /// <summary>
    /// Chefer et al. 2021's relevance for ViT: R = I; for each layer, R += mean_h(ReLU(∇A ⊙ A))·R, with ∇A the gradient
    /// of the class logit with respect to every attention probability (the core's backward pass); the map is the
    /// class token's row over the patches. <paramref name="target"/> defaults to the predicted class.
    /// </summary>
    public static (PatchMap Map, int Target) Relevance(VitModel model, FloatTensor pixels, int? target = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var core = model.Core;
        var s = core.Spec;
        if (model.Vision.Classifiers.Count == 0) throw new AttnScopeException($"{model.Origin} has no classifier head: gradient relevance explains a class logit");
        var pass = model.Forward(pixels, record: true);
        var logits = model.Logits(pass.Hidden);
        int t = target ?? Array.IndexOf(logits, logits.Max());
        if (t < 0 || t >= logits.Length) throw new AttnScopeException($"target class {t} is out of range (0…{logits.Length - 1})");
        int n = model.Config.Tokens, d = s.Hidden, heads = s.Heads;
        var dHidden = new float[n * d];
        foreach (var (w, _, token) in model.Vision.Classifiers)
            for (int k = 0; k < d; k++) dHidden[token * d + k] += w[t * d + k] / model.Vision.Classifiers.Count;
        var dP = core.Backward(pass.Tape!, dHidden, null, probabilityGradients: true)!;
        var r = RelevanceRules.Identity(n);
        int len = heads * n * n;
        var a = new double[len];
        var g = new double[len];
        for (int l = 0; l < s.Layers; l++)
        {
            var att = pass.Attention!.Data.AsSpan(l * len, len);
            for (int i = 0; i < len; i++) { a[i] = att[i]; g[i] = dP[l][i]; }
            RelevanceRules.ApplySelf(r, n, n, RelevanceRules.WeightedAttention(a, g, heads, n, n));
        }
        var row = new float[n];
        for (int j = 0; j < n; j++) row[j] = (float)r[j];
        var extra = model.Config.SpecialTokens;
        var values = row.AsSpan(extra, n - extra).ToArray();
        return (new PatchMap(values, model.Config.Grid, model.Config.Grid, $"relevance for {model.Label(t)}"), t);
    }
}
