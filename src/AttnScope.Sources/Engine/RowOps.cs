using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AttnScope.Sources.Engine;

/// <summary>
/// Per-row LayerNorm, softmax and adds, hand-vectorised with Vector256 and compiled fully optimised from the first
/// call (TensorPrimitives' generic kernels start at tier 0 in a short-lived process, several times slower).
/// </summary>
internal static class RowOps
{


    /// <summary>In place: (x − mean)/√(var + eps)·γ + β, mean and (biased) variance over the row, two passes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNorm(Span<float> row, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps)
    {
        int n = row.Length;
        if (gamma.Length < n || beta.Length < n) throw new ArgumentException("gamma/beta are shorter than the row");
        ref float x = ref MemoryMarshal.GetReference(row);
        ref float g = ref MemoryMarshal.GetReference(gamma);
        ref float b = ref MemoryMarshal.GetReference(beta);
        int i = 0;
        var vs = Vector256<float>.Zero;
        for (; i + 8 <= n; i += 8) vs += Vector256.LoadUnsafe(ref x, (nuint)i);
        double sum = Vector256.Sum(vs);
        for (; i < n; i++) sum += Unsafe.Add(ref x, i);
        float mean = (float)(sum / n);

        var vm = Vector256.Create(mean);
        var vq = Vector256<float>.Zero;
        i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var d = Vector256.LoadUnsafe(ref x, (nuint)i) - vm;
            vq = FastMath.Madd(d, d, vq);
        }
        double sq = Vector256.Sum(vq);
        for (; i < n; i++)
        {
            float d = Unsafe.Add(ref x, i) - mean;
            sq += d * d;
        }
        float rstd = (float)(1.0 / Math.Sqrt(sq / n + eps));

