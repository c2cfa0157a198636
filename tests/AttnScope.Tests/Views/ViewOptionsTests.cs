using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Tests.Views;

/// <summary>Token window, sentence-pair filter, hidden special tokens, colour scales and the cross stack.</summary>
public class ViewOptionsTests
{
    private static readonly ViewRenderer Renderer = new();

    [Fact]
    public void HiddenSpecialTokensAreDroppedNotRenormalisedAndTheTitleSaysSo()
    {
        var cap = SyntheticCaptures.Realistic(12, layers: 1, heads: 2);
        var full = HeatmapMatrix.From(cap, new HeatmapOptions());
        var o = new HeatmapOptions { HideSpecial = true };
        var m = HeatmapMatrix.From(cap, o);
        Assert.Equal(10, m.Rows);
        Assert.Equal(10, m.Cols);
        Assert.DoesNotContain(m.RowTokens, t => t.IsSpecial);
        // the values are the model's own: row 0 of the filtered matrix is row 1 (first word) without [CLS] and [SEP]
        for (int c = 0; c < 10; c++) Assert.Equal(full[1, c + 1], m[0, c]);
        Assert.True(m.Values.AsSpan(0, 10).ToArray().Sum() < 0.999f, "rows are not renormalised");
        foreach (var view in new[] { ViewKind.Head, ViewKind.Heads, ViewKind.Layers, ViewKind.Model })
        {
            var layout = Renderer.Layout(cap, view, o);
            var title = layout is HeatmapLayout h ? h.Title : ((GridLayout)layout).Title;
            Assert.Contains("special tokens hidden, not renormalised", title);
        }
    }

    [Theory]
    [InlineData("AA", Segment.A, Segment.A, "A→A")]
    [InlineData("BB", Segment.B, Segment.B, "B→B")]
    [InlineData("a->b", Segment.A, Segment.B, "A→B")]
    [InlineData("B→A", Segment.B, Segment.A, "B→A")]
    public void PairFilterKeepsQueriesAndKeysOfTheirSentences(string text, Segment qs, Segment ks, string shown)
    {
        var cap = SyntheticCaptures.Realistic(14, layers: 1, heads: 1, pair: true);
        var o = new HeatmapOptions { Pairs = TokenSelection.ParsePairs(text) };
        var m = HeatmapMatrix.From(cap, o);
        Assert.All(m.RowTokens, t => Assert.Equal(qs, t.Segment));
        Assert.All(m.ColumnTokens, t => Assert.Equal(ks, t.Segment));
        Assert.Equal(cap.Tokens.Count(t => t.Segment == qs), m.Rows);
        Assert.Equal(cap.Tokens.Count(t => t.Segment == ks), m.Cols);
        var layout = (HeatmapLayout)Renderer.Layout(cap, ViewKind.Head, o);
        Assert.EndsWith(shown, layout.Title);
        // the values are picked, not recomputed
        int q0 = cap.Tokens.ToList().FindIndex(t => t.Segment == qs), k0 = cap.Tokens.ToList().FindIndex(t => t.Segment == ks);
        Assert.Equal(cap.Stack("encoder").Attention[0, 0, q0, k0], m[0, 0]);
    }

    [Fact]
    public void PairFilterOnASingleSentenceIsAUserError()
    {
        var e = Assert.Throws<AttnScopeException>(() => HeatmapMatrix.From(SyntheticCaptures.Realistic(6), new HeatmapOptions { Pairs = PairFilter.AB }));
        Assert.Contains("sentence pair", e.Message);
        Assert.Contains("AA, BB, AB or BA", Assert.Throws<AttnScopeException>(() => TokenSelection.ParsePairs("AC")).Message);
    }

    [Fact]
    public void TokenWindowSelectsPositionsOnBothAxes()
    {
        var cap = SyntheticCaptures.Realistic(300, layers: 1, heads: 1);
        var o = new HeatmapOptions { Window = TokenWindow.Parse("100:200") };
        var m = HeatmapMatrix.From(cap, o);
        Assert.Equal((100, 100), (m.Rows, m.Cols));
        Assert.Same(cap.Tokens[100], m.RowTokens[0]);
        Assert.Same(cap.Tokens[199], m.ColumnTokens[^1]);
        Assert.Equal(cap.Stack("encoder").Attention[0, 0, 150, 120], m[50, 20]);
        var layout = (HeatmapLayout)Renderer.Layout(cap, ViewKind.Head, o);
        Assert.Contains("tokens 100–199", layout.Title);
        Assert.Equal(new TokenWindow(290, int.MaxValue), TokenWindow.Parse("290:"));
        Assert.Equal(10, HeatmapMatrix.From(cap, new HeatmapOptions { Window = TokenWindow.Parse("290:") }).Rows);
        Assert.Equal(5, HeatmapMatrix.From(cap, new HeatmapOptions { Window = TokenWindow.Parse(":5") }).Rows);
        foreach (var bad in new[] { "200:100", "5", "a:b", "-1:4", "3:3" })
            Assert.Contains("START:END", Assert.Throws<AttnScopeException>(() => TokenWindow.Parse(bad)).Message);
        Assert.Contains("after the last token", Assert.Throws<AttnScopeException>(() =>
            HeatmapMatrix.From(cap, new HeatmapOptions { Window = TokenWindow.Parse("400:500") })).Message);
    }

