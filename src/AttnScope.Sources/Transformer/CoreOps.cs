using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using AttnScope.Capture;
using AttnScope.Sources.Engine;

namespace AttnScope.Sources.Transformer;

/// <summary>Row operations the core adds to <see cref="RowOps"/>: RMSNorm, LayerNorm without bias, SiLU.</summary>
internal static class CoreOps
{
    /// <summary>In place: γ·(x/√(mean(x²) + eps)).</summary>
    public static void RmsNorm(Span<float> row, ReadOnlySpan<float> gain, float eps)
    {
        // Mean square in float, as Hugging Face's implementations take it (vectorised).
        float rstd = (float)(1.0 / Math.Sqrt(TensorPrimitives.SumOfSquares<float>(row) / row.Length + eps));
        TensorPrimitives.Multiply(row, rstd, row);
        TensorPrimitives.Multiply(row, gain[..row.Length], row);
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

    /// <summary>x·σ(x) in place (SiLU), 8 lanes at a time.</summary>
    public static void Silu(Span<float> data) => Gated(data, gelu: false);

    /// <summary>
    /// GPT-2's "gelu_new" (and "gelu_pytorch_tanh") in place, 8 lanes at a time: ½x(1 + tanh u) with
    /// u = √(2/π)(x + 0.044715x³) equals x·σ(2u), so one vector exponential per element replaces a scalar tanh.
    /// </summary>
    public static void GeluTanh(Span<float> data) => Gated(data, gelu: true);

    /// <summary>x ← x·σ(z) with z = x (SiLU) or z = 2√(2/π)(x + 0.044715x³) (tanh GELU).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gated(Span<float> data, bool gelu)
    {
        ref float d0 = ref MemoryMarshal.GetReference(data);
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
            XSigmoid(Vector256.LoadUnsafe(ref d0, (nuint)i), gelu).StoreUnsafe(ref d0, (nuint)i);
        if (i < data.Length)
        {
            Span<float> tmp = stackalloc float[8];
            tmp.Clear();
            data[i..].CopyTo(tmp);
            XSigmoid(Vector256.Create<float>(tmp), gelu).CopyTo(tmp);
            tmp[..(data.Length - i)].CopyTo(data[i..]);
        }
    }

    /// <summary>
    /// x·σ(z) on 8 lanes with e = e^(−|z|) ≤ 1 (so the exponential never overflows): σ(z) = 1/(1 + e) for z ≥ 0 and
    /// e/(1 + e) below. Below z ≈ −87 the exponential is clamped (<see cref="FastMath.ExpNonPositive"/>), leaving
    /// x·1.6e-38 where the exact value underflows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> XSigmoid(Vector256<float> x, bool gelu)
    {
        var z = x;
        if (gelu)
        {
            const float c2 = 2f * 0.7978845608028654f;
            z = x * FastMath.Madd(x * x, Vector256.Create(c2 * 0.044715f), Vector256.Create(c2));
        }
        var e = FastMath.ExpNonPositive(-Vector256.Abs(z));
        var r = Vector256<float>.One / (Vector256<float>.One + e);
        return x * Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(z, Vector256<float>.Zero), r, e * r);
    }

    /// <summary>CLIP's quick_gelu in place: x·σ(1.702x).</summary>
    public static void QuickGelu(Span<float> data)
    {
        for (int i = 0; i < data.Length; i++) data[i] = (float)(data[i] / (1 + Math.Exp(-1.702 * data[i])));
    }

    /// <summary>The named activation in place (SiLU and the tanh GELU here, the engine's other kernels, ReLU).</summary>
    public static void Activate(string act, Span<float> data)
    {
        if (act == "silu") Silu(data);
        else if (act is "gelu_new" or "gelu_pytorch_tanh") GeluTanh(data);
        else if (act == "quick_gelu") QuickGelu(data);
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
        if (act == "relu")
        {
            for (int i = 0; i < x.Length; i++) dx[i] = x[i] > 0 ? dy[i] : 0f;
            return;
        }
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i], slope;
            switch (act)
            {
                case "relu": slope = v > 0 ? 1 : 0; break;
                case "silu": { double sg = 1 / (1 + Math.Exp(-v)); slope = sg * (1 + v * (1 - sg)); break; }
                case "quick_gelu": { double sg = 1 / (1 + Math.Exp(-1.702 * v)); slope = sg * (1 + 1.702 * v * (1 - sg)); break; }
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
