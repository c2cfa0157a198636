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
        Columns(n, (long)m * k, (c0, c1) => DoubleGemm.LinearColumns(x, m, k, w, b, n, y, c0, c1));

    /// <summary>dx[m, k] (+)= dy[m, n]·W for y = x·Wᵀ + b, W [n, k].</summary>
    public static void LinearInputGradient(double[] dy, int m, int n, double[] w, int k, double[] dx, bool accumulate) =>
        Columns(k, (long)m * n, (c0, c1) => DoubleGemm.InputGradientColumns(dy, m, n, w, k, dx, accumulate, c0, c1));

    /// <summary>Runs body over ranges of output columns (multiples of 8 wide but the last), in parallel chunks when
    /// the work is large enough.</summary>
    private static void Columns(int columns, long workPerColumn, Action<int, int> body)
    {
        int threads = Gemm.Threads;
        int groups = (columns + 7) / 8;
        if (threads <= 1 || groups < 2 || columns * workPerColumn < (1L << 16)) { body(0, columns); return; }
        int chunks = Math.Min(groups, threads * 2);
        WorkerPool.For(chunks, t => body(Math.Min(columns, groups * t / chunks * 8), Math.Min(columns, groups * (t + 1) / chunks * 8)), threads);
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
    /// erf in double to ~1e-16: a degree-<see cref="ErfDegree"/> Taylor polynomial about the nearest point x₀ of a
    /// 1/32 grid on [0, 6] (|x − x₀| ≤ 1/64, where the next term is below 1e-20). The coefficients are exact
    /// derivatives, erf⁽ⁿ⁾(x₀) = 2/√π·(−1)ⁿ⁻¹·Hₙ₋₁(x₀)·e^(−x₀²) with Hermite polynomials Hₙ, and erf(x₀) itself comes
    /// from the positive-term series 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)). |x| ≥ 6 gives ±1 (erfc(6) ≈ 2e-17).
    /// About ten multiply-adds a value, against ~50 series terms.
    /// </summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        if (ax >= 6) return Math.Sign(x);
        int k = (int)(ax * ErfGridScale + 0.5);
        double t = ax - k / (double)ErfGridScale;
        var c = ErfTable.AsSpan(k * (ErfDegree + 1), ErfDegree + 1);
        double r = c[ErfDegree];
        for (int n = ErfDegree - 1; n >= 0; n--) r = r * t + c[n];
        return x < 0 ? -r : r;
    }

    private const int ErfGridScale = 32, ErfDegree = 10;
    private static readonly double[] ErfTable = BuildErfTable();

    private static double[] BuildErfTable()
    {
        int points = 6 * ErfGridScale + 1;
        var table = new double[points * (ErfDegree + 1)];
        var hermite = new double[ErfDegree];
        for (int k = 0; k < points; k++)
        {
            double x0 = k / (double)ErfGridScale;
            double scale = 2 / Math.Sqrt(Math.PI) * Math.Exp(-x0 * x0);
            hermite[0] = 1;
            if (ErfDegree > 1) hermite[1] = 2 * x0;
            for (int n = 1; n + 1 < ErfDegree; n++) hermite[n + 1] = 2 * x0 * hermite[n] - 2 * n * hermite[n - 1];
            var c = table.AsSpan(k * (ErfDegree + 1), ErfDegree + 1);
            c[0] = ErfSeries(x0);
            double factorial = 1;
            for (int n = 1; n <= ErfDegree; n++)
            {
                factorial *= n;
                c[n] = scale * ((n - 1) % 2 == 0 ? 1 : -1) * hermite[n - 1] / factorial;
            }
        }
        return table;
    }

    /// <summary>erf(x) for 0 ≤ x ≤ 6 by the positive-term series (no cancellation), summed until terms stop mattering.</summary>
    private static double ErfSeries(double x)
    {
        double x2 = x * x, term = x, sum = x;
        for (int n = 1; n < 400; n++)
        {
            term *= 2 * x2 / (2 * n + 1);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        return 2 / Math.Sqrt(Math.PI) * Math.Exp(-x2) * sum;
    }

    public static double[] ToDouble(ReadOnlySpan<float> a)
    {
        var d = new double[a.Length];
        for (int i = 0; i < a.Length; i++) d[i] = a[i];
        return d;
    }
}
