using System.Numerics.Tensors;
using AttnScope.Analyses.Attention;
using AttnScope.Analyses.Results;
using AttnScope.Capture;

namespace AttnScope.Analyses.Rollout;

/// <summary>
/// Attention rollout (Abnar &amp; Zuidema 2020): the heads of each layer fused (mean, max or min), the residual added
/// as (Â = (A + I) with rows normalised), and the layers multiplied: J_start = Â_start, J_l = Â_l · J_(l-1).
/// J_l[i, j] is how much of token i's representation after layer l traces back to input token j. Every J_l keeps
/// rows that sum to 1; the joint attention after every layer is kept so it can be animated over layers.
/// </summary>
internal static class AttentionRollout
{
    public static RolloutResult Compute(AttentionCapture capture, string stack = AttentionStack.Encoder,
        HeadFusion fusion = HeadFusion.Mean, float discardRatio = 0f, int startLayer = 0)
    {
        var s = LayerMatrices.SelfStack(capture, stack);
        if (startLayer < 0 || startLayer >= s.Layers)
            throw new AttnScopeException($"start layer {startLayer} is out of range: {stack} has {s.Layers} layers (0..{s.Layers - 1})");
        int n = s.Queries, steps = s.Layers - startLayer, nn = n * n;
        var augmented = LayerMatrices.Augmented(s, fusion, discardRatio, startLayer, s.Layers);
        var joint = new float[(long)steps * nn];
        augmented.AsSpan(0, nn).CopyTo(joint);
        for (int k = 1; k < steps; k++)
            Multiply(augmented.AsSpan(k * nn, nn), joint.AsSpan((k - 1) * nn, nn), joint.AsSpan(k * nn, nn), n);
        return new RolloutResult(stack, fusion, discardRatio, startLayer, new FloatTensor([steps, n, n], joint));
    }

    /// <summary>c = a · b for row-major n × n matrices (row i of c accumulates a[i, k] · row k of b, vectorised).</summary>
    internal static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int n)
    {
        for (int i = 0; i < n; i++)
        {
            var ci = c.Slice(i * n, n);
            ci.Clear();
            for (int k = 0; k < n; k++)
            {
                float w = a[i * n + k];
                if (w != 0f) TensorPrimitives.MultiplyAdd(b.Slice(k * n, n), w, ci, ci);
            }
        }
    }
}
