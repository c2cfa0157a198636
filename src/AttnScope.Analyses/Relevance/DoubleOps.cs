using System.Numerics.Tensors;
using AttnScope.Sources.Engine;

namespace AttnScope.Analyses.Relevance;

/// <summary>
/// Double-precision row operations for the gradient passes: linear maps and their input gradient, LayerNorm and
/// its backward, the feed-forward activations and their derivatives. Row-major arrays throughout; products split
/// their rows across the engine's worker pool.
/// </summary>
internal static class DoubleOps
{
    /// <summary>y[m, n] = x[m, k]·Wᵀ + b with W [n, k] (PyTorch layout).</summary>
    public static void Linear(double[] x, int m, int k, double[] w, double[] b, int n, double[] y) =>
        Rows(m, (long)n * k, (r0, r1) => DoubleGemm.LinearRows(x, k, w, b, n, y, r0, r1));

    /// <summary>dx[m, k] (+)= dy[m, n]·W for y = x·Wᵀ + b, W [n, k].</summary>
    public static void LinearInputGradient(double[] dy, int m, int n, double[] w, int k, double[] dx, bool accumulate) =>
        Rows(m, (long)n * k, (r0, r1) => DoubleGemm.InputGradientRows(dy, n, w, k, dx, accumulate, r0, r1));

    /// <summary>Runs body over row ranges, in parallel chunks when the work is large enough.</summary>
    private static void Rows(int m, long workPerRow, Action<int, int> body)
    {
        int threads = Gemm.Threads;
        if (threads <= 1 || m < 2 || m * workPerRow < (1L << 16)) { body(0, m); return; }
        int blocks = (m + 3) / 4; // whole four-row blocks per chunk, so the kernels' row tails stay at the end
        int chunks = Math.Min(blocks, threads * 2);
        WorkerPool.For(chunks, t => body(Math.Min(m, blocks * t / chunks * 4), Math.Min(m, blocks * (t + 1) / chunks * 4)), threads);
    }

    /// <summary>
    /// In place over each of <paramref name="rows"/> rows: x ← (x − mean)·rstd·γ + β. Keeps the normalised values
    /// x̂ in <paramref name="normalized"/> and rstd per row for <see cref="LayerNormBackward"/>.
    /// </summary>
    public static void LayerNorm(double[] x, int rows, int width, double[] gamma, double[] beta, double eps, double[] normalized, double[] rstd)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * width, width);
            var xh = normalized.AsSpan(r * width, width);
            double mean = TensorPrimitives.Sum<double>(row) / width;
            TensorPrimitives.Subtract(row, mean, xh);
            double var = TensorPrimitives.Dot<double>(xh, xh) / width;
            double s = 1 / Math.Sqrt(var + eps);
            rstd[r] = s;
            TensorPrimitives.Multiply(xh, s, xh);
            TensorPrimitives.MultiplyAdd(xh, gamma, beta, row);
        }
    }

    /// <summary>In place dy → dx through y = x̂·γ + β: dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)) with ĝ = dy⊙γ.</summary>
    public static void LayerNormBackward(double[] dy, int rows, int width, double[] gamma, double[] normalized, double[] rstd)
    {
        for (int r = 0; r < rows; r++)
        {
            var g = dy.AsSpan(r * width, width);
            var xh = normalized.AsSpan(r * width, width);
            TensorPrimitives.Multiply(g, gamma, g);
            double meanG = TensorPrimitives.Sum<double>(g) / width;
            double meanGx = TensorPrimitives.Dot<double>(g, xh) / width;
            for (int i = 0; i < width; i++) g[i] = rstd[r] * (g[i] - meanG - xh[i] * meanGx);
        }
    }

    /// <summary>The feed-forward activation by its config name (as <see cref="Activations.Apply"/>), and its derivative.</summary>
    public static (double Value, double Slope) Activate(string act, double u) => act switch
    {
        "gelu" => GeluErf(u),
        "gelu_new" or "gelu_pytorch_tanh" => GeluTanh(u),
        "relu" => u > 0 ? (u, 1) : (0, 0),
        _ => throw new ArgumentException($"activation '{act}' is not supported", nameof(act)),
    };

    private const double InvSqrt2 = 0.70710678118654752440, InvSqrt2Pi = 0.39894228040143267794;

    /// <summary>u·Φ(u) and its slope Φ(u) + u·φ(u).</summary>
    private static (double, double) GeluErf(double u)
    {
        double cdf = 0.5 * (1 + Erf(u * InvSqrt2));
        return (u * cdf, cdf + u * InvSqrt2Pi * Math.Exp(-0.5 * u * u));
    }

    /// <summary>0.5·u·(1 + tanh(√(2/π)(u + 0.044715u³))) and its slope.</summary>
    private static (double, double) GeluTanh(double u)
    {
        const double c = 0.79788456080286535588, a = 0.044715;
        double t = Math.Tanh(c * (u + a * u * u * u));
        return (0.5 * u * (1 + t), 0.5 * (1 + t) + 0.5 * u * (1 - t * t) * c * (1 + 3 * a * u * u));
    }

    /// <summary>
    /// erf in double: erf(x) = 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)), a series of positive terms (no cancellation)
    /// that is summed until the terms no longer change the total; |x| ≥ 6 gives ±1 (erfc(6) ≈ 2e-17).
    /// </summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        if (ax >= 6) return Math.Sign(x);
        double x2 = ax * ax, term = ax, sum = ax;
        for (int n = 1; n < 400; n++)
        {
            term *= 2 * x2 / (2 * n + 1);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        double r = 2 / Math.Sqrt(Math.PI) * Math.Exp(-x2) * sum;
        return x < 0 ? -r : r;
    }

    public static double[] ToDouble(ReadOnlySpan<float> a)
    {
        var d = new double[a.Length];
        for (int i = 0; i < a.Length; i++) d[i] = a[i];
        return d;
    }
}
