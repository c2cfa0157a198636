using System.Text.Json;
using AttnScope.Corpus;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using static AttnScope.Tests.Corpus.CorpusTestData;

namespace AttnScope.Tests.Corpus;

/// <summary>`corpus view --projection tsne`: the page's data come from t-SNE (named so, no variance shares), every point is finite, and a bad projection name is a clear error.</summary>
public class CorpusTsneViewTests
{
    [Fact]
    public void TheViewCanUseTsne()
    {
        using var dir = new TempDir();
        var input = WriteText(dir, Lines);
        var db = dir.File("c.duckdb");
        RunCorpus("--input", input, "--out", db, "--qk-heads", "2.3", "--qk-tokens", "4");
        var page = dir.File("view.html");
        var (code, output, err) = CliTests.Run("corpus", "view", db, "--head", "2.3", "--projection", "tsne", "-o", page);
        Assert.True(code == 0, err);
        Assert.Contains("48 points from 6 sentences (t-SNE)", output);

        using var database = CorpusDatabase.OpenReadOnly(db);
        var a = HeadEmbedding.Compute(database, HeadRef.Parse("2.3"), 400, "tsne", seed: 3);
        var b = HeadEmbedding.Compute(database, HeadRef.Parse("2.3"), 400, "tsne", seed: 3);
        Assert.Equal(48, a.Points.Count);
        Assert.Equal(a.Points, b.Points);
        Assert.All(a.Points, p => Assert.True(double.IsFinite(p.X) && double.IsFinite(p.Y)));
        Assert.Empty(a.VarianceShare);
        var json = JsonDocument.Parse(HeadEmbedding.ToJson(a).ToJsonString()).RootElement;
        Assert.Equal("tsne", json.GetProperty("projection").GetString());
        var pca = HeadEmbedding.Compute(database, HeadRef.Parse("2.3"), 400);
        Assert.Equal("pca", pca.Projection);
        Assert.NotEqual(pca.Points[0].X, a.Points[0].X);

        var (bad, _, badErr) = CliTests.Run("corpus", "view", db, "--head", "2.3", "--projection", "umap", "-o", page);
        Assert.NotEqual(0, bad);
        Assert.Contains("unknown projection 'umap'", badErr);
    }

    [Fact]
    public void ALargeSampleIsCutToWholeSentencesWithinTheLimit()
    {
        using var dir = new TempDir();
        var words = new[] { "red", "blue", "cat", "dog", "runs", "sleeps", "near", "the", "old", "house", "river", "quickly" };
        var lines = Enumerable.Range(0, 160).Select(i => string.Join(' ', Enumerable.Range(0, 9).Select(j => words[(i * 7 + j * 5 + i / 12) % words.Length])) + ".").ToList();
        var db = dir.File("c.duckdb");
        RunCorpus("--input", WriteText(dir, lines), "--out", db, "--qk-heads", "1.0", "--qk-tokens", "8");
        using var database = CorpusDatabase.OpenReadOnly(db);
        var pca = HeadEmbedding.Compute(database, HeadRef.Parse("1.0"), 400);
        Assert.True(pca.Points.Count > Tsne.MaxPoints, $"the PCA sample has {pca.Points.Count} points: too few to test the cut");
        var tsne = HeadEmbedding.Compute(database, HeadRef.Parse("1.0"), 400, "tsne");
        Assert.InRange(tsne.Points.Count, Tsne.MaxPoints - 2 * 8, Tsne.MaxPoints);
        // Whole sentences, and the first ones of the same sample.
        var kept = tsne.Sentences.Select(s => s.Line).ToList();
        Assert.Equal(pca.Sentences.Take(kept.Count).Select(s => s.Line), kept);
        foreach (var line in kept)
            Assert.Equal(pca.Points.Count(p => p.Line == line), tsne.Points.Count(p => p.Line == line));
        Assert.All(tsne.Points, p => Assert.Contains(p.Line, kept));
    }
}
