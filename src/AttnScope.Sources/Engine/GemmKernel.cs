using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AttnScope.Sources.Engine;

/// <summary>
/// Single-threaded cache-blocked float32 GEMM over pointers: C[M, N] (+)= A[M, K] · B[K, N] (+ bias), with B
/// packed into <see cref="NR"/>-wide column panels (see <see cref="PackedMatrix"/>). The 6×16 microkernel keeps
/// 12 Vector256 accumulators in registers and uses FMA when the CPU has it. Accumulation is float32 in k order.
/// </summary>
internal static unsafe class GemmKernel
{
    /// <summary>Rows per microkernel tile.</summary>
    public const int MR = 6;
    /// <summary>Columns per microkernel tile (and per packed panel).</summary>
    public const int NR = 16;
    /// <summary>Depth block: a KC×NR slice of a panel (16 KiB) stays in L1 while row tiles stream past it.</summary>
    public const int KC = 256;
    /// <summary>Row block (multiple of MR): an MC×KC block of A (96 KiB) stays in L2.</summary>
    public const int MC = 96;
    /// <summary>Software prefetch distance into the packed B stream, in floats (64 cache lines).</summary>
    private const int PrefetchAhead = 64 * NR;


    /// <summary>
    /// Packs B given as Bᵀ: <paramref name="n"/> rows of <paramref name="k"/> floats, row stride <paramref name="ld"/>,
    /// each element multiplied by <paramref name="scale"/> (attention folds 1/√d into K here, n·d multiplies
    /// instead of n² on the scores).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackTransposed(float* src, int ld, int n, int k, float* dst, float scale = 1f)
    {
        int panels = (n + NR - 1) / NR;
        for (int p = 0; p < panels; p++)
        {
            float* d = dst + (long)p * k * NR;
            int jn = Math.Min(NR, n - p * NR);
            if (jn == NR && (k & 7) == 0)
            {
                // Full panel: 8×8 blocks read as rows and written as columns (strided scalar stores cost ~3 ns each).
                for (int kk = 0; kk < k; kk += 8)
                {
                    Transpose8x8(src + (long)p * NR * ld + kk, ld, scale, d + kk * NR);
                    Transpose8x8(src + (long)(p * NR + 8) * ld + kk, ld, scale, d + kk * NR + 8);
                }
                continue;
            }
            for (int j = 0; j < jn; j++)
            {
                float* s = src + (long)(p * NR + j) * ld;
                for (int kk = 0; kk < k; kk++) d[kk * NR + j] = s[kk] * scale;
            }
            for (int j = jn; j < NR; j++)
                for (int kk = 0; kk < k; kk++) d[kk * NR + j] = 0f;
        }
    }

    /// <summary>dst[c·NR + r] = src[r·ld + c]·scale for an 8×8 block (unpack, shuffle, then swap 128-bit halves).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, int ld, float scale, float* dst)
    {
        var vs = Vector256.Create(scale);
        var r0 = Vector256.Load(src) * vs;
        var r1 = Vector256.Load(src + ld) * vs;
        var r2 = Vector256.Load(src + 2L * ld) * vs;
        var r3 = Vector256.Load(src + 3L * ld) * vs;
        var r4 = Vector256.Load(src + 4L * ld) * vs;
        var r5 = Vector256.Load(src + 5L * ld) * vs;
        var r6 = Vector256.Load(src + 6L * ld) * vs;
        var r7 = Vector256.Load(src + 7L * ld) * vs;
        if (!Avx.IsSupported)
        {
            Span<Vector256<float>> rows = [r0, r1, r2, r3, r4, r5, r6, r7];
            for (int c = 0; c < 8; c++)
                for (int r = 0; r < 8; r++) dst[c * NR + r] = rows[r].GetElement(c);
            return;
        }
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Vector256.Store(Avx.Permute2x128(u0, u4, 0x20), dst);
        Vector256.Store(Avx.Permute2x128(u1, u5, 0x20), dst + NR);
        Vector256.Store(Avx.Permute2x128(u2, u6, 0x20), dst + 2 * NR);
        Vector256.Store(Avx.Permute2x128(u3, u7, 0x20), dst + 3 * NR);
        Vector256.Store(Avx.Permute2x128(u0, u4, 0x31), dst + 4 * NR);
        Vector256.Store(Avx.Permute2x128(u1, u5, 0x31), dst + 5 * NR);
        Vector256.Store(Avx.Permute2x128(u2, u6, 0x31), dst + 6 * NR);
        Vector256.Store(Avx.Permute2x128(u3, u7, 0x31), dst + 7 * NR);
    }

