namespace AttnScope.Sources.Engine;

/// <summary>
/// The right-hand matrix B [K, N] of a product A·B, packed for <see cref="GemmKernel"/>: column panels of
/// <see cref="GemmKernel.NR"/> columns, each stored k-major (panel p holds B[k, p*NR + j] at
/// <c>p*K*NR + k*NR + j</c>), zero-padded on the right. Held in a pinned array so kernels can use raw pointers.
/// </summary>
internal sealed unsafe class PackedMatrix
{
    public int K { get; }
    public int N { get; }
    public int Panels { get; }
    /// <summary>Pinned panel data, <c>Panels * K * NR</c> floats.</summary>
    public float[] Data { get; }
    /// <summary>Bias padded to <c>Panels * NR</c> (zeros past N), or null.</summary>
    public float[]? Bias { get; }

    private PackedMatrix(int k, int n, float[]? bias)
    {
        K = k;
        N = n;
        Panels = (n + GemmKernel.NR - 1) / GemmKernel.NR;
        Data = GC.AllocateArray<float>(Panels * k * GemmKernel.NR, pinned: true);
        if (bias is not null)
        {
            Bias = GC.AllocateArray<float>(Panels * GemmKernel.NR, pinned: true);
            bias.AsSpan().CopyTo(Bias);
        }
    }

    /// <summary>Packs a PyTorch linear weight W [N, K] (out, in) so that A·Wᵀ can be computed.</summary>
    public static PackedMatrix FromTransposed(ReadOnlySpan<float> w, int n, int k, float[]? bias = null)
    {
        if (w.Length != (long)n * k) throw new ArgumentException("weight length does not match its shape");
        if (bias is not null && bias.Length != n) throw new ArgumentException("bias length does not match N");
        var p = new PackedMatrix(k, n, bias);
        fixed (float* src = w)
        fixed (float* dst = p.Data)
            GemmKernel.PackTransposed(src, k, n, k, dst);
        return p;
    }

    /// <summary>Packs a row-major B [K, N].</summary>
    public static PackedMatrix FromRowMajor(ReadOnlySpan<float> b, int k, int n)
    {
        if (b.Length != (long)n * k) throw new ArgumentException("matrix length does not match its shape");
        var p = new PackedMatrix(k, n, null);
        fixed (float* src = b)
        fixed (float* dst = p.Data)
            GemmKernel.PackRowMajor(src, n, k, n, dst);
        return p;
    }
}
