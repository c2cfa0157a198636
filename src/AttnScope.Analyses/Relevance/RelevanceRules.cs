namespace AttnScope.Analyses.Relevance;

/// <summary>
/// The update rules of Chefer, Gur &amp; Wolf 2021 ("Generic attention-model explainability for interpreting bi-modal
/// and encoder-decoder transformers") on row-major double matrices. A layer's attention enters as
/// Ā = mean over heads of (∇A ⊙ A)⁺: the attention weighted by the gradient of the explained output, negative
/// contributions dropped, then averaged.
/// </summary>
internal static class RelevanceRules
{
    /// <summary>Ā [queries, keys] = mean_h(max(0, ∇A ⊙ A)) from one layer's attention and gradient, both [heads, queries, keys].</summary>
    public static double[] WeightedAttention(ReadOnlySpan<double> attention, ReadOnlySpan<double> gradient, int heads, int queries, int keys)
    {
        int size = queries * keys;
        if (heads <= 0 || queries <= 0 || keys <= 0) throw new ArgumentException($"shape [{heads}, {queries}, {keys}] has an empty axis");
        if (attention.Length != heads * size || gradient.Length != heads * size)
            throw new ArgumentException($"attention ({attention.Length}) and gradient ({gradient.Length}) must both hold {heads}×{queries}×{keys} values");
        var mean = new double[size];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < size; i++)
            {
                double v = attention[h * size + i] * gradient[h * size + i];
                if (v > 0) mean[i] += v;
            }
        for (int i = 0; i < size; i++) mean[i] /= heads;
        return mean;
    }

    /// <summary>The n×n identity, where every relevance matrix of a self-attention stack starts.</summary>
    public static double[] Identity(int n)
    {
        var r = new double[n * n];
        for (int i = 0; i < n; i++) r[i * n + i] = 1;
        return r;
    }

    /// <summary>Self-attention rule R ← R + Ā·R, in place; Ā is [n, n], R is [n, m].</summary>
    public static void ApplySelf(double[] r, int n, int m, ReadOnlySpan<double> aBar)
    {
        Check(r.Length == n * m && aBar.Length == n * n, "self-attention rule: R must be [n, m] and Ā [n, n]");
        var product = Multiply(aBar, n, n, r, m);
        for (int i = 0; i < product.Length; i++) r[i] += product[i];
    }

    /// <summary>
    /// R̄ = normalise(R − I) + I: the identity (the residual's own share) is taken out, each row of what is left is
    /// scaled to sum to 1 (a row that sums to 0, with no relevance to spread, stays 0), and the identity is put back.
    /// </summary>
    public static double[] Normalized(ReadOnlySpan<double> r, int n)
    {
        Check(r.Length == n * n, "normalisation: R must be square");
        var bar = r.ToArray();
        for (int i = 0; i < n; i++)
        {
            bar[i * n + i] -= 1;
            double sum = 0;
            for (int j = 0; j < n; j++) sum += bar[i * n + j];
            if (sum != 0) for (int j = 0; j < n; j++) bar[i * n + j] /= sum;
            bar[i * n + i] += 1;
        }
        return bar;
    }

    /// <summary>
    /// Cross-attention rule of an encoder-decoder: R^ts ← R^ts + (R̄^tt)ᵀ·Ā·R̄^ss, in place, with Ā [t, s] the
    /// decoder's attention over the source, R^tt [t, t] and R^ss [s, s] normalised by <see cref="Normalized"/>.
    /// </summary>
    public static void ApplyCross(double[] rts, ReadOnlySpan<double> rtt, ReadOnlySpan<double> rss, ReadOnlySpan<double> aBar, int t, int s)
    {
        Check(rts.Length == t * s && aBar.Length == t * s && rtt.Length == t * t && rss.Length == s * s,
            "cross-attention rule: R^ts and Ā must be [t, s], R^tt [t, t] and R^ss [s, s]");
        var ttBar = Normalized(rtt, t);
        var ssBar = Normalized(rss, s);
        var transposed = new double[t * t];
        for (int i = 0; i < t; i++)
            for (int j = 0; j < t; j++) transposed[j * t + i] = ttBar[i * t + j];
        var left = Multiply(transposed, t, t, aBar, s);
        var add = Multiply(left, t, s, ssBar, s);
        for (int i = 0; i < add.Length; i++) rts[i] += add[i];
    }

    /// <summary>C [m, n] = A [m, k]·B [k, n].</summary>
    private static double[] Multiply(ReadOnlySpan<double> a, int m, int k, ReadOnlySpan<double> b, int n)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            var ci = c.AsSpan(i * n, n);
            for (int p = 0; p < k; p++)
            {
                double v = a[i * k + p];
                if (v != 0) System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(b.Slice(p * n, n), v, ci, ci);
            }
        }
        return c;
    }

    private static void Check(bool ok, string message)
    {
        if (!ok) throw new ArgumentException(message);
    }
}
