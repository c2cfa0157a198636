using AttnScope.Capture;

namespace AttnScope.Corpus;

/// <summary>
/// Exact t-SNE (van der Maaten and Hinton 2008) to two dimensions, for samples of up to <see cref="MaxPoints"/> rows:
/// Gaussian input affinities calibrated per point to a perplexity by bisection, symmetrised; Student-t output
/// affinities; gradient descent with momentum, per-coordinate gains and early exaggeration. Every O(n²) sum is exact
/// (no Barnes-Hut tree). Seeded: the same rows and seed give the same map.
/// </summary>
internal static class Tsne
{
    /// <summary>Most rows one map takes (the affinity matrix is n × n doubles: 32 MB at 2000).</summary>
    public const int MaxPoints = 2000;

    /// <summary>The settings; the defaults are the paper's and the common implementations'.</summary>
    public sealed record Options
    {
        /// <summary>The effective number of neighbours each point's Gaussian covers (5 to 50 is usual); must be less than the number of points.</summary>
        public double Perplexity { get; init; } = 30;
        /// <summary>Gradient steps in all.</summary>
        public int Iterations { get; init; } = 1000;
        /// <summary>Steps with the input affinities multiplied by <see cref="Exaggeration"/> (clusters form apart first).</summary>
        public int ExaggerationSteps { get; init; } = 250;
        /// <summary>The early exaggeration factor.</summary>
        public double Exaggeration { get; init; } = 12;
        /// <summary>The seed of the initial map (Gaussian, standard deviation 1e-4).</summary>
        public int Seed { get; init; } = 1;
    }

    /// <summary>Maps <paramref name="rows"/> (all of one length) to two dimensions; the result is [row][0 or 1].</summary>
    public static double[][] Compute(IReadOnlyList<float[]> rows, Options? options = null)
    {
        options ??= new Options();
        int n = rows.Count;
        if (n < 3) throw new AttnScopeException($"t-SNE needs at least 3 points, not {n}");
        if (n > MaxPoints) throw new AttnScopeException($"t-SNE here is exact and takes at most {MaxPoints} points, not {n}: sample fewer");
        int d = rows[0].Length;
        if (d < 1 || rows.Any(r => r.Length != d)) throw new AttnScopeException("t-SNE needs vectors of one length");
        double perplexity = options.Perplexity;
        if (!(perplexity >= 1) || perplexity >= n) throw new AttnScopeException($"t-SNE perplexity must be 1..{n - 1} for {n} points, not {perplexity}");
        if (options.Iterations < 1 || options.ExaggerationSteps < 0 || !(options.Exaggeration >= 1))
            throw new AttnScopeException("t-SNE needs at least 1 iteration, exaggeration steps ≥ 0 and exaggeration ≥ 1");

        var dist = SquaredDistances(rows);
        var p = Affinities(dist, n, perplexity);
        dist = null;

        var rng = new Random(options.Seed);
        var y = new double[n * 2];
        for (int i = 0; i < y.Length; i++) y[i] = 1e-4 * Gaussian(rng);
        var update = new double[n * 2];
        var gains = new double[n * 2];
        Array.Fill(gains, 1.0);
        var grad = new double[n * 2];
        var num = new double[(long)n * n];
        double rate = Math.Max(n / options.Exaggeration / 4, 50);
        for (int iter = 0; iter < options.Iterations; iter++)
        {
            double exaggeration = iter < options.ExaggerationSteps ? options.Exaggeration : 1;
            double momentum = iter < options.ExaggerationSteps ? 0.5 : 0.8;
            // Student-t kernel and its sum (row sums in parallel, added in order: deterministic).
            var rowSums = new double[n];
            Parallel.For(0, n, i =>
            {
                double s = 0, yi0 = y[2 * i], yi1 = y[2 * i + 1];
                long o = (long)i * n;
                for (int j = 0; j < n; j++)
                {
                    if (j == i) { num[o + j] = 0; continue; }
                    double a = yi0 - y[2 * j], b = yi1 - y[2 * j + 1];
                    double q = 1 / (1 + a * a + b * b);
                    num[o + j] = q;
                    s += q;
                }
                rowSums[i] = s;
            });
            double z = 0;
            foreach (var s in rowSums) z += s;
            Parallel.For(0, n, i =>
            {
                double g0 = 0, g1 = 0, yi0 = y[2 * i], yi1 = y[2 * i + 1];
                long o = (long)i * n;
                for (int j = 0; j < n; j++)
                {
                    double q = num[o + j];
                    double m = (exaggeration * p[o + j] - q / z) * q;
                    g0 += m * (yi0 - y[2 * j]);
                    g1 += m * (yi1 - y[2 * j + 1]);
                }
                grad[2 * i] = 4 * g0;
                grad[2 * i + 1] = 4 * g1;
            });
            for (int k = 0; k < y.Length; k++)
            {
                gains[k] = Math.Sign(grad[k]) != Math.Sign(update[k]) ? gains[k] + 0.2 : Math.Max(gains[k] * 0.8, 0.01);
                update[k] = momentum * update[k] - rate * gains[k] * grad[k];
                y[k] += update[k];
            }
            // Keep the map centred.
            double c0 = 0, c1 = 0;
            for (int i = 0; i < n; i++) { c0 += y[2 * i]; c1 += y[2 * i + 1]; }
            c0 /= n; c1 /= n;
            for (int i = 0; i < n; i++) { y[2 * i] -= c0; y[2 * i + 1] -= c1; }
        }
        var result = new double[n][];
        for (int i = 0; i < n; i++) result[i] = [y[2 * i], y[2 * i + 1]];
        return result;
    }

