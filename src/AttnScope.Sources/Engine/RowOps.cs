using System.Numerics.Tensors;

namespace AttnScope.Sources.Engine;

/// <summary>Per-row LayerNorm and softmax on spans, built from TensorPrimitives.</summary>
internal static class RowOps
{
    /// <summary>In place: (x − mean)/√(var + eps)·γ + β, mean and (biased) variance over the row.</summary>
    public static void LayerNorm(Span<float> row, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps)
    {
        float mean = TensorPrimitives.Sum(row) / row.Length;
        TensorPrimitives.Subtract(row, mean, row);
        double variance = TensorPrimitives.SumOfSquares(row) / (double)row.Length;
        float rstd = (float)(1.0 / Math.Sqrt(variance + eps));
        TensorPrimitives.Multiply(row, rstd, row);
        TensorPrimitives.FusedMultiplyAdd(row, gamma, beta, row);
    }

    /// <summary>
    /// In place: row ← softmax(row·scale). When <paramref name="scores"/> is not empty the scaled pre-softmax
    /// values are copied there first. Stable: the row maximum is subtracted before exponentiating.
    /// </summary>
    public static void Softmax(Span<float> row, float scale, Span<float> scores)
    {
        TensorPrimitives.Multiply(row, scale, row);
        if (!scores.IsEmpty) row.CopyTo(scores);
        float max = TensorPrimitives.Max(row);
        TensorPrimitives.Subtract(row, max, row);
        TensorPrimitives.Exp(row, row);
        float sum = TensorPrimitives.Sum(row);
        TensorPrimitives.Divide(row, sum, row);
    }
}
