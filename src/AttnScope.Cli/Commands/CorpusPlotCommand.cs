using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Corpus;
using AttnScope.Views.Corpus;
using AttnScope.Views.Static;

namespace AttnScope.Cli;

/// <summary><c>attnscope corpus plot DB --stat entropy -o grid.png</c>: a statistic's distribution per layer × head.</summary>
internal static class CorpusPlotCommand
{
    public static Command Create(CliOutput output)
    {
        var db = new Argument<string>("database") { Description = "the corpus database" };
        var stat = new Option<string>("--stat") { Description = "the statistic: " + string.Join(", ", CorpusStatNames.All), DefaultValueFactory = _ => "entropy" };
        var bins = new Option<int>("--bins") { Description = "histogram bins", DefaultValueFactory = _ => 24 };
        var scale = new Option<float>("--scale") { Description = "image scale (2 for high-DPI)", DefaultValueFactory = _ => 1.5f };
        var outPath = new Option<string>("--output", "-o") { Description = "the image (.png or .svg)", Required = true };
        var cmd = new Command("plot", "Draw a head statistic's distribution over the corpus as a layers × heads grid of histograms.") { db, stat, bins, scale, outPath };
        cmd.SetAction(r => output.Guard(() =>
        {
            var path = r.GetValue(outPath)!;
            var ext = Path.GetExtension(path).ToLowerInvariant();
            if (ext is not (".png" or ".svg")) throw new AttnScopeException($"--output must end in .png or .svg, not '{ext}'");
            using var database = CorpusDatabase.OpenReadOnly(r.GetValue(db)!);
            var d = StatDistribution.Compute(database, r.GetValue(stat)!, r.GetValue(bins));
            var model = database.Info().GetValueOrDefault("model") ?? "";
            var grid = new StatHistogramGrid(d.Stat, d.Min, d.Max, d.Bins, d.Counts, d.Means, d.Sentences);
            var layout = HeadDistributionGridLayout.Compute(grid, $"{d.Stat} per head over {d.Sentences:N0} sentences — {model}", [], FontSet.Default, scale: r.GetValue(scale));
            var renderer = new ViewRenderer();
            ViewRenderer.CheckWritable(path);
            if (ext == ".png") File.WriteAllBytes(path, renderer.RenderPng(layout, "viridis"));
            else File.WriteAllText(path, renderer.RenderSvg(layout, "viridis"));
            output.Out.WriteLine($"wrote {path} ({layout.Width} × {layout.Height}, {d.Stat} of {d.Counts.Length} layers × {d.Counts[0].Length} heads)");
            return 0;
        }));
        return cmd;
    }
}
