using AttnScope.Tests.Support;
using AttnScope.Capture;
using AttnScope.Views.Static;
using SkiaSharp;
using Xunit;

namespace AttnScope.Tests.Views;

public class HeatmapRenderTests
{
    private static readonly HeatmapRenderer Renderer = new();

    [Theory]
    [InlineData(1, "viridis")]
    [InlineData(2, "viridis")]
    [InlineData(9, "viridis")]
    [InlineData(9, "greys")]
    [InlineData(23, "magma")]
    [InlineData(128, "cividis")]
    public void OneHotCellsHaveTopAndBottomColours(int n, string map)
    {
        var capture = SyntheticCaptures.OneHot(n);
        var options = new HeatmapOptions { ColorMap = map };
        var layout = Renderer.Layout(capture, options);
        var png = Renderer.RenderPng(layout, map);
        using var bitmap = SKBitmap.Decode(png);
        Assert.Equal(layout.Width, bitmap.Width);
        Assert.Equal(layout.Height, bitmap.Height);
        var cmap = ColorMap.Get(map);
        for (int q = 0; q < n; q++)
            for (int k = 0; k < n; k++)
            {
                var r = layout.CellRect(q, k);
                var expected = k == SyntheticCaptures.Target(q, n) ? cmap.Top : cmap.Bottom;
                // centre and corners of the cell: solid, no smoothing between cells
                foreach (var (x, y) in new[] { ((int)r.MidX, (int)r.MidY), ((int)r.Left, (int)r.Top), ((int)r.Right - 1, (int)r.Bottom - 1) })
                {
                    var got = bitmap.GetPixel(x, y);
                    Assert.True(got.Red == expected.Red && got.Green == expected.Green && got.Blue == expected.Blue,
                        $"cell ({q}, {k}) at ({x}, {y}): expected {expected}, got {got}");
                }
            }
    }

    [Fact]
    public void CellsAreWholePixelsInsideTheImage()
    {
        foreach (var n in new[] { 9, 128, 512 })
        {
            var layout = Renderer.Layout(SyntheticCaptures.OneHot(n), new HeatmapOptions());
            Assert.Equal(MathF.Round(layout.Plot.Left), layout.Plot.Left);
            Assert.Equal(MathF.Round(layout.Plot.Top), layout.Plot.Top);
            Assert.Equal(n * layout.CellSize, layout.Plot.Width);
            Assert.True(layout.Width <= 4000 && layout.Height <= 4000, $"{n} tokens: {layout.Width} × {layout.Height}");
            Assert.True(layout.Plot.Right <= layout.Width && layout.Plot.Bottom <= layout.Height);
            Assert.True(layout.CellSize >= 2, $"{n} tokens: cell {layout.CellSize}");
        }
    }

    [Fact]
    public void ScaleDoublesSizes()
    {
        var capture = SyntheticCaptures.OneHot(9);
        var one = Renderer.Layout(capture, new HeatmapOptions());
        var two = Renderer.Layout(capture, new HeatmapOptions { Scale = 2 });
        Assert.Equal(one.CellSize * 2, two.CellSize);
        Assert.Equal(one.RowPlan.FontSize * 2, two.RowPlan.FontSize);
    }

    [Fact]
    public void TitleAndAxisTitles()
    {
        var capture = SyntheticCaptures.Realistic(9, layers: 2, heads: 4, model: "minilm");
        var layout = Renderer.Layout(capture, new HeatmapOptions { Layer = 1, Heads = HeadSelection.Single(3) });
        Assert.Equal("minilm · encoder · layer 1 · head 3", layout.Title);
        Assert.Equal("query", layout.RowAxisTitle);
        Assert.Equal("key", layout.ColumnAxisTitle);
        var mean = Renderer.Layout(capture, new HeatmapOptions { Heads = HeadSelection.Mean, Title = "my <title>" });
        Assert.Equal("my <title>", mean.Title);
    }

    [Fact]
    public void CrossStackAxisTitlesNameSourceAndTarget()
    {
        var src = SyntheticCaptures.Tokens(6);
        var tgt = SyntheticCaptures.Tokens(4);
        var cross = new FloatTensor([1, 1, 4, 6]);
        for (int q = 0; q < 4; q++) cross[0, 0, q, q] = 1;
        var capture = new AttentionCapture(new CaptureMetadata { ModelId = "t5" }, src,
            [new AttentionStack(AttentionStack.Cross, cross)], tgt);
        var layout = Renderer.Layout(capture, new HeatmapOptions { Stack = "cross" });
        Assert.Equal("target (query)", layout.RowAxisTitle);
        Assert.Equal("source (key)", layout.ColumnAxisTitle);
        Assert.Equal(4 * layout.CellSize, layout.Plot.Height);
        Assert.Equal(6 * layout.CellSize, layout.Plot.Width);
        Assert.NotEmpty(Renderer.RenderPng(capture, new HeatmapOptions { Stack = "cross" }));
    }

