using System.Runtime.Intrinsics;
using AttnScope.Sources.Engine;
using Xunit;

namespace AttnScope.Tests.Engine;

public class ErfTests
{
    /// <summary>Double-precision reference: Maclaurin series below 3, continued fraction above.</summary>
    internal static double ReferenceErf(double x)
    {
        double ax = Math.Abs(x);
        double r;
        if (ax < 3)
        {
            double sum = 0, term = ax; // term = (-1)^n x^(2n+1)/n!
            for (int n = 0; n < 120; n++)
            {
                sum += term / (2 * n + 1);
                term *= -ax * ax / (n + 1);
            }
            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            double f = ax;
            for (int k = 300; k >= 1; k--) f = ax + k * 0.5 / f;
            r = 1 - Math.Exp(-ax * ax) / (Math.Sqrt(Math.PI) * f);
        }
        return x < 0 ? -r : r;
    }

    [Fact]
    public void Reference_MatchesKnownValues()
    {
        Assert.Equal(0.5204998778130465, ReferenceErf(0.5), 12);
        Assert.Equal(0.8427007929497149, ReferenceErf(1), 12);
        Assert.Equal(0.9953222650189527, ReferenceErf(2), 12);
        Assert.Equal(0.9999779095030014, ReferenceErf(3), 12);
        Assert.Equal(-0.9999999845827421, ReferenceErf(-4), 12);
    }

    [Fact]
    public void FloatErf_IsAccurate()
    {
        double worstAbs = 0, worstRel = 0; float worstX = 0;
        for (double x = -6; x <= 6; x += 0.0007)
        {
            float xf = (float)x;
            double expected = ReferenceErf(xf);
            double got = Activations.Erf(xf);
            if (Math.Abs(got - expected) > worstAbs) { worstAbs = Math.Abs(got - expected); worstX = xf; }
            if (expected != 0) worstRel = Math.Max(worstRel, Math.Abs(got - expected) / Math.Abs(expected));
        }
        Assert.True(worstAbs < 1.5e-7, $"max abs error {worstAbs} at {worstX}");
        Assert.True(worstRel < 2e-7, $"max rel error {worstRel}");
        Assert.Equal(0f, Activations.Erf(0f));
        Assert.Equal(1e-20f * 1.1283791670955126f, Activations.Erf(1e-20f), 1e-26f);
        Assert.Equal(1f, Activations.Erf(50f));
        Assert.Equal(-1f, Activations.Erf(float.NegativeInfinity));
    }

    [Fact]
    public void Gelu_MatchesDefinition()
    {
        var xs = new float[37];
        for (int i = 0; i < xs.Length; i++) xs[i] = -9 + i * 0.5f;
        var ys = (float[])xs.Clone();
        Activations.GeluErf(ys);
        for (int i = 0; i < xs.Length; i++)
        {
            double e = 0.5 * xs[i] * (1 + ReferenceErf(xs[i] / Math.Sqrt(2)));
            Assert.True(Math.Abs(e - ys[i]) <= 1e-6 * Math.Max(1, Math.Abs(e)), $"gelu({xs[i]}) = {ys[i]}, expected {e}");
        }
    }
}

public class FastMathTests
{
    [Fact]
    public void ExpNonPositive_IsAccurate()
    {
        double worst = 0;
        for (double x = -87; x <= 0; x += 0.00731)
        {
            float xf = (float)x;
            double e = Math.Exp(xf);
            double got = FastMath.ExpNonPositive(System.Runtime.Intrinsics.Vector256.Create(xf)).GetElement(0);
            worst = Math.Max(worst, Math.Abs(got - e) / e);
        }
        Assert.True(worst < 3e-7, $"max relative error {worst}");
        Assert.Equal(1f, FastMath.ExpNonPositive(System.Runtime.Intrinsics.Vector256.Create(0f)).GetElement(0));
        Assert.True(FastMath.ExpNonPositive(System.Runtime.Intrinsics.Vector256.Create(-200f)).GetElement(0) < 2e-38f);
        Assert.True(FastMath.ExpNonPositive(System.Runtime.Intrinsics.Vector256.Create(float.NegativeInfinity)).GetElement(0) < 2e-38f);
    }

    [Fact]
    public unsafe void Softmax_CopyTo_WritesSameValues()
    {
        var rng = new Random(4);
        foreach (int n in new[] { 1, 3, 8, 21, 64, 130 })
            foreach (int offset in new[] { 0, 1, 5 })
            {
                var src = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 10 - 5)).ToArray();
                var a = (float[])src.Clone();
                var b = (float[])src.Clone();
                var dst = new float[n + offset + 8];
                RowOps.Softmax(a, 0.5f, default);
                fixed (float* d = dst) RowOps.Softmax(b, 0.5f, default, d + offset);
                Assert.Equal(a, b);
                Assert.Equal(a, dst.Skip(offset).Take(n).ToArray());
            }
    }

    [Fact]
    public void Softmax_MatchesDouble()
    {
        var rng = new Random(3);
        foreach (int n in new[] { 1, 5, 8, 13, 64, 77 })
        {
            var row = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 40 - 20)).ToArray();
            var scores = new float[n];
            var expected = row.Select(v => (double)v * 0.25).ToArray();
            double max = expected.Max(), sum = expected.Sum(v => Math.Exp(v - max));
            RowOps.Softmax(row, 0.25f, scores);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(expected[i], scores[i], 1e-6);
                Assert.Equal(Math.Exp(expected[i] - max) / sum, row[i], 1e-7);
            }
        }
    }
}
