using System.Xml.Linq;
using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Tests.Web;
using AttnScope.Views.Analyses;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Tests.Views;

/// <summary>
/// The views of analyses, checked against the known values of <see cref="AnalysisCaptures"/>: colours under
/// tokens, cells and bars, titles that name the method and the explained output, legends, escaping, and the error
/// for a missing analysis. With ATTNSCOPE_PREVIEW_DIR set, the figures are also written there to look at.
/// </summary>
public class AnalysisViewTests
{
    private static readonly AnalysisRenderer Renderer = new();
    private const int N = 12, Layers = 3, Heads = 4, Peak = 3;
    private static readonly AttentionCapture Capture = AnalysisCaptures.Encoder(N, Layers, Heads, Peak);

    private static SKBitmap Png(IFigureLayout layout, string map = "viridis", string? preview = null)
    {
        var png = Renderer.Views.RenderPng(layout, map);
        if (preview is not null && Environment.GetEnvironmentVariable("ATTNSCOPE_PREVIEW_DIR") is { Length: > 0 } dir)
            File.WriteAllBytes(Path.Combine(dir, $"analysis-{preview}.png"), png);
        return SKBitmap.Decode(png);
    }

    private static XDocument Svg(IFigureLayout layout, string map = "viridis") => XDocument.Parse(Renderer.Views.RenderSvg(layout, map));

    private static List<string> Texts(XDocument svg) => svg.Descendants(ViewerPage.Svg + "text").Select(t => t.Value).ToList();

    private static void AssertColor(SKColor expected, SKColor got, string where) =>
        Assert.True(expected.Red == got.Red && expected.Green == got.Green && expected.Blue == got.Blue, $"{where}: expected {expected}, got {got}");

    [Fact]
    public void SaliencyTextColoursEachTokenByItsValue()
    {
        var layout = (SaliencyTextLayout)Renderer.Layout(Capture, AnalysisView.Saliency, new HeatmapOptions());
        var map = ColorMap.Get("viridis");
        using var bmp = Png(layout, preview: "saliency");
        SaliencyBox Box(int i) => layout.Boxes.Single(b => b.Piece.Index == i);
        // a box's inner padding (left edge, middle) carries its background, the text is further in
        SKColor Under(int i) => bmp.GetPixel((int)Box(i).Box.Left + 1, (int)Box(i).Box.MidY);
        // the peak is the top of the scale, the token after it (value 0) the bottom
        AssertColor(map.Top, Under(Peak), "peak token");
        AssertColor(map.Bottom, Under(Peak + 1), "zero token");
        Assert.NotEqual(Under(Peak), Under(Peak + 1));
        // a middle value gets its own colour of the map
        float max = Enumerable.Range(1, N - 2).Max(i => AnalysisCaptures.SaliencyValue(i, N, Peak));
        AssertColor(map.Map(AnalysisCaptures.SaliencyValue(6, N, Peak) / max), Under(6), "token 6");
        // special tokens are dimmed: lighter than the colour of their value
        var cls = Under(0);
        var plain = map.Map(AnalysisCaptures.SaliencyValue(0, N, Peak) / max);
        Assert.True(cls.Red + cls.Green + cls.Blue > plain.Red + plain.Green + plain.Blue + 200, $"[CLS] not dimmed: {cls}");
        // a colour bar: its top pixel row is the map's top colour
        float h = (int)layout.ColorBar.Height;
        AssertColor(map.Map((h - 0.5f) / h), bmp.GetPixel((int)layout.ColorBar.MidX, (int)layout.ColorBar.Top), "colour bar top");
    }