    [Fact]
    public void LabelKindsFollowTokens()
    {
        var capture = SyntheticCaptures.Realistic(12, pair: true);
        var layout = Renderer.Layout(capture, new HeatmapOptions());
        Assert.Equal(LabelKind.Special, layout.RowLabels[0].Kind);
        Assert.Equal(LabelKind.Special, layout.RowLabels[11].Kind);
        Assert.Equal(LabelKind.Normal, layout.RowLabels[1].Kind);
        Assert.Equal(LabelKind.SegmentB, layout.RowLabels[8].Kind);
        Assert.Contains(layout.Notes, line => line.Any(p => p.Text == "sentence B"));
    }

    [Fact]
    public void ColorBarTicksRunFromZeroToMax()
    {
        var layout = Renderer.Layout(SyntheticCaptures.Realistic(20), new HeatmapOptions());
        Assert.Equal(0f, layout.Ticks[0].Value);
        Assert.Equal(layout.ColorMax, layout.Ticks[^1].Value);
        Assert.Equal(layout.ColorBar.Bottom, layout.Ticks[0].Y, 3);
        Assert.Equal(layout.ColorBar.Top, layout.Ticks[^1].Y, 3);
        Assert.True(layout.Ticks.Count >= 3);
        Assert.Equal(layout.Matrix.MaxValue, layout.ColorMax);
    }

    [Fact]
    public void SvgHasRectsAndEscapedText()
    {
        var tokens = SyntheticCaptures.Tokens(5);
        tokens[2] = tokens[2] with { Text = "<b>&\"x\"</b>" };
        var t = new FloatTensor([1, 1, 5, 5]);
        for (int i = 0; i < 5; i++) t[0, 0, i, 0] = 1;
        var capture = SyntheticCaptures.Make(tokens, t);
        var svg = Renderer.RenderSvg(capture, new HeatmapOptions());
        Assert.Contains("&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;", svg);
        Assert.DoesNotContain("<b>", svg);
        var doc = System.Xml.Linq.XDocument.Parse(svg); // well-formed
        Assert.Equal("svg", doc.Root!.Name.LocalName);
        Assert.Contains("fill=\"#fde725\"", svg); // viridis top
        Assert.Contains(">[CLS]<", svg);
    }

    [Fact]
    public void SaveWritesPngAndSvg()
    {
        var dir = Directory.CreateTempSubdirectory("attnscope-views-");
        try
        {
            var capture = SyntheticCaptures.OneHot(9);
            var png = Path.Combine(dir.FullName, "h.png");
            Renderer.SavePng(capture, new HeatmapOptions(), png);
            using (var bmp = SKBitmap.Decode(png)) Assert.True(bmp.Width > 100);
            var svg = Path.Combine(dir.FullName, "h.svg");
            Renderer.SaveSvg(capture, new HeatmapOptions(), svg);
            Assert.StartsWith("<?xml", File.ReadAllText(svg));
            Assert.Equal(2, Directory.GetFiles(dir.FullName).Length); // no temporary files left
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void UnwritablePathIsAUserError()
    {
        var capture = SyntheticCaptures.OneHot(9);
        var missing = Path.Combine(Path.GetTempPath(), "attnscope-no-such-dir-" + Guid.NewGuid().ToString("N"), "h.png");
        var e = Assert.Throws<AttnScopeException>(() => Renderer.SavePng(capture, new HeatmapOptions(), missing));
        Assert.Contains("does not exist", e.Message);
        var dir = Directory.CreateTempSubdirectory("attnscope-views-");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir.FullName, "taken.png"));
            Assert.Throws<AttnScopeException>(() => Renderer.SavePng(capture, new HeatmapOptions(), Path.Combine(dir.FullName, "taken.png")));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void BadOptionsAreUserErrors()
    {
        var capture = SyntheticCaptures.OneHot(9);
        Assert.Contains("viridis", Assert.Throws<AttnScopeException>(() => Renderer.Layout(capture, new HeatmapOptions { ColorMap = "jet" })).Message);
        Assert.Contains("decoder", Assert.Throws<AttnScopeException>(() => Renderer.Layout(capture, new HeatmapOptions { Stack = "decoder" })).Message);
        Assert.Throws<AttnScopeException>(() => Renderer.Layout(capture, new HeatmapOptions { Scale = 0 }));
        Assert.Throws<AttnScopeException>(() => Renderer.Layout(SyntheticCaptures.OneHot(512), new HeatmapOptions { CellSize = 100 }));
    }
}
