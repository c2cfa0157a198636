using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AttnScope.Sources.Engine;

/// <summary>
/// Multi-threaded front end of <see cref="GemmKernel"/>: splits C into column-panel or row-tile chunks and runs
/// them on <see cref="WorkerPool"/>, or stays on the calling thread when the product
/// is too small for threading to pay off.
/// </summary>
internal static unsafe class Gemm
{
    /// <summary>Below this many multiply-adds a product runs on one thread.</summary>
    public const long ParallelThreshold = 1L << 18;

    /// <summary>Worker count; defaults to the processor count.</summary>
    public static int Threads { get; set; } = Math.Max(1, Environment.ProcessorCount);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* Ptr(float[] pinned) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));

    /// <summary>C[m, b.N] = A[m, b.K]·B + b.Bias (+ C when <paramref name="accumulate"/>). B's arrays are pinned.</summary>
    public static void Multiply(float* a, int lda, int m, PackedMatrix b, float* c, int ldc, bool accumulate, bool parallel = true)
        => Multiply(a, lda, m, Ptr(b.Data), b.K, b.N, b.Bias is null ? null : Ptr(b.Bias), c, ldc, accumulate, parallel);

    public static void Multiply(float* a, int lda, int m, float* packed, int k, int n, float* bias, float* c, int ldc,
        bool accumulate, bool parallel)
    {
        if (m <= 0 || n <= 0) return;
        int panels = (n + GemmKernel.NR - 1) / GemmKernel.NR;
        int rowTiles = (m + GemmKernel.MR - 1) / GemmKernel.MR;
        int threads = parallel ? Threads : 1;
        if (threads <= 1 || (long)m * n * k < ParallelThreshold || panels * rowTiles < 2)
        {
            GemmKernel.Compute(a, lda, packed, k, n, c, ldc, bias, accumulate, 0, m, 0, panels);
            return;
        }
        nint pa = (nint)a, pp = (nint)packed, pbias = (nint)bias, pc = (nint)c;
        if (panels >= 2 * threads)
        {
            int chunks = Math.Min(panels, threads * 2);
            WorkerPool.For(chunks, t =>
            {
                int p0 = panels * t / chunks, p1 = panels * (t + 1) / chunks;
                GemmKernel.Compute((float*)pa, lda, (float*)pp, k, n, (float*)pc, ldc, (float*)pbias, accumulate, 0, m, p0, p1);
            }, threads);
        }
        else
        {
            int chunks = Math.Min(rowTiles, threads * 2);
            WorkerPool.For(chunks, t =>
            {
                int r0 = rowTiles * t / chunks * GemmKernel.MR;
                int r1 = Math.Min(m, rowTiles * (t + 1) / chunks * GemmKernel.MR);
                GemmKernel.Compute((float*)pa, lda, (float*)pp, k, n, (float*)pc, ldc, (float*)pbias, accumulate, r0, r1, 0, panels);
            }, threads);
        }
    }

    /// <summary>Convenience over arrays: C[m, b.N] = A[m, b.K]·B (+bias) (+C when accumulating).</summary>
    public static void Multiply(float[] a, int m, PackedMatrix b, float[] c, bool accumulate = false, bool parallel = true)
    {
        if (a.Length < (long)m * b.K) throw new ArgumentException("A is too short");
        if (c.Length < (long)m * b.N) throw new ArgumentException("C is too short");
        fixed (float* pa = a)
        fixed (float* pc = c)
            Multiply(pa, b.K, m, b, pc, b.N, accumulate, parallel);
    }
}
