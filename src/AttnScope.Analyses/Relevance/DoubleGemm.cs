using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AttnScope.Analyses.Relevance;

/// <summary>
/// Register-blocked double-precision kernels behind <see cref="DoubleOps.Linear"/> and
/// <see cref="DoubleOps.LinearInputGradient"/> for a range of columns: blocks of four rows against two weight rows
/// (dot products) or eight weight columns (broadcast multiply-adds), so each load feeds several FMAs.
/// </summary>
internal static unsafe class DoubleGemm
{
    /// <summary>Rows of W per cache block in <see cref="LinearRows"/> (32 × 1536 doubles = 384 KiB at most).</summary>
    private const int WeightBlock = 32;
    /// <summary>Inner-dimension chunk in <see cref="InputGradientRows"/>.</summary>
    private const int InnerBlock = 128;

    /// <summary>
    /// y[i, j] = x[i]·W[j] + b[j] for all m rows and the output columns j in [c0, c1); x [m, k], W [n, k], y [m, n].
    /// Splitting by columns reads each weight once however few rows there are.
    /// </summary>
    public static void LinearColumns(ReadOnlySpan<double> x, int m, int k, ReadOnlySpan<double> w, ReadOnlySpan<double> b, int n, Span<double> y, int c0, int c1)
    {
        fixed (double* px = x, pw = w, py = y)
        {
            for (int j0 = c0; j0 < c1; j0 += WeightBlock)
            {
                int j1 = Math.Min(c1, j0 + WeightBlock);
                int i = 0;
                for (; i + 4 <= m; i += 4)
                {
                    int j = j0;
                    for (; j + 2 <= j1; j += 2) Dot4x2(px + (long)i * k, k, pw + (long)j * k, py + (long)i * n + j, n);
                    for (; j < j1; j++)
                        for (int r = 0; r < 4; r++) py[(long)(i + r) * n + j] = TensorPrimitives.Dot(x.Slice((i + r) * k, k), w.Slice(j * k, k));
                }
                for (; i < m; i++)
                    for (int j = j0; j < j1; j++) py[(long)i * n + j] = TensorPrimitives.Dot(x.Slice(i * k, k), w.Slice(j * k, k));
            }
            for (int i = 0; i < m; i++) TensorPrimitives.Add(y.Slice(i * n + c0, c1 - c0), b.Slice(c0, c1 - c0), y.Slice(i * n + c0, c1 - c0));
        }
    }

    /// <summary>Four rows of x against two rows of W: eight dot products of length k into y (row stride ldy).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x2(double* x, int k, double* w, double* y, int ldy)
    {
        Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        double* w1 = w + k;
        int p = 0;
        for (; p + 4 <= k; p += 4)
        {
            var v0 = Vector256.Load(w + p);
            var v1 = Vector256.Load(w1 + p);
            var x0 = Vector256.Load(x + p);
            a0 = Vector256.FusedMultiplyAdd(x0, v0, a0); b0 = Vector256.FusedMultiplyAdd(x0, v1, b0);
            var x1 = Vector256.Load(x + k + p);
            a1 = Vector256.FusedMultiplyAdd(x1, v0, a1); b1 = Vector256.FusedMultiplyAdd(x1, v1, b1);
            var x2 = Vector256.Load(x + 2 * k + p);
            a2 = Vector256.FusedMultiplyAdd(x2, v0, a2); b2 = Vector256.FusedMultiplyAdd(x2, v1, b2);
            var x3 = Vector256.Load(x + 3 * k + p);
            a3 = Vector256.FusedMultiplyAdd(x3, v0, a3); b3 = Vector256.FusedMultiplyAdd(x3, v1, b3);
        }
        double s0 = Vector256.Sum(a0), s1 = Vector256.Sum(a1), s2 = Vector256.Sum(a2), s3 = Vector256.Sum(a3);
        double t0 = Vector256.Sum(b0), t1 = Vector256.Sum(b1), t2 = Vector256.Sum(b2), t3 = Vector256.Sum(b3);
        for (; p < k; p++)
        {
            double u = w[p], v = w1[p];
            s0 += x[p] * u; t0 += x[p] * v;
            s1 += x[k + p] * u; t1 += x[k + p] * v;
            s2 += x[2 * k + p] * u; t2 += x[2 * k + p] * v;
            s3 += x[3 * k + p] * u; t3 += x[3 * k + p] * v;
        }
        y[0] = s0; y[1] = t0;
        y[ldy] = s1; y[ldy + 1] = t1;
        y[2 * ldy] = s2; y[2 * ldy + 1] = t2;
        y[3 * ldy] = s3; y[3 * ldy + 1] = t3;
    }