    [Fact]
    public void WordPiecesJoinTheirWordAndWordsAreSpaced()
    {
        var tokens = SyntheticCaptures.Tokens(6);
        tokens[1] = tokens[1] with { Text = "play", Start = 0, End = 4 };
        tokens[2] = tokens[2] with { Text = "##ing", Start = 4, End = 7 };
        tokens[3] = tokens[3] with { Text = "cats", Start = 8, End = 12 };
        tokens[4] = tokens[4] with { Text = ".", Start = 12, End = 13 };
        var cap = SyntheticCaptures.Make(tokens, SyntheticCaptures.RandomAttention(1, 1, 6, 3));
        cap = AnalysisCaptures.With(cap, AnalysisCaptures.CosineSaliency(cap, 1));
        var layout = (SaliencyTextLayout)Renderer.Layout(cap, AnalysisView.Saliency, new HeatmapOptions());
        var b = layout.Boxes.OrderBy(x => x.Piece.Index).ToList();
        Assert.Equal(["[CLS]", "play", "ing", "cats", ".", "[SEP]"], b.Select(x => x.Piece.Text));
        Assert.Equal(b[1].Box.Right, b[2].Box.Left); // ##ing touches play
        Assert.Equal(b[3].Box.Right, b[4].Box.Left); // "." touches cats (no space in the text)
        Assert.True(b[3].Box.Left - b[2].Box.Right >= 4, "words are spaced");
        Assert.True(b[1].Box.Left - b[0].Box.Right >= 4, "special tokens do not join");
        // in the synthetic capture, "##ed" (token 7) is drawn as "ed" right after "a"
        var c = ((SaliencyTextLayout)Renderer.Layout(Capture, AnalysisView.Saliency, new HeatmapOptions())).Boxes;
        Assert.Equal("ed", c[7].Piece.Text);
        Assert.Equal(c[6].Box.Right, c[7].Box.Left);
    }

    [Theory]
    [InlineData(200, AnalysisView.Saliency)]
    [InlineData(200, AnalysisView.SaliencyBars)]
    internal void LongInputsWrapWithoutOverlapInsideTheImage(int n, AnalysisView view)
    {
        var cap = SyntheticCaptures.Realistic(n, layers: 1, heads: 1);
        cap = AnalysisCaptures.With(cap, AnalysisCaptures.CosineSaliency(cap, 5));
        var layout = Renderer.Layout(cap, view, new HeatmapOptions());
        using var _ = Png(layout, preview: $"{view}-{n}".ToLowerInvariant());
        var boxes = layout switch
        {
            SaliencyTextLayout t => t.Boxes.Select(b => b.Box).ToList(),
            SaliencyBarsLayout b => b.Bars.Select(x => SKRect.Create(0, x.Bar.Top, 1, x.Bar.Height)).ToList(),
            _ => throw new InvalidOperationException(),
        };
        Assert.Equal(n, boxes.Count);
        for (int i = 0; i < boxes.Count; i++)
        {
            Assert.True(boxes[i].Left >= 0 && boxes[i].Right <= layout.Width && boxes[i].Bottom <= layout.Height, $"box {i} outside");
            for (int j = i + 1; j < boxes.Count; j++)
                Assert.False(LabelLayout.Intersects(boxes[i], boxes[j]), $"boxes {i} and {j} overlap");
        }
        if (layout is SaliencyTextLayout text) Assert.True(text.Width < 1300, $"text wraps ({text.Width} px wide)");
    }

    [Fact]
    public void SaliencyTitleNamesTheCosineTarget()
    {
        var texts = Texts(Svg(Renderer.Layout(Capture, AnalysisView.Saliency, new HeatmapOptions())));
        Assert.Contains(texts, t => t.Contains("cosine similarity") && t.Contains("“A cat rested.”") && t.Contains("0.8125"));
        Assert.Contains(texts, t => t.Contains("gradient-weighted relevance"));
    }

    private static AttentionCapture Translation()
    {
        var cap = DecodingStepCaptures.Translation();
        return AnalysisCaptures.With(cap, AnalysisCaptures.LogProbSaliency(cap, peak: 1, targetPeak: 2, token: "Hund", logProb: -0.25f));
    }

    [Fact]
    public void TranslationSaliencyShowsSourceAndTargetPrefixAndTheTargetToken()
    {
        var cap = Translation();
        var layout = (SaliencyTextLayout)Renderer.Layout(cap, AnalysisView.Saliency, new HeatmapOptions());
        using var _ = Png(layout, preview: "saliency-translation");
        Assert.Equal(cap.Tokens.Count, layout.Boxes.Count(b => b.Section == 0));
        Assert.Equal(cap.TargetTokens.Count, layout.Boxes.Count(b => b.Section == 1));
        Assert.True(layout.Boxes.Where(b => b.Section == 1).Min(b => b.Box.Top) > layout.Boxes.Where(b => b.Section == 0).Max(b => b.Box.Bottom));
        var texts = Texts(Svg(layout));
        Assert.Contains("source", texts);
        Assert.Contains("target prefix", texts);
        Assert.Contains(texts, t => t.Contains("log P(“Hund” at target position 4) = −0.25"));
        // the markup-looking piece is text, its "▁" word marker dropped
        Assert.Contains("<b>schläft</b>", texts);
        var bars = (SaliencyBarsLayout)Renderer.Layout(cap, AnalysisView.SaliencyBars, new HeatmapOptions());
        using var __ = Png(bars, preview: "saliency-bars-translation");
        Assert.Equal(cap.Tokens.Count + cap.TargetTokens.Count, bars.Bars.Count);
    }