        var vr = Vector256.Create(rstd);
        i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var d = (Vector256.LoadUnsafe(ref x, (nuint)i) - vm) * vr;
            FastMath.Madd(d, Vector256.LoadUnsafe(ref g, (nuint)i), Vector256.LoadUnsafe(ref b, (nuint)i)).StoreUnsafe(ref x, (nuint)i);
        }
        for (; i < n; i++)
            Unsafe.Add(ref x, i) = (Unsafe.Add(ref x, i) - mean) * rstd * Unsafe.Add(ref g, i) + Unsafe.Add(ref b, i);
    }

    /// <summary>An exp kernel for <see cref="ExpInPlace{TExp}"/>; structs, so each loop is compiled for its own.</summary>
    private interface IExp { static abstract Vector256<float> Exp(Vector256<float> x); }

    /// <summary><see cref="FastMath.ExpNonPositive"/>: the public softmax, relative accuracy about 2 ulp.</summary>
    private struct PreciseExp : IExp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Exp(Vector256<float> x) => FastMath.ExpNonPositive(x);
    }

    /// <summary><see cref="FastMath.ExpForSoftmax"/>: the engine's attention, absolute accuracy about 2.6e-7.</summary>
    private struct SoftmaxExp : IExp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Exp(Vector256<float> x) => FastMath.ExpForSoftmax(x);
    }

    /// <summary>row ← e^(row − max) over the whole row (vector tail padded with −∞), returning the 8 lane sums.</summary>
    private static Vector256<float> ExpRow<TExp>(Span<float> row, Vector256<float> vm) where TExp : struct, IExp
    {
        int n = row.Length, i = n & ~7;
        var vsum = ExpInPlace<TExp>(ref MemoryMarshal.GetReference(row), i, vm);
        if (i < n)
        {
            Span<float> tail = stackalloc float[8];
            tail.Fill(float.NegativeInfinity);
            row[i..].CopyTo(tail);
            var e = TExp.Exp(Vector256.Create<float>(tail) - vm);
            e.CopyTo(tail);
            tail[..(n - i)].CopyTo(row[i..]);
            vsum += e;
        }
        return vsum;
    }

    /// <summary>
    /// Softmax of an already-scaled row, left unnormalised for the caller to fold 1/Σ into a later, smaller
    /// product (the attention context): row ← e^(row − max row); returns 1/Σ e. <paramref name="scores"/>, when not
    /// empty, gets the row as given; <paramref name="probabilities"/> gets e/Σ with streaming stores. Against
    /// <see cref="Softmax(Span{float}, float, Span{float}, float*)"/> this saves rewriting the row twice (scaled,
    /// then normalised) in cache: two passes that only read it (max, then the normalised copy) and one exp pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe float SoftmaxUnnormalized(Span<float> row, Span<float> scores, float* probabilities)
    {
        int n = row.Length;
        ref float r0 = ref MemoryMarshal.GetReference(row);
        if (!scores.IsEmpty) row.CopyTo(scores);
        float max = float.NegativeInfinity;
        int i = 0;
        if (n >= 8)
        {
            var m0 = Vector256.Create(float.NegativeInfinity);
            var m1 = m0;
            for (; i + 16 <= n; i += 16)
            {
                m0 = FastMath.Max(m0, Vector256.LoadUnsafe(ref r0, (nuint)i));
                m1 = FastMath.Max(m1, Vector256.LoadUnsafe(ref r0, (nuint)i + 8));
            }
            if (i + 8 <= n) { m0 = FastMath.Max(m0, Vector256.LoadUnsafe(ref r0, (nuint)i)); i += 8; }
            max = FastMath.HorizontalMax(FastMath.Max(m0, m1));
        }
        for (; i < n; i++) max = MathF.Max(max, Unsafe.Add(ref r0, i));

        float inv = 1f / Vector256.Sum(ExpRow<SoftmaxExp>(row, Vector256.Create(max)));
        if (probabilities == null) return inv;
        StreamScaled(ref r0, n, inv, probabilities);
        return inv;
    }

    /// <summary>
    /// dst[0..n) ← src·factor with non-temporal stores only: 4-byte movnti up to 16-byte alignment, then 16- and
    /// 32-byte movntps, the same at the end. Mixing ordinary stores into lines that are also streamed (the
    /// unaligned head and tail of each row) defeats write-combining: with 128-float rows that tripled the
    /// cost of the copy. Falls back to ordinary stores without SSE2/AVX or for a misaligned destination.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void StreamScaled(ref float src, int n, float factor, float* dst)
    {
        int i = 0;
        if (!Avx.IsSupported || ((nuint)dst & 3) != 0)
        {
            for (; i < n; i++) dst[i] = Unsafe.Add(ref src, i) * factor;
            return;
        }
        for (; i < n && ((nuint)(dst + i) & 15) != 0; i++)
            Sse2.StoreNonTemporal((int*)(dst + i), BitConverter.SingleToInt32Bits(Unsafe.Add(ref src, i) * factor));
        var v4 = Vector128.Create(factor);
        if (i + 4 <= n && ((nuint)(dst + i) & 31) != 0)
        {
            Sse.StoreAlignedNonTemporal(dst + i, Vector128.LoadUnsafe(ref src, (nuint)i) * v4);
            i += 4;
        }
        var v8 = Vector256.Create(factor);
        for (; i + 8 <= n; i += 8) Avx.StoreAlignedNonTemporal(dst + i, Vector256.LoadUnsafe(ref src, (nuint)i) * v8);
        if (i + 4 <= n)
        {
            Sse.StoreAlignedNonTemporal(dst + i, Vector128.LoadUnsafe(ref src, (nuint)i) * v4);
            i += 4;
        }
        for (; i < n; i++)
            Sse2.StoreNonTemporal((int*)(dst + i), BitConverter.SingleToInt32Bits(Unsafe.Add(ref src, i) * factor));
    }

    /// <summary>
    /// row[0..count) ← e^(row − max) (count a multiple of 8), returning the 8 lane sums. Its own small method so the
    /// register allocator keeps the running sum and the maximum in registers (inlined into the softmax, both were
    /// spilled and reloaded on every iteration, a store-forwarding stall on the sum's dependency chain).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector256<float> ExpInPlace<TExp>(ref float row, int count, Vector256<float> max) where TExp : struct, IExp
    {
        var sum = Vector256<float>.Zero;
        var sum1 = Vector256<float>.Zero;
        int i = 0;
        // Two exponentials per iteration: each is a ~50-cycle dependency chain of ~20 operations, and the
        // out-of-order window otherwise overlaps too few of them to keep both FMA pipes busy.
        for (; i + 16 <= count; i += 16)
        {
            var e0 = TExp.Exp(Vector256.LoadUnsafe(ref row, (nuint)i) - max);
            var e1 = TExp.Exp(Vector256.LoadUnsafe(ref row, (nuint)i + 8) - max);
            e0.StoreUnsafe(ref row, (nuint)i);
            e1.StoreUnsafe(ref row, (nuint)i + 8);
            sum += e0;
            sum1 += e1;
        }
        if (i < count)
        {
            var e = TExp.Exp(Vector256.LoadUnsafe(ref row, (nuint)i) - max);
            e.StoreUnsafe(ref row, (nuint)i);
            sum += e;
        }
        return sum + sum1;
    }

    /// <summary>In place: row ← row·factor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scale(Span<float> row, float factor)
    {
        ref float r0 = ref MemoryMarshal.GetReference(row);
        var vf = Vector256.Create(factor);
        int i = 0;
        for (; i + 8 <= row.Length; i += 8) (Vector256.LoadUnsafe(ref r0, (nuint)i) * vf).StoreUnsafe(ref r0, (nuint)i);
        for (; i < row.Length; i++) Unsafe.Add(ref r0, i) *= factor;
    }

    /// <summary>dst = a + b + c, elementwise (the embedding sum).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add3(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, Span<float> dst)
    {
        int n = dst.Length;
        if (a.Length < n || b.Length < n || c.Length < n) throw new ArgumentException("inputs are shorter than the output");
        for (int i = 0; i < n; i++) dst[i] = a[i] + b[i] + c[i];
    }

    /// <summary>
    /// In place: row ← softmax(row·scale). When <paramref name="scores"/> is not empty the scaled pre-softmax
    /// values are copied there first. Stable: the row maximum is subtracted before exponentiating; the sum is
    /// accumulated in float over 8 lanes and the row multiplied by its reciprocal.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Softmax(Span<float> row, float scale, Span<float> scores) => Softmax(row, scale, scores, null);

    /// <summary>
    /// As <see cref="Softmax(Span{float}, float, Span{float})"/>; when <paramref name="copyTo"/> is not null the
    /// probabilities are also written there, with streaming stores, in the same pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Softmax(Span<float> row, float scale, Span<float> scores, float* copyTo)
    {
        int n = row.Length;
        if (!(scale > 0)) throw new ArgumentOutOfRangeException(nameof(scale), "the softmax scale must be positive");
        ref float r0 = ref MemoryMarshal.GetReference(row);
        // Pass 1 scales the row in place (and copies it to the captured scores) while taking its maximum, with
        // native vmaxps (scores are finite) over two accumulators. Pass 2 then needs only the maximum besides the
        // exp constants: with the scale also live the loop ran out of the 16 ymm registers and spilled its sum.
        var vs = Vector256.Create(scale);
        bool keep = !scores.IsEmpty;
        ref float s0 = ref MemoryMarshal.GetReference(scores);
        float max = float.NegativeInfinity;
        int i = 0;
        if (n >= 8)
        {
            var m0 = Vector256.Create(float.NegativeInfinity);
            var m1 = m0;
            for (; i + 16 <= n; i += 16)
            {
                var a0 = Vector256.LoadUnsafe(ref r0, (nuint)i) * vs;
                var a1 = Vector256.LoadUnsafe(ref r0, (nuint)i + 8) * vs;
                a0.StoreUnsafe(ref r0, (nuint)i);
                a1.StoreUnsafe(ref r0, (nuint)i + 8);
                if (keep)
                {
                    a0.StoreUnsafe(ref s0, (nuint)i);
                    a1.StoreUnsafe(ref s0, (nuint)i + 8);
                }
                m0 = FastMath.Max(m0, a0);
                m1 = FastMath.Max(m1, a1);
            }
            if (i + 8 <= n)
            {
                var a0 = Vector256.LoadUnsafe(ref r0, (nuint)i) * vs;
                a0.StoreUnsafe(ref r0, (nuint)i);
                if (keep) a0.StoreUnsafe(ref s0, (nuint)i);
                m0 = FastMath.Max(m0, a0);
                i += 8;
            }
            max = FastMath.HorizontalMax(FastMath.Max(m0, m1));
        }
        for (; i < n; i++)
        {
            float a0 = Unsafe.Add(ref r0, i) *= scale;
            if (keep) Unsafe.Add(ref s0, i) = a0;
            max = MathF.Max(max, a0);
        }

        var vm = Vector256.Create(max);
        var vsum = ExpRow<PreciseExp>(row, vm);
        // Multiply by the reciprocal (within an ulp of dividing; division is slow on some cores).
        float inv = 1f / Vector256.Sum(vsum);
        var vd = Vector256.Create(inv);
        i = 0;
        if (copyTo == null)
        {
            for (; i + 8 <= n; i += 8) (Vector256.LoadUnsafe(ref r0, (nuint)i) * vd).StoreUnsafe(ref r0, (nuint)i);
        }
        else
        {
            bool stream = System.Runtime.Intrinsics.X86.Avx.IsSupported && ((nuint)copyTo & 3) == 0;
            int head = stream ? Math.Min(n, (int)((32 - ((nuint)copyTo & 31)) & 31) / 4) : n;
            for (; i < head; i++) copyTo[i] = Unsafe.Add(ref r0, i) *= inv;
            for (; i + 8 <= n; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref r0, (nuint)i) * vd;
                v.StoreUnsafe(ref r0, (nuint)i);
                System.Runtime.Intrinsics.X86.Avx.StoreAlignedNonTemporal(copyTo + i, v);
            }
            for (; i < n; i++) copyTo[i] = Unsafe.Add(ref r0, i) *= inv;
            return;
        }
        for (; i < n; i++) Unsafe.Add(ref r0, i) *= inv;
    }
}
