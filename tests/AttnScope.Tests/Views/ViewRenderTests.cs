using AttnScope.Capture;
using AttnScope.Views.Animation;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Tests.Views;

/// <summary>
/// Every view in every format, checked against known one-hot attention: the cell a query attends to has the colour
/// map's top colour, every other cell its bottom colour (PNG decoded, SVG rectangles parsed, GIF frames decoded).
/// </summary>
public class ViewRenderTests
{
    private static readonly ViewRenderer Renderer = new();
    private const int N = 7, Layers = 3, Heads = 4;
    private static readonly AttentionCapture Capture = ViewTestCaptures.OneHot(N, Layers, Heads);

    // Public for xunit's MemberData; object rows because ViewKind is internal to AttnScope.Views.
    public static IEnumerable<object[]> ViewsAndMaps =>
    [
        [ViewKind.Head, "viridis"], [ViewKind.Heads, "magma"], [ViewKind.Layers, "cividis"], [ViewKind.Model, "greys"],
        [ViewKind.Model, "viridis"],
    ];

    private static HeatmapOptions Options(ViewKind view, string map) =>
        new() { ColorMap = map, Layer = view == ViewKind.Heads || view == ViewKind.Head ? 2 : 0, Heads = HeadSelection.Single(view == ViewKind.Head ? 3 : 1) };

    /// <summary>
    /// Every cell of a figure with the colour it must have. Which layer and head each panel shows follows from the
    /// view's definition (not from the layout): head: the chosen one; heads: panel i is head i; layers: panel i is
    /// layer i; model: panel i is layer i / heads, head i % heads.
    /// </summary>
    internal static IEnumerable<(string Where, SKRect Rect, SKColor Expected)> ExpectedCells(IFigureLayout layout, ViewKind view,
        HeatmapOptions o, ColorMap map, int n = N, int heads = Heads)
    {
        IEnumerable<Func<int, int, SKRect>> cells = layout switch
        {
            HeatmapLayout h => [h.CellRect],
            GridLayout g => g.Panels.Select(p => (Func<int, int, SKRect>)p.CellRect),
            _ => throw new InvalidOperationException(),
        };
        int i = 0;
        foreach (var cell in cells)
        {
            var (layer, head) = view switch
            {
                ViewKind.Head => (o.Layer, o.Heads.Head),
                ViewKind.Heads => (o.Layer, i),
                ViewKind.Layers => (i, o.Heads.Head),
                _ => (i / heads, i % heads),
            };
            i++;
            for (int q = 0; q < n; q++)
                for (int k = 0; k < n; k++)
                    yield return ($"layer {layer} head {head} cell ({q}, {k})", cell(q, k),
                        k == ViewTestCaptures.Target(q, n, layer, head) ? map.Top : map.Bottom);
        }
    }

    internal static void AssertPixels(SKBitmap bmp, IEnumerable<(string Where, SKRect Rect, SKColor Expected)> cells, float dy = 0)
    {
        int checkedCells = 0;
        foreach (var (where, r, expected) in cells)
        {
            foreach (var (x, y) in new[] { (r.MidX, r.MidY), (r.Left, r.Top), (r.Right - 1, r.Bottom - 1), (r.Left, r.Bottom - 1) })
            {
                var got = bmp.GetPixel((int)x, (int)(y + dy));
                Assert.True(got.Red == expected.Red && got.Green == expected.Green && got.Blue == expected.Blue,
                    $"{where} at ({x}, {y}): expected {expected}, got {got}");
            }
            checkedCells++;
        }
        Assert.True(checkedCells > 0);
    }

    [Theory]
    [MemberData(nameof(ViewsAndMaps))]
    internal void PngCellsHaveTopAndBottomColours(ViewKind view, string map)
    {
        var o = Options(view, map);
        var layout = Renderer.Layout(Capture, view, o);
        using var bmp = SKBitmap.Decode(Renderer.RenderPng(layout, map));
        Assert.Equal(layout.Width, bmp.Width);
        Assert.Equal(layout.Height, bmp.Height);
        AssertPixels(bmp, ExpectedCells(layout, view, o, ColorMap.Get(map)));
        int panels = view switch { ViewKind.Head => 1, ViewKind.Heads => Heads, ViewKind.Layers => Layers, _ => Layers * Heads };
        Assert.Equal(panels * N * N, ExpectedCells(layout, view, o, ColorMap.Get(map)).Count());
    }

    [Theory]
    [MemberData(nameof(ViewsAndMaps))]
    internal void SvgCellRectsHaveTopAndBottomColours(ViewKind view, string map)
    {
        var o = Options(view, map);
        var layout = Renderer.Layout(Capture, view, o);
        var svg = new SvgCells(Renderer.RenderSvg(layout, map));
        foreach (var (where, r, expected) in ExpectedCells(layout, view, o, ColorMap.Get(map)))
            Assert.True(svg.At(r.MidX, r.MidY) == expected, $"{where}: expected {expected}, got {svg.At(r.MidX, r.MidY)}");
    }