    [Fact]
    public void SaliencyBarsAreAsLongAsTheirValuesAndPrintThem()
    {
        var layout = (SaliencyBarsLayout)Renderer.Layout(Capture, AnalysisView.SaliencyBars, new HeatmapOptions());
        using var bmp = Png(layout, preview: "saliency-bars");
        Assert.Equal(N, layout.Bars.Count);
        var peak = layout.Bars.Single(b => b.Piece.Index == Peak);
        Assert.Equal(0, layout.Bars.Single(b => b.Piece.Index == Peak + 1).Bar.Width);
        foreach (var b in layout.Bars)
            Assert.InRange(b.Bar.Width, b.Piece.Value / 1f * peak.Bar.Width - 1, b.Piece.Value / 1f * peak.Bar.Width + 1);
        var texts = Texts(Svg(layout));
        Assert.Contains("1", texts);
        Assert.Contains(ColorBarTicks.Format(AnalysisCaptures.SaliencyValue(6, N, Peak)), texts);
        Assert.Equal("##ed", Capture.Tokens[7].Text);
        Assert.Contains("##ed", texts); // bars label the pieces as the model saw them
        // the longest bar is filled with the top colour
        AssertColor(ColorMap.Get("viridis").Top, bmp.GetPixel((int)peak.Bar.MidX, (int)peak.Bar.MidY), "peak bar");
    }

    [Fact]
    public void RoleMapColoursHeadsByRoleWithLegendAndScores()
    {
        var layout = (RoleMapLayout)Renderer.Layout(Capture, AnalysisView.Roles, new HeatmapOptions());
        using var bmp = Png(layout, preview: "roles");
        Assert.Equal(Layers * Heads, layout.Cells.Count);
        foreach (var c in layout.Cells)
        {
            Assert.Equal(AnalysisCaptures.Role(c.Layer, c.Head, Heads), c.Role);
            AssertColor(RoleColors.Color(c.Role, RoleColors.Known), bmp.GetPixel((int)c.Rect.Left + 1, (int)c.Rect.Top + 1), $"cell {c.Layer},{c.Head}");
        }
        var texts = Texts(Svg(layout));
        // every role in the legend, with its statistic; the score of each head's role printed in its cell
        foreach (var role in RoleColors.Known) Assert.Contains(texts, t => t.StartsWith(role + " ("));
        Assert.Contains(texts, t => t.StartsWith("previous-token (") && t.EndsWith("previous_token"));
        var c0 = layout.Cells.Single(c => c.Layer == 0 && c.Head == 0); // previous-token
        Assert.Equal(RoleMapLayout.Score(AnalysisCaptures.Stat(0, 0, Array.IndexOf(AnalysisCaptures.StatNames, "previous_token"))), c0.Score);
        Assert.Contains(c0.Score!, texts);
    }

    [Fact]
    public void RoleColoursAreClearlyDistinct()
    {
        var colors = RoleColors.Known.Select(r => RoleColors.Color(r, RoleColors.Known)).ToList();
        for (int i = 0; i < colors.Count; i++)
            for (int j = i + 1; j < colors.Count; j++)
            {
                var (a, b) = (colors[i], colors[j]);
                double d = Math.Sqrt(Math.Pow(a.Red - b.Red, 2) + Math.Pow(a.Green - b.Green, 2) + Math.Pow(a.Blue - b.Blue, 2));
                Assert.True(d > 60, $"{RoleColors.Known[i]} and {RoleColors.Known[j]} are too alike ({d:0})");
            }
        // an unknown role gets a colour of its own, not one of the eight
        Assert.DoesNotContain(RoleColors.Color("duplicate-token", ["duplicate-token"]), colors);
    }

