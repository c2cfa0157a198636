using AttnScope.Sources.Engine;
using Xunit;

namespace AttnScope.Tests.Engine;

public class GemmTests
{
    private static float[] Random(Random r, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(r.NextDouble() * 2 - 1);
        return a;
    }

    // A [m,k] row-major; B [k,n] row-major.
    private static double[] Naive(float[] a, float[] b, int m, int k, int n, float[]? bias, float[]? c0)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = (bias?[j] ?? 0) + (c0?[i * n + j] ?? 0);
                for (int kk = 0; kk < k; kk++) s += (double)a[i * k + kk] * b[kk * n + j];
                c[i * n + j] = s;
            }
        return c;
    }

    private static void AssertClose(double[] expected, float[] actual, int k)
    {
        double tol = 1e-6 * Math.Max(1, k);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 13, 5)]
    [InlineData(6, 16, 16)]
    [InlineData(129, 385, 67)]
    [InlineData(200, 600, 100)]
    [InlineData(12, 300, 1153)]
    public void RowMajorB_MatchesNaive(int m, int k, int n)
    {
        var r = new Random(m * 1000 + k * 10 + n);
        var a = Random(r, m * k);
        var b = Random(r, k * n);
        var packed = PackedMatrix.FromRowMajor(b, k, n);
        foreach (bool parallel in new[] { false, true })
        {
            var c = new float[m * n];
            Gemm.Multiply(a, m, packed, c, parallel: parallel);
            AssertClose(Naive(a, b, m, k, n, null, null), c, k);
        }
    }

    [Fact]
    public void Vector128AndVector512Kernels_AreBitIdentical()
    {
        var r = new Random(11);
        int m = 37, k = 300, n = 45;
        var a = Random(r, m * k);
        var w = Random(r, n * k);
        var bias = Random(r, n);
        var packed = PackedMatrix.FromTransposed(w, n, k, bias);
        var fast = new float[m * n];
        Gemm.Multiply(a, m, packed, fast, parallel: false);
        var slow = new float[m * n];
        try
        {
            GemmKernel.ForceVector128 = true;
            Gemm.Multiply(a, m, packed, slow, parallel: false);
        }
        finally { GemmKernel.ForceVector128 = false; }
        Assert.Equal(fast, slow);

        var wide = new float[m * n];
        try
        {
            GemmKernel.ForceVector512 = true; // emulated where AVX-512 is absent: slow but exact
            Gemm.Multiply(a, m, packed, wide, parallel: false);
        }
        finally { GemmKernel.ForceVector512 = false; }
        Assert.Equal(fast, wide);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 13, 5)]
    [InlineData(129, 385, 67)]
    [InlineData(64, 384, 1152)]
    public void TransposedB_WithBiasAndAccumulate_MatchesNaive(int m, int k, int n)
    {
        var r = new Random(m + k + n);
        var a = Random(r, m * k);
        var w = Random(r, n * k); // [n, k] PyTorch layout
        var bias = Random(r, n);
        var c0 = Random(r, m * n);
        var b = new float[k * n];
        for (int j = 0; j < n; j++)
            for (int kk = 0; kk < k; kk++) b[kk * n + j] = w[j * k + kk];
        var packed = PackedMatrix.FromTransposed(w, n, k, bias);

        var c = new float[m * n];
        Gemm.Multiply(a, m, packed, c);
        AssertClose(Naive(a, b, m, k, n, bias, null), c, k);

        var acc = (float[])c0.Clone();
        Gemm.Multiply(a, m, packed, acc, accumulate: true);
        AssertClose(Naive(a, b, m, k, n, bias, c0), acc, k);
    }
}
