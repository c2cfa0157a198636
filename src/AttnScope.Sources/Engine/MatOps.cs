namespace AttnScope.Sources.Engine;

/// <summary>
/// The three products a backward pass needs (training and the core's gradients), on the engine's packed AVX2 GEMM and worker pool: A·Bᵀ (forward
/// through a [out, in] weight), A·B (input gradient) and Aᵀ·B (weight gradient). The right-hand side is packed
/// into a per-thread workspace that grows once and is reused; Aᵀ is transposed into another.
/// </summary>
internal static unsafe class MatOps
{
    [ThreadStatic] private static float[]? _pack;
    [ThreadStatic] private static float[]? _transposed;

    private static float* PackBuffer(int k, int n)
    {
        long need = (long)((n + GemmKernel.NR - 1) / GemmKernel.NR) * k * GemmKernel.NR;
        var buffer = _pack ?? [];
        Ensure(ref buffer, need);
        _pack = buffer;
        return Gemm.Ptr(buffer);
    }

    private static void Ensure(ref float[] buffer, long length)
    {
        if (buffer.Length < length)
            buffer = GC.AllocateArray<float>((int)Math.Min(Math.Max(length, (long)(buffer.Length * 1.5)), Array.MaxLength), pinned: true);
    }

    /// <summary>Floats a packed B [k, n] takes.</summary>
    public static int PackedLength(int k, int n) => (n + GemmKernel.NR - 1) / GemmKernel.NR * k * GemmKernel.NR;

    /// <summary>Packs Bᵀ given as <paramref name="n"/> rows of <paramref name="k"/> (a [out, in] weight) into <paramref name="dst"/>.</summary>
    public static void PackTransposed(float* b, int n, int k, float* dst) => GemmKernel.PackTransposed(b, k, n, k, dst);

    /// <summary>C[m, n] (+)= A[m, k]·P where P was packed by <see cref="PackTransposed"/>.</summary>
    public static void MulPacked(float* a, int m, int k, float* packed, int n, float* c, bool accumulate, bool parallel = true)
        => Gemm.Multiply(a, k, m, packed, k, n, null, c, n, accumulate, parallel);

    /// <summary>C[m, n] (+)= A[m, k]·B[n, k]ᵀ.</summary>
    public static void MulBt(float* a, int m, int k, float* b, int n, float* c, bool accumulate, bool parallel = true)
    {
        var p = PackBuffer(k, n);
        GemmKernel.PackTransposed(b, k, n, k, p);
        Gemm.Multiply(a, k, m, p, k, n, null, c, n, accumulate, parallel);
    }

    /// <summary>C[m, n] (+)= A[m, k]·B[k, n].</summary>
    public static void Mul(float* a, int m, int k, float* b, int n, float* c, bool accumulate, bool parallel = true)
    {
        var p = PackBuffer(k, n);
        GemmKernel.PackRowMajor(b, n, k, n, p);
        Gemm.Multiply(a, k, m, p, k, n, null, c, n, accumulate, parallel);
    }

    /// <summary>C[m, n] (+)= A[k, m]ᵀ·B[k, n] (weight gradients: A = output gradient rows, B = input rows).</summary>
    public static void MulAt(float* a, int k, int m, float* b, int n, float* c, bool accumulate, bool parallel = true)
    {
        var t = _transposed ?? [];
        Ensure(ref t, (long)m * k);
        _transposed = t;
        float* at = Gemm.Ptr(t);
        Transpose(a, k, m, at);
        Mul(at, m, k, b, n, c, accumulate, parallel);
    }

    /// <summary>dst[c, r] = src[r, c] for a row-major [rows, cols] source, in cache-friendly 32×32 blocks.</summary>
    public static void Transpose(float* src, int rows, int cols, float* dst)
    {
        const int Block = 32;
        for (int r0 = 0; r0 < rows; r0 += Block)
        {
            int r1 = Math.Min(rows, r0 + Block);
            for (int c0 = 0; c0 < cols; c0 += Block)
            {
                int c1 = Math.Min(cols, c0 + Block);
                for (int r = r0; r < r1; r++)
                {
                    float* s = src + (long)r * cols;
                    for (int c = c0; c < c1; c++) dst[(long)c * rows + r] = s[c];
                }
            }
        }
    }
}