    [Fact]
    public void LogScaleMapsDecadesAndTicksAtPowersOfTen()
    {
        var scale = ColorScale.For(0, 1f, log: true, diverging: false);
        Assert.Equal(1f, scale.Normalize(1f));
        Assert.Equal(0f, scale.Normalize(1e-3f), 4);
        Assert.Equal(0f, scale.Normalize(0f));
        Assert.Equal(2f / 3, scale.Normalize(0.1f), 4);
        Assert.Equal([1e-3f, 1e-2f, 0.1f, 1f], scale.Ticks(300, 14).Select(t => MathF.Round(t, 6)).ToArray());
        Assert.Contains("log scale", scale.Note);
        Assert.Throws<AttnScopeException>(() => ColorScale.For(-1, 1, log: true, diverging: false));

        // in a figure: a cell of 0.01 of the maximum gets the colour 1/3 of the way up
        var t = new FloatTensor([1, 1, 3, 3]);
        t[0, 0, 0, 0] = 1f; t[0, 0, 1, 1] = 0.01f;
        var cap = SyntheticCaptures.Make(SyntheticCaptures.Tokens(3), t);
        var layout = (HeatmapLayout)Renderer.Layout(cap, ViewKind.Head, new HeatmapOptions { LogScale = true });
        using var bmp = SKBitmap.Decode(Renderer.RenderPng(layout, "viridis"));
        var map = ColorMap.Get("viridis");
        var r = layout.CellRect(1, 1);
        Assert.Equal(map.Map(1f / 3), bmp.GetPixel((int)r.MidX, (int)r.MidY));
        Assert.Contains(layout.Notes, line => line.Any(p => p.Text.Contains("log scale")));
    }

    [Fact]
    public void SignedScoresUseASymmetricDivergingScale()
    {
        var cap = ViewTestCaptures.WithScores(5, 1, 2);
        var o = new HeatmapOptions { Values = ValueKind.Scores, ColorMap = "rdbu", Heads = HeadSelection.Single(1) };
        var layout = (HeatmapLayout)Renderer.Layout(cap, ViewKind.Head, o);
        Assert.Contains("pre-softmax scores", layout.Title);
        Assert.Contains("pre-softmax scores", ((GridLayout)Renderer.Layout(cap, ViewKind.Layers, o)).Title);
        Assert.Equal(-3f, layout.ColorScale.Min);
        Assert.Equal(3f, layout.ColorScale.Max);
        Assert.Equal(-3f, layout.Ticks[0].Value);
        Assert.Contains(layout.Ticks, t => t.Value == 0f);
        var map = ColorMap.Get("rdbu");
        Assert.True(map.IsDiverging);
        using var bmp = SKBitmap.Decode(Renderer.RenderPng(layout, "rdbu"));
        var svg = new SvgCells(Renderer.RenderSvg(layout, "rdbu"));
        for (int q = 0; q < 5; q++)
        {
            int k = ViewTestCaptures.Target(q, 5, 0, 1);
            foreach (var (col, expected) in new[] { (k, map.Top), ((k + 1) % 5, map.Bottom), ((k + 2) % 5, map.Map(0.5f)) })
            {
                var r = layout.CellRect(q, col);
                Assert.Equal(expected, bmp.GetPixel((int)r.MidX, (int)r.MidY));
                Assert.Equal(expected, svg.At(r.MidX, r.MidY));
            }
        }
        // the middle of the diverging map is near white: zero is neutral
        var mid = map.Map(0.5f);
        Assert.True(mid.Red > 230 && mid.Green > 230 && mid.Blue > 230, mid.ToString());
        Assert.Contains("--qkv", Assert.Throws<AttnScopeException>(() =>
            Renderer.Layout(SyntheticCaptures.Realistic(5), ViewKind.Head, o)).Message);
    }