    [Fact]
    public void RolloutHeatmapShowsTheChosenLayerWithItsMethodInTheTitle()
    {
        var map = ColorMap.Get("viridis");
        var last = (HeatmapLayout)Renderer.Layout(Capture, AnalysisView.Rollout, new HeatmapOptions());
        using var bmp = Png(last, preview: "rollout");
        Assert.Contains("rollout after layer 2 (layers 0–2)", last.Title);
        Assert.Contains("mean of heads", last.Title);
        Assert.Contains("discard 0.5", last.Title);
        // step 2 of 3: keep 0.25 on the diagonal, 0.75 on [CLS]; [CLS] → [CLS] is 1, the top of the scale
        float max = AnalysisCaptures.RolloutValue(2, Layers, 0, 0);
        Assert.Equal(1f, max);
        AssertColor(map.Top, bmp.GetPixel((int)last.CellRect(0, 0).MidX, (int)last.CellRect(0, 0).MidY), "[CLS] → [CLS]");
        AssertColor(map.Map(0.75f), bmp.GetPixel((int)last.CellRect(5, 0).MidX, (int)last.CellRect(5, 0).MidY), "row 5 → [CLS]");
        AssertColor(map.Map(AnalysisCaptures.RolloutValue(2, Layers, 5, 5) / max), bmp.GetPixel((int)last.CellRect(5, 5).MidX, (int)last.CellRect(5, 5).MidY), "diagonal");
        var first = (HeatmapLayout)Renderer.Layout(Capture, AnalysisView.Rollout, new HeatmapOptions(), layer: 0);
        Assert.Equal(AnalysisCaptures.RolloutValue(0, Layers, 5, 5), first.Matrix[5, 5]);
        var e = Assert.Throws<AttnScopeException>(() => Renderer.Layout(Capture, AnalysisView.Rollout, new HeatmapOptions(), layer: 3));
        Assert.Contains("layers 0–2", e.Message);
    }

    [Fact]
    public void RolloutAnimatesOverItsLayersOnOneScale()
    {
        var frames = Renderer.RolloutFrames(Capture, new HeatmapOptions());
        try
        {
            Assert.Equal(["after layer 0", "after layer 1", "after layer 2"], frames.Select(f => f.Caption));
            // one scale: the diagonal (weight falling over layers) gets darker from frame to frame
            var layout = (HeatmapLayout)Renderer.Layout(Capture, AnalysisView.Rollout, new HeatmapOptions());
            var r = layout.CellRect(5, 5);
            var lum = frames.Select(f => { var c = f.Image.GetPixel((int)r.MidX, (int)r.MidY); return c.Red + c.Green + c.Blue; }).ToList();
            Assert.True(lum[0] > lum[1] && lum[1] > lum[2], string.Join(", ", lum));
            if (Environment.GetEnvironmentVariable("ATTNSCOPE_PREVIEW_DIR") is { Length: > 0 } dir)
            {
                var composed = AttnScope.Views.Animation.AnimationWriter.Compose(frames);
                File.WriteAllBytes(Path.Combine(dir, "analysis-rollout-frame1.png"), Renderer.Views.EncodePng(composed[1]));
                foreach (var c in composed) c.Dispose();
            }
        }
        finally
        {
            foreach (var f in frames) f.Image.Dispose();
        }
        var gif = Renderer.RenderRolloutAnimation(Capture, new HeatmapOptions());
        var decoded = AnimationWriterTests.DecodeFrames(gif, out _);
        Assert.Equal(Layers, decoded.Length);
        foreach (var d in decoded) d.Dispose();
    }

    [Fact]
    public void FlowHeatmapShowsTheFlowWithItsMethod()
    {
        var layout = (HeatmapLayout)Renderer.Layout(Capture, AnalysisView.Flow, new HeatmapOptions());
        using var bmp = Png(layout, preview: "flow");
        Assert.Contains("exact attention flow from layer 2 (layers 0–2)", layout.Title);
                AssertColor(ColorMap.Get("viridis").Top, bmp.GetPixel((int)layout.CellRect(4, 5).MidX, (int)layout.CellRect(4, 5).MidY), "flow 4 → 5");
        AssertColor(ColorMap.Get("viridis").Bottom, bmp.GetPixel((int)layout.CellRect(4, 7).MidX, (int)layout.CellRect(4, 7).MidY), "flow 4 → 7");
    }

