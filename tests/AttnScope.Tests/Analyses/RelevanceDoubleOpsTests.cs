using AttnScope.Analyses.Relevance;

namespace AttnScope.Tests.Analyses;

/// <summary>The double-precision building blocks of the embedding gradients against plain loops, known values and
/// finite differences, at sizes that exercise every kernel tail.</summary>
public class RelevanceDoubleOpsTests
{
    private static double[] Random(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => r.NextDouble() * 2 - 1).ToArray();
    }

    [Theory]
    [InlineData(7, 13, 5)]
    [InlineData(9, 16, 20)]
    [InlineData(70, 45, 67)]
    public void LinearAndItsInputGradientMatchPlainLoops(int m, int k, int n)
    {
        var x = Random(m * k, 1);
        var w = Random(n * k, 2);
        var b = Random(n, 3);
        var y = new double[m * n];
        DoubleOps.Linear(x, m, k, w, b, n, y);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = b[j];
                for (int p = 0; p < k; p++) s += x[i * k + p] * w[j * k + p];
                Assert.True(Math.Abs(s - y[i * n + j]) < 1e-12, $"y[{i}, {j}]");
            }

        var dy = Random(m * n, 4);
        var start = Random(m * k, 5);
        var dx = (double[])start.Clone();
        DoubleOps.LinearInputGradient(dy, m, n, w, k, dx, accumulate: true);
        var fresh = new double[m * k];
        Array.Fill(fresh, double.NaN);
        DoubleOps.LinearInputGradient(dy, m, n, w, k, fresh, accumulate: false);
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
            {
                double s = 0;
                for (int j = 0; j < n; j++) s += dy[i * n + j] * w[j * k + p];
                Assert.True(Math.Abs(start[i * k + p] + s - dx[i * k + p]) < 1e-12, $"accumulated dx[{i}, {p}]");
                Assert.True(Math.Abs(s - fresh[i * k + p]) < 1e-12, $"dx[{i}, {p}]");
            }
    }

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.5, 0.52049987781304654)]
    [InlineData(1.0, 0.84270079294971487)]
    [InlineData(-2.0, -0.99532226501895273)]
    [InlineData(3.5, 0.99999925690162766)]
    [InlineData(7.0, 1.0)]
    public void ErfMatchesReferenceValues(double x, double expected) =>
        Assert.True(Math.Abs(DoubleOps.Erf(x) - expected) < 1e-15, $"erf({x}) = {DoubleOps.Erf(x):R}");

    [Theory]
    [InlineData("gelu")]
    [InlineData("gelu_new")]
    [InlineData("relu")]
    public void ActivationSlopesAreTheDerivatives(string act)
    {
        foreach (var u in new[] { -4.1, -1.3, -0.2, 0.3, 0.9, 2.2, 5.5 })
        {
            const double h = 1e-6;
            double numeric = (DoubleOps.Activate(act, u + h).Value - DoubleOps.Activate(act, u - h).Value) / (2 * h);
            Assert.True(Math.Abs(numeric - DoubleOps.Activate(act, u).Slope) < 1e-8, $"{act}'({u})");
        }
    }

    [Fact]
    public void GeluIsUTimesTheNormalCdf() =>
        Assert.Equal(1.1741593700387067, DoubleOps.Activate("gelu", 1.3).Value, 14); // 0.5·1.3·(1 + erf(1.3/√2))

    [Fact]
    public void LayerNormBackwardMatchesFiniteDifferences()
    {
        const int rows = 3, width = 10;
        var x = Random(rows * width, 6);
        var gamma = Random(width, 7);
        var beta = Random(width, 8);
        var r = Random(rows * width, 9); // f = Σ r ⊙ LayerNorm(x)
        double F(double[] input)
        {
            var y = (double[])input.Clone();
            DoubleOps.LayerNorm(y, rows, width, gamma, beta, 1e-12, new double[rows * width], new double[rows]);
            return y.Zip(r, (a, b) => a * b).Sum();
        }
        var copy = (double[])x.Clone();
        var normalized = new double[rows * width];
        var rstd = new double[rows];
        DoubleOps.LayerNorm(copy, rows, width, gamma, beta, 1e-12, normalized, rstd);
        var grad = (double[])r.Clone();
        DoubleOps.LayerNormBackward(grad, rows, width, gamma, normalized, rstd);
        for (int i = 0; i < x.Length; i++)
        {
            const double h = 1e-6;
            var plus = (double[])x.Clone(); plus[i] += h;
            var minus = (double[])x.Clone(); minus[i] -= h;
            Assert.True(Math.Abs((F(plus) - F(minus)) / (2 * h) - grad[i]) < 1e-7, $"dx[{i}]");
        }
    }
}
