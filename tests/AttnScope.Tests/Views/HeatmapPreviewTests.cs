using AttnScope.Tests.Support;
using AttnScope.Views.Static;
using SkiaSharp;
using Xunit;

namespace AttnScope.Tests.Views;

/// <summary>
/// Renders realistic figures at 9, 128 and 512 tokens (sentence pairs, accented and CJK tokens) and checks they
/// decode; with ATTNSCOPE_PREVIEW_DIR set, also writes them there to look at.
/// </summary>
public class HeatmapPreviewTests
{
    [Theory]
    [InlineData(9, false, "viridis")]
    [InlineData(40, true, "magma")]
    [InlineData(128, false, "cividis")]
    [InlineData(512, true, "viridis")]
    public void RendersRealisticFigures(int n, bool pair, string map)
    {
        var capture = SyntheticCaptures.Realistic(n, layers: 1, heads: 2, pair: pair);
        var renderer = new HeatmapRenderer();
        var options = new HeatmapOptions { ColorMap = map, Heads = HeadSelection.Single(n % 2) };
        var png = renderer.RenderPng(capture, options);
        using var bmp = SKBitmap.Decode(png);
        Assert.NotNull(bmp);
        Assert.True(bmp.Width <= 4000 && bmp.Height <= 4000);
        var dir = Environment.GetEnvironmentVariable("ATTNSCOPE_PREVIEW_DIR");
        if (!string.IsNullOrEmpty(dir))
        {
            File.WriteAllBytes(Path.Combine(dir, $"heatmap-{n}-{map}.png"), png);
            File.WriteAllText(Path.Combine(dir, $"heatmap-{n}-{map}.svg"), renderer.RenderSvg(capture, options));
            // full-resolution corners, to check label legibility of large figures
            foreach (var (name, x, y) in new[] { ("top-left", 0, 0), ("bottom-left", 0, bmp.Height - 500), ("top-right", bmp.Width - 500, 0) })
            {
                var rect = SKRectI.Create(Math.Max(0, x), Math.Max(0, y), Math.Min(800, bmp.Width), Math.Min(500, bmp.Height));
                using var sub = new SKBitmap();
                if (!bmp.ExtractSubset(sub, rect)) continue;
                using var img = SKImage.FromBitmap(sub);
                using var data = img.Encode(SKEncodedImageFormat.Png, 100);
                File.WriteAllBytes(Path.Combine(dir, $"heatmap-{n}-{map}-{name}.png"), data.ToArray());
            }
        }
    }

    [Fact]
    public void RendersMixedScriptsAtDoubleScale()
    {
        string[] words = ["[CLS]", "北京", "の", "天気", "café", "naïve", "##ing", "Ελλάδα", "[SEP]"];
        var tokens = words.Select((w, i) => new AttnScope.Capture.CaptureToken(w, i, w.StartsWith('[') ? -1 : i, w.StartsWith('[') ? -1 : i + 1,
            i > 4 && i < 8 ? AttnScope.Capture.Segment.B : AttnScope.Capture.Segment.A, w.StartsWith('['))).ToList();
        var baseCapture = SyntheticCaptures.Realistic(words.Length, layers: 1, heads: 4);
        var capture = SyntheticCaptures.Make(tokens, baseCapture.Stack("encoder").Attention, "minilm");
        var renderer = new HeatmapRenderer();
        var options = new HeatmapOptions { Heads = HeadSelection.Mean, Scale = 2, ColorMap = "greys" };
        var layout = renderer.Layout(capture, options);
        Assert.Equal(9, layout.RowLabels.Count);
        Assert.Equal("minilm · encoder · layer 0 · mean of heads", layout.Title);
        var png = renderer.RenderPng(layout, options.ColorMap);
        var dir = Environment.GetEnvironmentVariable("ATTNSCOPE_PREVIEW_DIR");
        if (!string.IsNullOrEmpty(dir)) File.WriteAllBytes(Path.Combine(dir, "heatmap-mixed-scripts-x2.png"), png);
    }
}