    [Fact]
    public void NormViewsDrawTheNormsOfOneHeadAndOfAllHeads()
    {
        var one = (HeatmapLayout)Renderer.Layout(Capture, AnalysisView.Norm, new HeatmapOptions { Layer = 1, Heads = HeadSelection.Single(2) });
        using var bmp = Png(one, preview: "norm");
        var s = Capture.Stack("encoder");
        Assert.Equal(AnalysisCaptures.NormValue(s, 1, 2, 4, 7), one.Matrix[4, 7]);
        Assert.True(one.ColorMax > 1, "norms above 1 set the scale");
        Assert.Contains("norm-based attention", one.Title);
        var grid = (GridLayout)Renderer.Layout(Capture, AnalysisView.NormHeads, new HeatmapOptions { Layer = 1 });
        using var _ = Png(grid, preview: "norm-heads");
        Assert.Equal(Heads, grid.Panels.Count);
        Assert.Equal(AnalysisCaptures.NormValue(s, 1, 3, 2, 9), grid.Panels[3].Matrix[2, 9]);
        Assert.Contains("norm-based attention", grid.Title);
    }

    [Theory]
    [InlineData(AnalysisView.Saliency)]
    [InlineData(AnalysisView.SaliencyBars)]
    [InlineData(AnalysisView.Roles)]
    [InlineData(AnalysisView.Rollout)]
    internal void TokenAndInfoTextIsEscapedTextInSvg(AnalysisView view)
    {
        const string evil = "<b>&\"x\"</b>";
        var tokens = SyntheticCaptures.Tokens(8);
        tokens[3] = tokens[3] with { Text = evil };
        var cap = SyntheticCaptures.Make(tokens, SyntheticCaptures.RandomAttention(2, 2, 8, 5), model: "m<i>");
        cap = AnalysisCaptures.With(cap, AnalysisCaptures.For(cap, "encoder").Concat(AnalysisCaptures.CosineSaliency(cap, 3, compare: "</text><script>")));
        var svg = Renderer.Views.RenderSvg(Renderer.Layout(cap, view, new HeatmapOptions()), "viridis");
        Assert.DoesNotContain("<b>", svg);
        Assert.DoesNotContain("<script>", svg);
        var texts = Texts(XDocument.Parse(svg));
        Assert.Contains(texts, t => t.Contains("m<i>"));
        if (view != AnalysisView.Roles) Assert.Contains(texts, t => t.Contains(evil));
        if (view is AnalysisView.Saliency or AnalysisView.SaliencyBars) Assert.Contains(texts, t => t.Contains("“</text><script>”"));
    }

    [Theory]
    [InlineData(AnalysisView.Rollout, "attention rollout of the encoder stack", "--rollout")]
    [InlineData(AnalysisView.Flow, "attention flow of the encoder stack", "--flow")]
    [InlineData(AnalysisView.Saliency, "token saliency", "--relevance --compare TEXT")]
    [InlineData(AnalysisView.SaliencyBars, "token saliency", "--relevance")]
    [InlineData(AnalysisView.Roles, "head statistics of the encoder stack", "--heads")]
    [InlineData(AnalysisView.Norm, "norm-based attention of the encoder stack", "--norm")]
    [InlineData(AnalysisView.NormHeads, "norm-based attention of the encoder stack", "--norm")]
    internal void AMissingAnalysisSaysToRunAnalyze(AnalysisView view, string what, string flags)
    {
        var e = Assert.Throws<AttnScopeException>(() => Renderer.Layout(SyntheticCaptures.Realistic(6), view, new HeatmapOptions()));
        Assert.Contains($"the capture has no {what}", e.Message);
        Assert.Contains($"run 'attnscope analyze CAPTURE {flags}", e.Message);
        Assert.Contains("holds no analyses", e.Message);
    }

    [Fact]
    public void AnalysesOfTheCrossStackUseTargetAndSourceTokens()
    {
        var cap = DecodingStepCaptures.Translation();
        cap = AnalysisCaptures.With(cap, AnalysisCaptures.For(cap, "cross"));
        var layout = (HeatmapLayout)Renderer.Layout(cap, AnalysisView.Flow, new HeatmapOptions { Stack = "cross" });
        Assert.Equal(cap.TargetTokens, layout.Matrix.RowTokens);
        Assert.Equal(cap.Tokens, layout.Matrix.ColumnTokens);
        Assert.Equal("target (query)", layout.RowAxisTitle);
        var e = Assert.Throws<AttnScopeException>(() => Renderer.Layout(cap, AnalysisView.Flow, new HeatmapOptions()));
        Assert.Contains("encoder stack", e.Message);
        Assert.Contains("cross.flow", e.Message);
    }
}