    /// <summary>Packs a row-major B [k, n] with row stride <paramref name="ld"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackRowMajor(float* src, int ld, int k, int n, float* dst)
    {
        int panels = (n + NR - 1) / NR;
        for (int p = 0; p < panels; p++)
        {
            float* d = dst + (long)p * k * NR;
            int c0 = p * NR;
            int jn = Math.Min(NR, n - c0);
            if (jn == NR)
            {
                for (int kk = 0; kk < k; kk++)
                {
                    float* s = src + (long)kk * ld + c0;
                    Vector256.Store(Vector256.Load(s), d + kk * NR);
                    Vector256.Store(Vector256.Load(s + 8), d + kk * NR + 8);
                }
            }
            else
            {
                for (int kk = 0; kk < k; kk++)
                {
                    float* s = src + (long)kk * ld + c0;
                    int j = 0;
                    for (; j < jn; j++) d[kk * NR + j] = s[j];
                    for (; j < NR; j++) d[kk * NR + j] = 0f;
                }
            }
        }
    }

    /// <summary>
    /// C rows [m0, m1) × panels [p0, p1) of C = A·B (+bias) (+C when <paramref name="accumulate"/>).
    /// m0 must be a multiple of <see cref="MR"/> unless it is the first row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Compute(float* a, int lda, float* packed, int k, int n, float* c, int ldc, float* bias,
        bool accumulate, int m0, int m1, int p0, int p1)
    {
        float* tile = stackalloc float[MR * NR];
        for (int mb = m0; mb < m1; mb += MC)
        {
            int mEnd = Math.Min(mb + MC, m1);
            for (int p = p0; p < p1; p++)
            {
                float* bp = packed + (long)p * k * NR;
                int nr = Math.Min(NR, n - p * NR);
                for (int kb = 0; kb < k; kb += KC)
                {
                    int kc = Math.Min(KC, k - kb);
                    bool load = accumulate || kb > 0;
                    float* bb = kb == 0 && bias != null ? bias + p * NR : null;
                    float* bpk = bp + (long)kb * NR;
                    for (int i = mb; i < mEnd; i += MR)
                    {
                        int mr = Math.Min(MR, mEnd - i);
                        float* ap = a + (long)i * lda + kb;
                        float* cp = c + (long)i * ldc + p * NR;
                        if (mr == MR && nr == NR)
                        {
                            Kernel(ap, lda, MR, bpk, kc, cp, ldc, load, bb);
                        }
                        else
                        {
                            // Edge tile: work in a full 6×16 scratch tile, copy the valid part in and out.
                            if (load)
                            {
                                for (int r = 0; r < MR; r++)
                                    for (int j = 0; j < NR; j++)
                                        tile[r * NR + j] = r < mr && j < nr ? cp[(long)r * ldc + j] : 0f;
                            }
                            Kernel(ap, lda, mr, bpk, kc, tile, NR, load, bb);
                            for (int r = 0; r < mr; r++)
                                for (int j = 0; j < nr; j++)
                                    cp[(long)r * ldc + j] = tile[r * NR + j];
                        }
                    }
                }
                if (k == 0 && !accumulate)
                {
                    for (int i = mb; i < mEnd; i++)
                        for (int j = 0; j < nr; j++)
                            c[(long)i * ldc + p * NR + j] = bias != null ? bias[p * NR + j] : 0f;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Madd(Vector256<float> a, Vector256<float> b, Vector256<float> c)
        => Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    /// <summary>
    /// Use the Vector128 kernel even where Vector256 is accelerated (tests set this to cover the fallback).
    /// </summary>
    internal static bool ForceVector128 { get; set; }

    /// <summary>Use the Vector512 kernel even where it is not accelerated (tests set this to check it).</summary>
    internal static bool ForceVector512 { get; set; }

    /// <summary>
    /// The 6×16 microkernel. Rows past <paramref name="mr"/> reuse row 0 of A (their results are discarded by the
    /// caller's edge copy), so C must be a full 6×16 tile reachable through <paramref name="ldc"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel(float* a, nint lda, int mr, float* b, int kc, float* c, nint ldc, bool load, float* bias)
    {
        if ((Vector512.IsHardwareAccelerated || ForceVector512) && !ForceVector128) Kernel512(a, lda, mr, b, kc, c, ldc, load, bias);
        else if (Vector256.IsHardwareAccelerated && !ForceVector128) Kernel256(a, lda, mr, b, kc, c, ldc, load, bias);
        else Kernel128(a, lda, mr, b, kc, c, ldc, load, bias);
    }

    /// <summary>
    /// The 6×16 microkernel on AVX-512: one Vector512 accumulator per row covers a whole panel row. Same k order
    /// and fused multiply-adds as <see cref="Kernel256"/>, so results are bit-identical.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512(float* a, nint lda, int mr, float* b, int kc, float* c, nint ldc, bool load, float* bias)
    {
        float* a0 = a;
        float* a1 = mr > 1 ? a + lda : a;
        float* a2 = mr > 2 ? a + 2 * lda : a;
        float* a3 = mr > 3 ? a + 3 * lda : a;
        float* a4 = mr > 4 ? a + 4 * lda : a;
        float* a5 = mr > 5 ? a + 5 * lda : a;
        Vector512<float> c0, c1, c2, c3, c4, c5;
        if (load)
        {
            c0 = Vector512.Load(c); c1 = Vector512.Load(c + ldc); c2 = Vector512.Load(c + 2 * ldc);
            c3 = Vector512.Load(c + 3 * ldc); c4 = Vector512.Load(c + 4 * ldc); c5 = Vector512.Load(c + 5 * ldc);
        }
        else c0 = c1 = c2 = c3 = c4 = c5 = Vector512<float>.Zero;
        if (bias != null)
        {
            var bv = Vector512.Load(bias);
            c0 += bv; c1 += bv; c2 += bv; c3 += bv; c4 += bv; c5 += bv;
        }
        for (int k = 0; k < kc; k++)
        {
            if (Sse.IsSupported) Sse.Prefetch0(b + PrefetchAhead);
            var bk = Vector512.Load(b);
            b += NR;
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a0[k]), bk, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a1[k]), bk, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a2[k]), bk, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a3[k]), bk, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a4[k]), bk, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a5[k]), bk, c5);
        }
        c0.Store(c); c1.Store(c + ldc); c2.Store(c + 2 * ldc);
        c3.Store(c + 3 * ldc); c4.Store(c + 4 * ldc); c5.Store(c + 5 * ldc);
    }

    /// <summary>
    /// Fallback 6×16 microkernel on Vector128 for CPUs without accelerated Vector256 (Arm64 NEON, SSE-only x64):
    /// one row at a time with four accumulators. Same packing, same k order and the same fused multiply-adds, so
    /// results are bit-identical to <see cref="Kernel256"/> (slower: B is re-read for each row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel128(float* a, nint lda, int mr, float* b, int kc, float* c, nint ldc, bool load, float* bias)
    {
        var acc = stackalloc Vector128<float>[MR * 4];
        for (int r = 0; r < MR; r++)
            for (int q = 0; q < 4; q++)
                acc[r * 4 + q] = (load ? Vector128.Load(c + r * ldc + q * 4) : Vector128<float>.Zero)
                    + (bias != null ? Vector128.Load(bias + q * 4) : Vector128<float>.Zero);
        for (int r = 0; r < MR; r++)
        {
            float* ar = a + (r < mr ? r : 0) * lda;
            var c0 = acc[r * 4]; var c1 = acc[r * 4 + 1]; var c2 = acc[r * 4 + 2]; var c3 = acc[r * 4 + 3];
            float* bk = b;
            for (int k = 0; k < kc; k++, bk += NR)
            {
                var av = Vector128.Create(ar[k]);
                c0 = Vector128.FusedMultiplyAdd(av, Vector128.Load(bk), c0);
                c1 = Vector128.FusedMultiplyAdd(av, Vector128.Load(bk + 4), c1);
                c2 = Vector128.FusedMultiplyAdd(av, Vector128.Load(bk + 8), c2);
                c3 = Vector128.FusedMultiplyAdd(av, Vector128.Load(bk + 12), c3);
            }
            c0.Store(c + r * ldc); c1.Store(c + r * ldc + 4); c2.Store(c + r * ldc + 8); c3.Store(c + r * ldc + 12);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256(float* a, nint lda, int mr, float* b, int kc, float* c, nint ldc, bool load, float* bias)
    {
        float* a0 = a;
        float* a1 = mr > 1 ? a + lda : a;
        float* a2 = mr > 2 ? a + 2 * lda : a;
        float* a3 = mr > 3 ? a + 3 * lda : a;
        float* a4 = mr > 4 ? a + 4 * lda : a;
        float* a5 = mr > 5 ? a + 5 * lda : a;
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (load)
        {
            c00 = Vector256.Load(c); c01 = Vector256.Load(c + 8);
            c10 = Vector256.Load(c + ldc); c11 = Vector256.Load(c + ldc + 8);
            c20 = Vector256.Load(c + 2 * ldc); c21 = Vector256.Load(c + 2 * ldc + 8);
            c30 = Vector256.Load(c + 3 * ldc); c31 = Vector256.Load(c + 3 * ldc + 8);
            c40 = Vector256.Load(c + 4 * ldc); c41 = Vector256.Load(c + 4 * ldc + 8);
            c50 = Vector256.Load(c + 5 * ldc); c51 = Vector256.Load(c + 5 * ldc + 8);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector256<float>.Zero;
        }
        if (bias != null)
        {
            var b0 = Vector256.Load(bias);
            var b1 = Vector256.Load(bias + 8);
            c00 += b0; c01 += b1; c10 += b0; c11 += b1; c20 += b0; c21 += b1;
            c30 += b0; c31 += b1; c40 += b0; c41 += b1; c50 += b0; c51 += b1;
        }
        for (int k = 0; k < kc; k++)
        {
            // One 64-byte line of B per step; fetch 64 lines ahead so the panel streams in from DRAM in time
            // when there are few rows to amortise it over (short inputs).
            if (Sse.IsSupported) Sse.Prefetch0(b + PrefetchAhead);
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            b += NR;
            var av = Vector256.Create(a0[k]);
            c00 = Madd(av, b0, c00); c01 = Madd(av, b1, c01);
            av = Vector256.Create(a1[k]);
            c10 = Madd(av, b0, c10); c11 = Madd(av, b1, c11);
            av = Vector256.Create(a2[k]);
            c20 = Madd(av, b0, c20); c21 = Madd(av, b1, c21);
            av = Vector256.Create(a3[k]);
            c30 = Madd(av, b0, c30); c31 = Madd(av, b1, c31);
            av = Vector256.Create(a4[k]);
            c40 = Madd(av, b0, c40); c41 = Madd(av, b1, c41);
            av = Vector256.Create(a5[k]);
            c50 = Madd(av, b0, c50); c51 = Madd(av, b1, c51);
        }
        Vector256.Store(c00, c); Vector256.Store(c01, c + 8);
        Vector256.Store(c10, c + ldc); Vector256.Store(c11, c + ldc + 8);
        Vector256.Store(c20, c + 2 * ldc); Vector256.Store(c21, c + 2 * ldc + 8);
        Vector256.Store(c30, c + 3 * ldc); Vector256.Store(c31, c + 3 * ldc + 8);
        Vector256.Store(c40, c + 4 * ldc); Vector256.Store(c41, c + 4 * ldc + 8);
        Vector256.Store(c50, c + 5 * ldc); Vector256.Store(c51, c + 5 * ldc + 8);
    }
}