    [Fact]
    public void PerPanelRangeScalesEachPanelToItsOwnMaximum()
    {
        // head h of the layer has its one-hot cells at value 1 / (h + 1)
        var cap = ViewTestCaptures.OneHot(5, 1, 3);
        var t = cap.Stack("encoder").Attention;
        for (int h = 0; h < 3; h++)
            for (int q = 0; q < 5; q++) t[0, h, q, ViewTestCaptures.Target(q, 5, 0, h)] = 1f / (h + 1);
        var map = ColorMap.Get("viridis");
        var shared = (GridLayout)Renderer.Layout(cap, ViewKind.Heads, new HeatmapOptions());
        var perPanel = (GridLayout)Renderer.Layout(cap, ViewKind.Heads, new HeatmapOptions { Range = ColorRange.PerPanel });
        using var sharedBmp = SKBitmap.Decode(Renderer.RenderPng(shared, "viridis"));
        using var perBmp = SKBitmap.Decode(Renderer.RenderPng(perPanel, "viridis"));
        for (int h = 0; h < 3; h++)
        {
            var r = shared.Panels[h].CellRect(0, ViewTestCaptures.Target(0, 5, 0, h));
            Assert.Equal(map.Map(1f / (h + 1)), sharedBmp.GetPixel((int)r.MidX, (int)r.MidY));
            r = perPanel.Panels[h].CellRect(0, ViewTestCaptures.Target(0, 5, 0, h));
            Assert.Equal(map.Top, perBmp.GetPixel((int)r.MidX, (int)r.MidY));
            Assert.Contains("(max ", perPanel.Panels[h].Title);
        }
        Assert.Equal("panel max", perPanel.Ticks[^1].Text);
        Assert.Contains(perPanel.Notes, line => line.Any(p => p.Text.Contains("own range")));
    }

    [Fact]
    public void CrossStackAxesSayTargetQueriesAndSourceKeys()
    {
        var src = SyntheticCaptures.Tokens(6);
        var tgt = SyntheticCaptures.Tokens(4);
        var cross = new FloatTensor([2, 2, 4, 6]);
        for (int l = 0; l < 2; l++) for (int h = 0; h < 2; h++) for (int q = 0; q < 4; q++) cross[l, h, q, q + 1] = 1;
        var enc = new AttentionStack(AttentionStack.Encoder, ViewTestCaptures.OneHot(6, 2, 2).Stack("encoder").Attention);
        var dec = new AttentionStack(AttentionStack.Decoder, ViewTestCaptures.OneHot(4, 2, 2).Stack("encoder").Attention);
        var cap = new AttentionCapture(new CaptureMetadata { ModelId = "t5" }, src,
            [enc, dec, new AttentionStack(AttentionStack.Cross, cross)], tgt);
        foreach (var view in new[] { ViewKind.Heads, ViewKind.Layers })
        {
            var g = (GridLayout)Renderer.Layout(cap, view, new HeatmapOptions { Stack = "cross" });
            var texts = g.Texts.Select(t => t.Text).ToList();
            Assert.Contains("target (query)", texts);
            Assert.Contains("source (key)", texts);
            Assert.All(g.Panels, p => Assert.Equal((4 * p.Cell, 6 * p.Cell), ((int)p.Plot.Height, (int)p.Plot.Width)));
        }
        var model = (GridLayout)Renderer.Layout(cap, ViewKind.Model, new HeatmapOptions { Stack = "cross" });
        Assert.Contains(model.Notes, l => l.Any(p => p.Text.Contains("target (query) rows × source (key) columns")));
        Assert.Contains("decoder", ((GridLayout)Renderer.Layout(cap, ViewKind.Heads, new HeatmapOptions { Stack = "decoder" })).Title);
        Assert.Contains("no 'cross' stack", Assert.Throws<AttnScopeException>(() =>
            Renderer.Layout(SyntheticCaptures.Realistic(5), ViewKind.Model, new HeatmapOptions { Stack = "cross" })).Message);
    }

    [Theory]
    [InlineData(ViewKind.Heads, "layer 9 is out of range")]
    [InlineData(ViewKind.Head, "layer 9 is out of range")]
    internal void OutOfRangeLayerIsAUserError(ViewKind view, string expected)
    {
        var e = Assert.Throws<AttnScopeException>(() => Renderer.Layout(ViewTestCaptures.OneHot(4, 2, 2), view, new HeatmapOptions { Layer = 9 }));
        Assert.Contains(expected, e.Message);
        var h = Assert.Throws<AttnScopeException>(() => Renderer.Layout(ViewTestCaptures.OneHot(4, 2, 2), ViewKind.Layers, new HeatmapOptions { Heads = HeadSelection.Single(5) }));
        Assert.Contains("head 5 is out of range", h.Message);
        Assert.Contains("unknown view 'grid'", Assert.Throws<AttnScopeException>(() => ViewRenderer.ParseView("grid")).Message);
    }
}
