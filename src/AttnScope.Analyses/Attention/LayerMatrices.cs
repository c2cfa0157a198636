using AttnScope.Analyses.Results;
using AttnScope.Capture;

namespace AttnScope.Analyses.Attention;

/// <summary>
/// Per-layer token × token matrices that rollout and flow are built from: the heads of each layer fused by mean,
/// max or min, then the residual connection added as (A + I) with every row normalised to sum 1 (keeping the row
/// dimension: the identity is added to the n × n matrix, never broadcast over heads or normalised over columns).
/// </summary>
internal static class LayerMatrices
{
    /// <summary>Checks that a stack can be rolled out: self-attention (queries and keys are the same tokens).</summary>
    public static AttentionStack SelfStack(AttentionCapture capture, string stack)
    {
        var s = capture.Stack(stack);
        if (s.Name == AttentionStack.Cross || s.Queries != s.Keys)
            throw new AttnScopeException(
                $"rollout and flow follow attention through self-attention layers; '{stack}' maps {s.Queries} queries onto {s.Keys} keys (use the encoder or decoder stack, or relevance for cross attention)");
        return s;
    }

    /// <summary>
    /// Heads of layer <paramref name="layer"/> fused into <paramref name="into"/> [n, n] (row-major).
    /// With a discard ratio r &gt; 0 the lowest r of the fused weights in each row are set to 0 (never the diagonal).
    /// </summary>
    public static void Fuse(AttentionStack s, int layer, HeadFusion fusion, float discardRatio, Span<float> into)
    {
        int n = s.Queries, heads = s.Heads;
        var a = s.Attention.Slice(layer);
        into = into[..(n * n)];
        a[..(n * n)].CopyTo(into);
        for (int h = 1; h < heads; h++)
        {
            var head = a.Slice(h * n * n, n * n);
            switch (fusion)
            {
                case HeadFusion.Mean:
                    System.Numerics.Tensors.TensorPrimitives.Add(into, head, into);
                    break;
                case HeadFusion.Max:
                    System.Numerics.Tensors.TensorPrimitives.Max(into, head, into);
                    break;
                case HeadFusion.Min:
                    System.Numerics.Tensors.TensorPrimitives.Min(into, head, into);
                    break;
            }
        }
        if (fusion == HeadFusion.Mean) System.Numerics.Tensors.TensorPrimitives.Multiply(into, 1f / heads, into);
        if (discardRatio > 0f) Discard(into, n, discardRatio);
    }

    private static void Discard(Span<float> m, int n, float ratio)
    {
        int drop = (int)Math.Floor(ratio * n);
        if (drop <= 0) return;
        var sorted = new float[n];
        for (int i = 0; i < n; i++)
        {
            var row = m.Slice(i * n, n);
            row.CopyTo(sorted);
            Array.Sort(sorted);
            float cut = sorted[Math.Min(drop, n) - 1];
            int dropped = 0;
            for (int j = 0; j < n && dropped < drop; j++)
                if (j != i && row[j] <= cut) { row[j] = 0f; dropped++; }
        }
    }

    /// <summary>(A + I) with rows normalised, in place on an [n, n] matrix; rows of zeros become the identity row.</summary>
    public static void AddResidual(Span<float> m, int n)
    {
        for (int i = 0; i < n; i++)
        {
            var row = m.Slice(i * n, n);
            row[i] += 1f;
            double sum = 0;
            foreach (var v in row) sum += v;
            System.Numerics.Tensors.TensorPrimitives.Multiply(row, (float)(1.0 / sum), row);
        }
    }

    /// <summary>
    /// Residual-augmented fused matrices of layers [<paramref name="from"/>, <paramref name="to"/>), as [to - from, n, n].
    /// </summary>
    public static float[] Augmented(AttentionStack s, HeadFusion fusion, float discardRatio, int from, int to)
    {
        if (from < 0 || to > s.Layers || from >= to)
            throw new AttnScopeException($"layers {from}..{to - 1} are not within {s.Name}'s {s.Layers} layers (0..{s.Layers - 1})");
        if (discardRatio is < 0f or >= 1f || float.IsNaN(discardRatio))
            throw new AttnScopeException($"discard ratio {discardRatio} must be in [0, 1)");
        int n = s.Queries;
        var all = new float[(long)(to - from) * n * n];
        for (int l = from; l < to; l++)
        {
            var m = all.AsSpan((l - from) * n * n, n * n);
            Fuse(s, l, fusion, discardRatio, m);
            AddResidual(m, n);
        }
        return all;
    }
}
