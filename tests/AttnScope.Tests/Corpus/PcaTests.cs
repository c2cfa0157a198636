using AttnScope.Corpus;

namespace AttnScope.Tests.Corpus;

/// <summary>PCA finds known directions and variances of constructed data.</summary>
public sealed class PcaTests
{
    [Fact]
    public void RecoversTheDirectionsAndVariancesOfConstructedData()
    {
        // Points c + a·u + b·v + tiny noise, with orthonormal u, v in 6 dimensions and var(a) ≫ var(b).
        var u = new[] { 1.0, 2, 0, -1, 0, 3 };
        var v0 = new[] { 0.0, 1, 1, 2, -1, 0 };
        double nu = Math.Sqrt(u.Sum(x => x * x));
        u = u.Select(x => x / nu).ToArray();
        double dot = u.Zip(v0).Sum(p => p.First * p.Second);
        var v = v0.Select((x, i) => x - dot * u[i]).ToArray();
        double nv = Math.Sqrt(v.Sum(x => x * x));
        v = v.Select(x => x / nv).ToArray();
        var rng = new Random(3);
        var rows = new List<float[]>();
        var a = new List<double>();
        var b = new List<double>();
        for (int i = 0; i < 400; i++)
        {
            double ai = rng.NextDouble() * 20 - 10, bi = rng.NextDouble() * 4 - 2;
            a.Add(ai); b.Add(bi);
            rows.Add(Enumerable.Range(0, 6).Select(j => (float)(5 + ai * u[j] + bi * v[j] + (rng.NextDouble() - 0.5) * 1e-3)).ToArray());
        }
        var r = Pca.Compute(rows, 2);
        Assert.Equal(1, Math.Abs(r.Components[0].Zip(u).Sum(p => p.First * p.Second)), 1e-3);
        Assert.Equal(1, Math.Abs(r.Components[1].Zip(v).Sum(p => p.First * p.Second)), 1e-3);
        static double Var(List<double> x) { double m = x.Average(); return x.Sum(y => (y - m) * (y - m)) / (x.Count - 1); }
        Assert.Equal(Var(a), r.Variances[0], Var(a) * 1e-3);
        Assert.Equal(Var(b), r.Variances[1], Var(b) * 1e-2);
        // Projections are the centred coordinates along the components (up to sign).
        double am = a.Average();
        double sign = Math.Sign(r.Components[0].Zip(u).Sum(p => p.First * p.Second));
        for (int i = 0; i < 10; i++) Assert.Equal(sign * (a[i] - am), r.Projected[i][0], 1e-2);
    }

    [Fact]
    public void JacobiDiagonalisesASymmetricMatrix()
    {
        var m = new double[,] { { 4, 1, 2 }, { 1, 3, 0 }, { 2, 0, 5 } };
        var (values, vectors) = Pca.Jacobi(m);
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 3; i++)
            {
                double mv = 0;
                for (int j = 0; j < 3; j++) mv += m[i, j] * vectors[j, k];
                Assert.Equal(values[k] * vectors[i, k], mv, 1e-9);
            }
        Assert.Equal(12, values.Sum(), 1e-9); // the trace
    }
}
