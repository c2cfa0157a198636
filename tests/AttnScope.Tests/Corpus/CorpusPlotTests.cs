using AttnScope.Corpus;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using SkiaSharp;
using static AttnScope.Tests.Corpus.CorpusTestData;

namespace AttnScope.Tests.Corpus;

/// <summary>The distribution grid: histograms that count the stored values, drawn as a PNG or SVG.</summary>
[Collection("minilm")]
public sealed class CorpusPlotTests
{
    [Fact]
    public void HistogramsCountTheStoredValuesAndThePlotIsDrawn()
    {
        using var dir = new TempDir();
        var input = WriteText(dir, Lines);
        var db = dir.File("c.duckdb");
        RunCorpus("--input", input, "--out", db);
        StatDistribution d;
        List<(int L, int H, float V)> values = [];
        using (var database = CorpusDatabase.OpenReadOnly(db))
        {
            d = StatDistribution.Compute(database, "previous_token", 10);
            using var cmd = database.Connection.CreateCommand();
            cmd.CommandText = "SELECT layer, head, previous_token FROM head_stats";
            using var r = cmd.ExecuteReader();
            while (r.Read()) values.Add((r.GetInt32(0), r.GetInt32(1), r.GetFloat(2)));
        }
        Assert.Equal(values.Min(v => v.V), d.Min);
        Assert.Equal(values.Max(v => v.V), d.Max);
        Assert.Equal(6, d.Sentences);
        for (int l = 0; l < 6; l++)
            for (int h = 0; h < 12; h++)
            {
                var mine = values.Where(v => v.L == l && v.H == h).Select(v => v.V).ToList();
                var expected = new long[10];
                foreach (var v in mine) expected[Math.Min(9, (int)Math.Floor((v - d.Min) / (d.Max - d.Min) * 10))]++;
                Assert.Equal(expected, d.Counts[l][h]);
                Assert.Equal(mine.Average(), d.Means[l][h], 1e-5);
            }

        var png = dir.File("grid.png");
        var (code, output, err) = CliTests.Run("corpus", "plot", db, "--stat", "previous_token", "--bins", "10", "-o", png);
        Assert.True(code == 0, err);
        Assert.Contains("6 layers × 12 heads", output);
        using var bitmap = SKBitmap.Decode(png);
        Assert.True(bitmap.Width > 1000 && bitmap.Height > 400, $"{bitmap.Width} × {bitmap.Height}");
        var svg = dir.File("grid.svg");
        (code, _, err) = CliTests.Run("corpus", "plot", db, "--stat", "entropy", "-o", svg);
        Assert.True(code == 0, err);
        Assert.Contains("entropy per head over 6 sentences", File.ReadAllText(svg));

        (code, _, err) = CliTests.Run("corpus", "plot", db, "--stat", "nonsense", "-o", png);
        CliTests.AssertOneLineError(code, err, "unknown statistic 'nonsense'");
    }
}