    [Theory]
    [InlineData(ViewKind.Head)]
    [InlineData(ViewKind.Heads)]
    [InlineData(ViewKind.Layers)]
    [InlineData(ViewKind.Model)]
    internal void PdfIsAOnePageDocument(ViewKind view)
    {
        var pdf = Renderer.RenderPdf(Renderer.Layout(Capture, view, Options(view, "viridis")), "viridis");
        var text = System.Text.Encoding.Latin1.GetString(pdf);
        Assert.StartsWith("%PDF-", text);
        Assert.Contains("%%EOF", text[^32..]);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(text, @"/Type\s*/Page\b"));
    }

    [Theory]
    [InlineData(ViewKind.Head)]
    [InlineData(ViewKind.Heads)]
    internal void GifHasOneFramePerLayerWithTheCellColours(ViewKind view)
    {
        var o = Options(view, "viridis");
        var gif = Renderer.RenderLayerAnimation(Capture, view, o);
        var frames = AnimationWriterTests.DecodeFrames(gif, out var info);
        try
        {
            Assert.Equal(Layers, frames.Length);
            Assert.All(info, i => Assert.True(i.Duration >= 500));
            var map = ColorMap.Get("viridis");
            for (int l = 0; l < Layers; l++)
            {
                // one scale over all layers: the one-hot maximum is 1 in every layer
                var layout = Renderer.Layout(Capture, view, o with { Layer = l, ColorMax = 1f });
                Assert.Equal(layout.Width, frames[l].Width);
                float strip = frames[l].Height - layout.Height;
                Assert.True(strip > 10, "caption strip above the figure");
                AssertPixels(frames[l], ExpectedCells(layout, view, o with { Layer = l }, map), strip);
            }
        }
        finally
        {
            foreach (var f in frames) f.Dispose();
        }
    }

    [Fact]
    public void AnimationFramesAreCaptionedByLayer()
    {
        var frames = Renderer.LayerFrames(Capture, ViewKind.Head, new HeatmapOptions());
        Assert.Equal(["layer 0 of 3 (0–2)", "layer 1 of 3 (0–2)", "layer 2 of 3 (0–2)"], frames.Select(f => f.Caption));
        foreach (var f in frames) f.Image.Dispose();
        Assert.Contains("head or heads", Assert.Throws<AttnScopeException>(() => Renderer.LayerFrames(Capture, ViewKind.Model, new HeatmapOptions())).Message);
    }

    [Theory]
    [InlineData(ViewKind.Head)]
    [InlineData(ViewKind.Heads)]
    [InlineData(ViewKind.Layers)]
    [InlineData(ViewKind.Model)]
    internal void TokenTextIsEscapedTextInSvg(ViewKind view)
    {
        var tokens = AttnScope.Tests.Support.SyntheticCaptures.Tokens(5);
        tokens[2] = tokens[2] with { Text = "<script>&\"" };
        var cap = AttnScope.Tests.Support.SyntheticCaptures.Make(tokens, ViewTestCaptures.OneHot(5, 2, 2).Stack("encoder").Attention, "m<i>&\"");
        var svg = Renderer.RenderSvg(Renderer.Layout(cap, view, new HeatmapOptions()), "viridis");
        Assert.DoesNotContain("<script", svg);
        Assert.DoesNotContain("<i>", svg);
        var doc = System.Xml.Linq.XDocument.Parse(svg);
        var texts = doc.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value).ToList();
        if (view != ViewKind.Model) Assert.Contains("<script>&\"", texts); // the token, as text
        Assert.Contains(texts, t => t.StartsWith("m<i>&\""));            // the model id in the title, as text
        Assert.DoesNotContain(doc.Descendants(), e => e.Name.LocalName is "script" or "i");
    }

    [Fact]
    public void HeadsViewHasAPanelPerHeadInAGridAndATitlePerHead()
    {
        foreach (var (heads, cols, rows) in new[] { (4, 2, 2), (8, 4, 2), (12, 4, 3), (16, 4, 4), (32, 8, 4), (7, 3, 3) })
        {
            var cap = ViewTestCaptures.OneHot(4, 1, heads);
            var g = (GridLayout)Renderer.Layout(cap, ViewKind.Heads, new HeatmapOptions());
            Assert.Equal(heads, g.Panels.Count);
            Assert.Equal((cols, rows), (g.GridColumns, g.GridRows));
            Assert.Equal(Enumerable.Range(0, heads).Select(h => $"head {h}"), g.Panels.Select(p => p.Title));
            // panels never overlap each other, and titles sit above their own panel
            for (int i = 0; i < g.Panels.Count; i++)
                for (int j = i + 1; j < g.Panels.Count; j++)
                    Assert.False(LabelLayout.Intersects(g.Panels[i].Plot, g.Panels[j].Plot));
            Assert.True(g.Width <= 4000 && g.Height <= 4000);
        }
    }

    [Fact]
    public void ModelViewLabelsLayersAndHeads()
    {
        var g = (GridLayout)Renderer.Layout(Capture, ViewKind.Model, new HeatmapOptions());
        Assert.Equal(Layers * Heads, g.Panels.Count);
        var texts = g.Texts.Select(t => t.Text).ToList();
        Assert.Contains("layer", texts);
        Assert.Contains("head", texts);
        for (int h = 0; h < Heads; h++) Assert.Contains(h.ToString(), texts);
        Assert.Equal("synthetic · encoder · 3 layers × 4 heads", g.Title);
        // row r of the grid is layer r, column c is head c
        Assert.All(g.Panels.Select((p, i) => (p, i)), x => Assert.Equal((x.i / Heads, x.i % Heads), (x.p.Matrix.Layer, x.p.Matrix.Heads.Head)));
    }

    [Fact]
    public void ModelViewAt512TokensPoolsCellsAndSaysSo()
    {
        var cap = AttnScope.Tests.Support.SyntheticCaptures.Realistic(512, layers: 12, heads: 12);
        var g = (GridLayout)Renderer.Layout(cap, ViewKind.Model, new HeatmapOptions());
        Assert.All(g.Panels, p => Assert.True(p.Pool > 1));
        Assert.Contains(g.Notes, line => line.Any(p => p.Text.Contains("each pixel shows the maximum")));
        Assert.True(g.Width <= 4000 && g.Height <= 4000, $"{g.Width} × {g.Height}");
        Assert.True(g.Panels[0].Plot.Width >= 48, "thumbnails stay a useful size");
    }

    [Fact]
    public void PooledCellsShowTheBlockMaximum()
    {
        var cap = ViewTestCaptures.OneHot(8, 1, 1);
        var m = HeatmapMatrix.From(cap, new HeatmapOptions());
        var map = ColorMap.Get("viridis");
        var img = CellImage.Build(m, new ColorScale(0, 1), map, pool: 3);
        Assert.Equal((3, 3), (img.Width, img.Height));
        for (int by = 0; by < 3; by++)
            for (int bx = 0; bx < 3; bx++)
            {
                bool any = false;
                for (int q = by * 3; q < Math.Min(8, by * 3 + 3); q++)
                    any |= ViewTestCaptures.Target(q, 8, 0, 0) / 3 == bx;
                Assert.Equal(any ? map.Top : map.Bottom, img[bx, by]);
            }
    }

    [Fact]
    public void PooledSignedCellsShowTheValueOfLargestMagnitude()
    {
        var values = new float[4 * 4];
        values[0] = 0.5f; values[1] = -2f;  // block (0, 0): −2 wins
        values[2] = 1f; values[7] = -0.5f;  // block (1, 0): 1 wins
        var tokens = AttnScope.Tests.Support.SyntheticCaptures.Tokens(4);
        var m = new HeatmapMatrix("encoder", 0, HeadSelection.Single(0), values, tokens, tokens);
        var map = ColorMap.Get("rdbu");
        var img = CellImage.Build(m, ColorScale.For(m.MinValue, m.MaxValue, false, true), map, pool: 2);
        Assert.Equal(map.Bottom, img[0, 0]);
        Assert.Equal(map.Map(0.75f), img[1, 0]);
        Assert.Equal(map.Map(0.5f), img[0, 1]);
    }

    [Fact]
    public void LargeFiguresEmbedCellsAsImagesInSvgAndKeepTextAsText()
    {
        var cap = AttnScope.Tests.Support.SyntheticCaptures.Realistic(128, layers: 2, heads: 4);
        var layout = Renderer.Layout(cap, ViewKind.Model, new HeatmapOptions());
        Assert.True(layout.CellBlocks > SvgFigureCanvas.MaxCellRects);
        var svg = Renderer.RenderSvg(layout, "viridis");
        var doc = System.Xml.Linq.XDocument.Parse(svg);
        var images = doc.Descendants().Where(e => e.Name.LocalName == "image").ToList();
        Assert.Equal(8, images.Count); // one per panel
        var href = images[0].Attribute("href")!.Value;
        Assert.StartsWith("data:image/png;base64,", href);
        using var panel = SKBitmap.Decode(Convert.FromBase64String(href["data:image/png;base64,".Length..]));
        Assert.Equal(128, panel.Width); // one pixel per cell
        Assert.Contains(doc.Descendants(), e => e.Name.LocalName == "text" && e.Value.Contains("2 layers × 4 heads"));
        Assert.True(svg.Length < 2_000_000, $"{svg.Length} characters");
        // small figures keep one rectangle per run of cells (checked cell by cell in SvgCellRectsHaveTopAndBottomColours)
        Assert.DoesNotContain("<image", Renderer.RenderSvg(Renderer.Layout(Capture, ViewKind.Model, new HeatmapOptions()), "viridis"));
    }
}
