using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
    /// values are copied there first. Stable: the row maximum is subtracted before exponentiating; the sum is
    /// accumulated in float over 8 lanes and the row divided by it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Softmax(Span<float> row, float scale, Span<float> scores)
    {
        int n = row.Length;
        ref float r0 = ref MemoryMarshal.GetReference(row);
        var vs = Vector256.Create(scale);
        float max = float.NegativeInfinity;
        int i = 0;
        if (n >= 8)
        {
            var vmax = Vector256.Create(float.NegativeInfinity);
            for (; i + 8 <= n; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref r0, (nuint)i) * vs;
                v.StoreUnsafe(ref r0, (nuint)i);
                vmax = Vector256.Max(vmax, v);
            }
            max = Vector256.Max(vmax, Vector256.Create(float.NegativeInfinity)).GetElement(0);
            for (int j = 1; j < 8; j++) max = MathF.Max(max, vmax.GetElement(j));
        }
        for (; i < n; i++)
        {
            row[i] *= scale;
            max = MathF.Max(max, row[i]);
        }
        if (!scores.IsEmpty) row.CopyTo(scores);

        var vm = Vector256.Create(max);
        var vsum = Vector256<float>.Zero;
        i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var e = FastMath.ExpNonPositive(Vector256.LoadUnsafe(ref r0, (nuint)i) - vm);
            e.StoreUnsafe(ref r0, (nuint)i);
            vsum += e;
        }
        if (i < n)
        {
            Span<float> tail = stackalloc float[8];
            tail.Fill(float.NegativeInfinity);
            row[i..].CopyTo(tail);
            var e = FastMath.ExpNonPositive(Vector256.Create<float>(tail) - vm);
            e.CopyTo(tail);
            tail[..(n - i)].CopyTo(row[i..]);
            vsum += e;
        }
        float sum = Vector256.Sum(vsum);
        TensorPrimitives.Divide(row, sum, row);
    }
}
