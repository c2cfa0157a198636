using AttnScope.Capture;
using AttnScope.Corpus;

namespace AttnScope.Tests.Corpus;

/// <summary>
/// Exact t-SNE: checked on data whose right answer is known without t-SNE (Gaussian clusters far apart in 10-D must
/// come out as separate groups; a map that is the input itself has trustworthiness 1, a random one about 0.5).
/// </summary>
public class TsneTests
{
    private static (List<float[]> Rows, int[] Cluster) Clusters(int clusters, int each, int dims, double spread, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<float[]>();
        var label = new List<int>();
        for (int c = 0; c < clusters; c++)
        {
            var centre = Enumerable.Range(0, dims).Select(_ => rng.NextDouble() * spread).ToArray();
            for (int i = 0; i < each; i++)
            {
                rows.Add(centre.Select(v => (float)(v + Normal(rng))).ToArray());
                label.Add(c);
            }
        }
        return (rows, label.ToArray());
    }

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    [Fact]
    public void WellSeparatedClustersStaySeparated()
    {
        var (rows, cluster) = Clusters(clusters: 4, each: 40, dims: 10, spread: 30, seed: 3);
        var map = Tsne.Compute(rows, new Tsne.Options { Perplexity = 20, Seed = 7 });
        Assert.Equal(rows.Count, map.Length);
        Assert.All(map, p => Assert.True(double.IsFinite(p[0]) && double.IsFinite(p[1])));
        // Every point lies nearer its own cluster's centroid in the map than any other cluster's.
        var centroids = Enumerable.Range(0, 4).Select(c =>
        {
            var members = Enumerable.Range(0, map.Length).Where(i => cluster[i] == c).ToArray();
            return new[] { members.Average(i => map[i][0]), members.Average(i => map[i][1]) };
        }).ToArray();
        for (int i = 0; i < map.Length; i++)
        {
            int nearest = Enumerable.Range(0, 4).MinBy(c => Dist2(map[i], centroids[c]));
            Assert.True(nearest == cluster[i], $"point {i} of cluster {cluster[i]} lies nearest cluster {nearest}'s centre");
        }
        // The smallest gap between clusters is wider than the largest nearest-neighbour distance within one.
        double within = Enumerable.Range(0, map.Length).Max(i => Enumerable.Range(0, map.Length)
            .Where(j => j != i && cluster[j] == cluster[i]).Min(j => Math.Sqrt(Dist2(map[i], map[j]))));
        double between = Enumerable.Range(0, map.Length).Min(i => Enumerable.Range(0, map.Length)
            .Where(j => cluster[j] != cluster[i]).Min(j => Math.Sqrt(Dist2(map[i], map[j]))));
        Assert.True(between > within, $"closest points of different clusters {between:F2} apart, largest within-cluster gap {within:F2}");

        double t = Tsne.Trustworthiness(rows, map, 5);
        var rng = new Random(1);
        var random = rows.Select(_ => new[] { rng.NextDouble(), rng.NextDouble() }).ToArray();
        double tRandom = Tsne.Trustworthiness(rows, random, 5);
        Assert.True(t > 0.9, $"trustworthiness {t:F3}");
        Assert.True(tRandom < 0.8, $"a random map's trustworthiness {tRandom:F3} should be low (the measure must be able to fail)");
    }

    [Fact]
    public void TheSameSeedGivesTheSameMap()
    {
        var (rows, _) = Clusters(clusters: 2, each: 15, dims: 5, spread: 10, seed: 4);
        var options = new Tsne.Options { Perplexity = 5, Iterations = 300, Seed = 11 };
        var a = Tsne.Compute(rows, options);
        var b = Tsne.Compute(rows, options);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i]);
        var c = Tsne.Compute(rows, options with { Seed = 12 });
        Assert.NotEqual(a[0], c[0]);
    }

    [Fact]
    public void AMapThatIsTheInputIsFullyTrustworthy()
    {
        var rng = new Random(5);
        var rows = Enumerable.Range(0, 30).Select(_ => new[] { (float)rng.NextDouble(), (float)rng.NextDouble() }).ToList();
        var same = rows.Select(r => new double[] { r[0], r[1] }).ToList();
        Assert.Equal(1.0, Tsne.Trustworthiness(rows, same, 4), 12);
    }

    [Fact]
    public void BadInputGivesAClearError()
    {
        var few = new List<float[]> { new[] { 1f }, new[] { 2f } };
        Assert.Throws<AttnScopeException>(() => Tsne.Compute(few));
        var mixed = new List<float[]> { new[] { 1f }, new[] { 2f }, new[] { 1f, 2f } };
        Assert.Throws<AttnScopeException>(() => Tsne.Compute(mixed, new Tsne.Options { Perplexity = 1 }));
        var rows = Enumerable.Range(0, 10).Select(i => new[] { (float)i }).ToList();
        var e = Assert.Throws<AttnScopeException>(() => Tsne.Compute(rows, new Tsne.Options { Perplexity = 10 }));
        Assert.Contains("perplexity", e.Message);
        var many = Enumerable.Range(0, Tsne.MaxPoints + 1).Select(i => new[] { (float)i }).ToList();
        Assert.Throws<AttnScopeException>(() => Tsne.Compute(many));
    }

    private static double Dist2(double[] a, double[] b) => (a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]);
}