    /// <summary>
    /// dx[i, c] (+)= Σⱼ dy[i, j]·W[j, c] for all m rows and the input columns c in [c0, c1) (c0 a multiple of 8);
    /// dy [m, n], W [n, k], dx [m, k]. Splitting by columns reads each weight once however few rows there are.
    /// </summary>
    public static void InputGradientColumns(ReadOnlySpan<double> dy, int m, int n, ReadOnlySpan<double> w, int k, Span<double> dx, bool accumulate, int c0, int c1)
    {
        if (!accumulate)
            for (int i = 0; i < m; i++) dx.Slice(i * k + c0, c1 - c0).Clear();
        fixed (double* pdy = dy, pw = w, pdx = dx)
        {
            int strips = c0 + (c1 - c0) / 8 * 8;
            for (int j0 = 0; j0 < n; j0 += InnerBlock)
            {
                int j1 = Math.Min(n, j0 + InnerBlock);
                for (int c = c0; c < strips; c += 8)
                {
                    int i = 0;
                    for (; i + 4 <= m; i += 4) Axpy4x8(pdy + (long)i * n, n, j0, j1, pw + c, k, pdx + (long)i * k + c, k);
                    for (; i < m; i++) Axpy1x8(pdy + (long)i * n, j0, j1, pw + c, k, pdx + (long)i * k + c);
                }
                for (int i = 0; i < m; i++)
                    for (int j = j0; j < j1; j++)
                    {
                        double g = pdy[(long)i * n + j];
                        for (int q = strips; q < c1; q++) pdx[(long)i * k + q] += g * pw[(long)j * k + q];
                    }
            }
        }
    }

    /// <summary>One row of dx, eight columns: dx[0..8) += Σ_{j0 ≤ j &lt; j1} dy[j]·W[j, 0..8).</summary>
    private static void Axpy1x8(double* dy, int j0, int j1, double* w, int ldw, double* dx)
    {
        var a = Vector256.Load(dx); var b = Vector256.Load(dx + 4);
        for (int j = j0; j < j1; j++)
        {
            var g = Vector256.Create(dy[j]);
            a = Vector256.FusedMultiplyAdd(g, Vector256.Load(w + (long)j * ldw), a);
            b = Vector256.FusedMultiplyAdd(g, Vector256.Load(w + (long)j * ldw + 4), b);
        }
        a.Store(dx); b.Store(dx + 4);
    }

    /// <summary>Four rows of dx, eight columns: dx[r, 0..8) += Σ_{j0 ≤ j &lt; j1} dy[r, j]·W[j, 0..8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Axpy4x8(double* dy, int ldy, int j0, int j1, double* w, int ldw, double* dx, int ldx)
    {
        var a0 = Vector256.Load(dx); var b0 = Vector256.Load(dx + 4);
        var a1 = Vector256.Load(dx + ldx); var b1 = Vector256.Load(dx + ldx + 4);
        var a2 = Vector256.Load(dx + 2 * ldx); var b2 = Vector256.Load(dx + 2 * ldx + 4);
        var a3 = Vector256.Load(dx + 3 * ldx); var b3 = Vector256.Load(dx + 3 * ldx + 4);
        for (int j = j0; j < j1; j++)
        {
            var v0 = Vector256.Load(w + (long)j * ldw);
            var v1 = Vector256.Load(w + (long)j * ldw + 4);
            var g = Vector256.Create(dy[j]);
            a0 = Vector256.FusedMultiplyAdd(g, v0, a0); b0 = Vector256.FusedMultiplyAdd(g, v1, b0);
            g = Vector256.Create(dy[ldy + j]);
            a1 = Vector256.FusedMultiplyAdd(g, v0, a1); b1 = Vector256.FusedMultiplyAdd(g, v1, b1);
            g = Vector256.Create(dy[2 * ldy + j]);
            a2 = Vector256.FusedMultiplyAdd(g, v0, a2); b2 = Vector256.FusedMultiplyAdd(g, v1, b2);
            g = Vector256.Create(dy[3 * ldy + j]);
            a3 = Vector256.FusedMultiplyAdd(g, v0, a3); b3 = Vector256.FusedMultiplyAdd(g, v1, b3);
        }
        a0.Store(dx); b0.Store(dx + 4);
        a1.Store(dx + ldx); b1.Store(dx + ldx + 4);
        a2.Store(dx + 2 * ldx); b2.Store(dx + 2 * ldx + 4);
        a3.Store(dx + 3 * ldx); b3.Store(dx + 3 * ldx + 4);
    }
}
