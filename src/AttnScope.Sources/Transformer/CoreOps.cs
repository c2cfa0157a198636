using System.Numerics.Tensors;
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
}