    /// <summary>
    /// Trustworthiness (Venna and Kaski 2001) of a map at <paramref name="k"/> neighbours: 1 when every point's k
    /// nearest neighbours in the map are among its k nearest in the input; points that intrude from further away
    /// lower it by their input rank.
    /// </summary>
    public static double Trustworthiness(IReadOnlyList<float[]> input, IReadOnlyList<double[]> map, int k)
    {
        int n = input.Count;
        if (map.Count != n) throw new AttnScopeException("the map and the input have different numbers of points");
        if (k < 1 || 2 * n - 3 * k - 1 <= 0) throw new AttnScopeException($"k must be 1..{(2 * n - 2) / 3} for {n} points");
        var dIn = SquaredDistances(input);
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            var inputRank = new int[n];
            var byInput = Enumerable.Range(0, n).Where(j => j != i).OrderBy(j => dIn[(long)i * n + j]).ThenBy(j => j).ToArray();
            for (int r = 0; r < byInput.Length; r++) inputRank[byInput[r]] = r + 1;
            var byMap = Enumerable.Range(0, n).Where(j => j != i)
                .OrderBy(j => Square(map[i][0] - map[j][0]) + Square(map[i][1] - map[j][1])).ThenBy(j => j).Take(k);
            foreach (var j in byMap)
                if (inputRank[j] > k) sum += inputRank[j] - k;
        }
        return 1 - 2.0 / (n * k * (2.0 * n - 3 * k - 1)) * sum;
    }

    private static double Square(double v) => v * v;

    private static double[] SquaredDistances(IReadOnlyList<float[]> rows)
    {
        int n = rows.Count, d = rows[0].Length;
        var dist = new double[(long)n * n];
        Parallel.For(0, n, i =>
        {
            var a = rows[i];
            for (int j = 0; j < n; j++)
            {
                var b = rows[j];
                double s = 0;
                for (int t = 0; t < d; t++) { double v = (double)a[t] - b[t]; s += v * v; }
                dist[(long)i * n + j] = s;
            }
        });
        return dist;
    }

    /// <summary>Each row's Gaussian calibrated to the perplexity (bisection on the precision), then P = (P + Pᵀ) / 2n.</summary>
    private static double[] Affinities(double[] dist, int n, double perplexity)
    {
        var cond = new double[(long)n * n];
        double target = Math.Log(perplexity);
        Parallel.For(0, n, i =>
        {
            long o = (long)i * n;
            double beta = 1, lo = 0, hi = double.PositiveInfinity;
            // Distances relative to the nearest neighbour keep exp() from underflowing for far-apart data.
            double min = double.PositiveInfinity;
            for (int j = 0; j < n; j++) if (j != i) min = Math.Min(min, dist[o + j]);
            for (int step = 0; step < 100; step++)
            {
                double sum = 0, weighted = 0;
                for (int j = 0; j < n; j++)
                {
                    if (j == i) { cond[o + j] = 0; continue; }
                    double dd = dist[o + j] - min;
                    double v = Math.Exp(-dd * beta);
                    cond[o + j] = v;
                    sum += v;
                    weighted += dd * v;
                }
                double entropy = Math.Log(sum) + beta * weighted / sum;
                for (int j = 0; j < n; j++) cond[o + j] /= sum;
                double diff = entropy - target;
                if (Math.Abs(diff) < 1e-6) break;
                if (diff > 0) { lo = beta; beta = double.IsPositiveInfinity(hi) ? beta * 2 : (beta + hi) / 2; }
                else { hi = beta; beta = (beta + lo) / 2; }
            }
        });
        var p = new double[(long)n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                p[(long)i * n + j] = Math.Max((cond[(long)i * n + j] + cond[(long)j * n + i]) / (2.0 * n), 1e-12);
        for (int i = 0; i < n; i++) p[(long)i * n + i] = 0;
        return p;
    }

    private static double Gaussian(Random rng)
    {
        double u = 1 - rng.NextDouble(), v = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
    }
}
