using System.Numerics.Tensors;
using AttnScope.Capture;
using AttnScope.Sources.Engine;

namespace AttnScope.Sources.Transformer;

/// <summary>Row operations the core adds to <see cref="RowOps"/>: RMSNorm, LayerNorm without bias, SiLU.</summary>
internal static class CoreOps
{
    /// <summary>In place: x·γ/√(mean(x²) + eps), the mean square taken in double.</summary>
    public static void RmsNorm(Span<float> row, ReadOnlySpan<float> gain, float eps)
    {
        double sq = 0;
        for (int i = 0; i < row.Length; i++) sq += (double)row[i] * row[i];
        float rstd = (float)(1.0 / Math.Sqrt(sq / row.Length + eps));
        for (int i = 0; i < row.Length; i++) row[i] = gain[i] * (row[i] * rstd);
    }

    /// <summary>In place: LayerNorm with a gain and no bias.</summary>
    public static void LayerNormNoBias(Span<float> row, ReadOnlySpan<float> gain, float eps)
    {
        double sum = 0;
        for (int i = 0; i < row.Length; i++) sum += row[i];
        float mean = (float)(sum / row.Length);
        double sq = 0;
        for (int i = 0; i < row.Length; i++) { double c = row[i] - mean; sq += c * c; }
        float rstd = (float)(1.0 / Math.Sqrt(sq / row.Length + eps));
        for (int i = 0; i < row.Length; i++) row[i] = (row[i] - mean) * rstd * gain[i];
    }

    /// <summary>x·σ(x) in place.</summary>
    public static void Silu(Span<float> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            float x = data[i];
            data[i] = x / (1f + MathF.Exp(-x));
        }
    }

    /// <summary>The named activation in place (the engine's GELU kernels, ReLU, SiLU).</summary>
    public static void Activate(string act, Span<float> data)
    {
        if (act == "silu") Silu(data);
        else Activations.Apply(act, data);
    }

    /// <summary>dy → dx in place through LayerNorm of x (recomputing its moments); adds dγ and dβ.</summary>
    public static void LayerNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> gain, float eps, Span<float> dy, Span<float> dGain, Span<float> dBias)
    {
        int n = x.Length;
        double sum = 0;
        for (int i = 0; i < n; i++) sum += x[i];
        double mean = sum / n, sq = 0;
        for (int i = 0; i < n; i++) { double c = x[i] - mean; sq += c * c; }
        double rstd = 1.0 / Math.Sqrt(sq / n + eps);
        double mg = 0, mgx = 0;
        for (int i = 0; i < n; i++)
        {
            double xh = (x[i] - mean) * rstd, gi = dy[i] * gain[i];
            if (!dGain.IsEmpty) dGain[i] += (float)(dy[i] * xh);
            if (!dBias.IsEmpty) dBias[i] += dy[i];
            mg += gi; mgx += gi * xh;
        }
        mg /= n; mgx /= n;
        for (int i = 0; i < n; i++)
        {
            double xh = (x[i] - mean) * rstd;
            dy[i] = (float)(rstd * (dy[i] * gain[i] - mg - xh * mgx));
        }
    }

    /// <summary>dy → dx in place through RMSNorm of x; adds dγ.</summary>
    public static void RmsNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> gain, float eps, Span<float> dy, Span<float> dGain)
    {
        int n = x.Length;
        double sq = 0;
        for (int i = 0; i < n; i++) sq += (double)x[i] * x[i];
        double r = 1.0 / Math.Sqrt(sq / n + eps), dot = 0;
        for (int i = 0; i < n; i++)
        {
            if (!dGain.IsEmpty) dGain[i] += (float)(dy[i] * x[i] * r);
            dot += (double)dy[i] * gain[i] * x[i];
        }
        double k = r * r * r * dot / n;
        for (int i = 0; i < n; i++) dy[i] = (float)(r * dy[i] * gain[i] - x[i] * k);
    }

    /// <summary>dx = dy·act′(x) for the named activation.</summary>
    public static void ActivationBackward(string act, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i], slope;
            switch (act)
            {
                case "relu": slope = v > 0 ? 1 : 0; break;
                case "silu": { double sg = 1 / (1 + Math.Exp(-v)); slope = sg * (1 + v * (1 - sg)); break; }
                case "gelu_new" or "gelu_pytorch_tanh":
                {
                    const double c = 0.7978845608028654;
                    double t = Math.Tanh(c * (v + 0.044715 * v * v * v));
                    slope = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v);
                    break;
                }
                case "gelu":
                {
                    double cdf = 0.5 * (1 + Activations.Erf((float)(v / Math.Sqrt(2))));
                    slope = cdf + v * Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI);
                    break;
                }
                default: throw new AttnScopeException($"activation '{act}' has no backward pass");
            }
            dx[i] = (float)(dy[i] * slope);
        }
    }
}
