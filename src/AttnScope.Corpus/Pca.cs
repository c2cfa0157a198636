using AttnScope.Capture;

namespace AttnScope.Corpus;

/// <summary>
/// Principal component analysis of row vectors: the data are centred, the covariance matrix (d × d) is built in
/// double precision and its leading eigenvectors are found by the cyclic Jacobi method, then the rows are projected.
/// </summary>
internal static class Pca
{
    /// <summary>The result: <see cref="Projected"/>[row][component], the unit <see cref="Components"/> and their variances, largest first.</summary>
    public sealed record Result(double[][] Projected, double[][] Components, double[] Variances, double[] Mean);

    /// <summary>Projects <paramref name="rows"/> (all of one length) onto their first <paramref name="components"/> principal components.</summary>
    public static Result Compute(IReadOnlyList<float[]> rows, int components)
    {
        if (rows.Count < 2) throw new AttnScopeException($"PCA needs at least 2 points, not {rows.Count}");
        int d = rows[0].Length;
        if (d < 1 || rows.Any(r => r.Length != d)) throw new AttnScopeException("PCA needs vectors of one length");
        if (components < 1 || components > d) throw new AttnScopeException($"PCA components must be 1..{d}");
        int n = rows.Count;
        var mean = new double[d];
        foreach (var r in rows) for (int j = 0; j < d; j++) mean[j] += r[j];
        for (int j = 0; j < d; j++) mean[j] /= n;
        var cov = new double[d, d];
        var x = new double[d];
        foreach (var r in rows)
        {
            for (int j = 0; j < d; j++) x[j] = r[j] - mean[j];
            for (int a = 0; a < d; a++)
                for (int b = a; b < d; b++) cov[a, b] += x[a] * x[b];
        }
        for (int a = 0; a < d; a++)
            for (int b = a; b < d; b++) { cov[a, b] /= n - 1; cov[b, a] = cov[a, b]; }
        var (values, vectors) = Jacobi(cov);
        var order = Enumerable.Range(0, d).OrderByDescending(i => values[i]).Take(components).ToArray();
        var comps = order.Select(i => Enumerable.Range(0, d).Select(j => vectors[j, i]).ToArray()).ToArray();
        // A fixed sign (largest coordinate positive) makes results reproducible.
        foreach (var c in comps)
        {
            int big = 0;
            for (int j = 1; j < d; j++) if (Math.Abs(c[j]) > Math.Abs(c[big])) big = j;
            if (c[big] < 0) for (int j = 0; j < d; j++) c[j] = -c[j];
        }
        var projected = new double[n][];
        for (int i = 0; i < n; i++)
        {
            projected[i] = new double[components];
            for (int c = 0; c < components; c++)
            {
                double s = 0;
                for (int j = 0; j < d; j++) s += (rows[i][j] - mean[j]) * comps[c][j];
                projected[i][c] = s;
            }
        }
        return new Result(projected, comps, order.Select(i => values[i]).ToArray(), mean);
    }

    /// <summary>Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations.</summary>
    internal static (double[] Values, double[,] Vectors) Jacobi(double[,] m)
    {
        int d = m.GetLength(0);
        var a = (double[,])m.Clone();
        var v = new double[d, d];
        for (int i = 0; i < d; i++) v[i, i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < d; p++) for (int q = p + 1; q < d; q++) off += a[p, q] * a[p, q];
            if (off < 1e-22) break;
            for (int p = 0; p < d; p++)
                for (int q = p + 1; q < d; q++)
                {
                    if (Math.Abs(a[p, q]) < 1e-300) continue;
                    double theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < d; k++)
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < d; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < d; k++)
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = c * vkp - s * vkq;
                        v[k, q] = s * vkp + c * vkq;
                    }
                }
        }
        var values = new double[d];
        for (int i = 0; i < d; i++) values[i] = a[i, i];
        return (values, v);
    }
}
