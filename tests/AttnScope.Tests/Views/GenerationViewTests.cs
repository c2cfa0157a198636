using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Views.Analyses;
using AttnScope.Views.Animation;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Tests.Views;

/// <summary>
/// Static views of a decoder language model's generation: one frame per generation step with the rows (and key
/// columns) computed so far, heads named with their shared key/value head, and the attention-sink view.
/// </summary>
public class GenerationViewTests
{
    private static readonly ViewRenderer Renderer = new();
    private static readonly HeatmapOptions Decoder = new() { Stack = AttentionStack.Decoder, Layer = 1, Heads = HeadSelection.Single(0) };

    [Fact]
    public void StepFramesRevealTheRowsComputedSoFarUnderTheirCaptions()
    {
        var cap = GenerationCaptures.Gpt2Like();
        var g = GenerationInfo.Of(cap)!;
        var frames = Renderer.StepFrames(cap, ViewKind.Head, Decoder);
        try
        {
            Assert.Equal(g.Steps, frames.Count);
            for (int t = 0; t < g.Steps; t++)
                Assert.Equal($"{g.Caption(cap.Tokens, t)} ({t + 1}/{g.Steps})", frames[t].Caption);
            Assert.StartsWith("step 1: produced 'Ġthe'", frames[0].Caption);
            Assert.StartsWith("step 5: read '.', generation stopped", frames[^1].Caption);
            Assert.All(frames, f => Assert.Equal((frames[0].Image.Width, frames[0].Image.Height), (f.Image.Width, f.Image.Height)));

            // the geometry of every frame is the full figure's; a cell is white exactly when its step has not reached it
            var full = (HeatmapLayout)Renderer.Layout(cap, ViewKind.Head, Decoder);
            int n = cap.Tokens.Count;
            for (int t = 0; t < g.Steps; t++)
            {
                int shown = g.Row(t) + 1;
                var img = frames[t].Image;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++)
                    {
                        var r = full.CellRect(i, j);
                        bool white = img.GetPixel((int)r.MidX, (int)r.MidY) == SKColors.White;
                        Assert.True(white == (i >= shown || j >= shown), $"step {t + 1}, cell ({i}, {j})");
                    }
            }
        }
        finally
        {
            foreach (var f in frames) f.Image.Dispose();
        }
    }

    [Fact]
    public void RevealedFramesLabelOnlyTheTokensSoFar()
    {
        var cap = GenerationCaptures.Gpt2Like();
        var layout = (HeatmapLayout)Renderer.Layout(cap, ViewKind.Head, Decoder with { RevealRows = 5, RevealColumns = 5 });
        Assert.Equal(cap.Tokens.Take(5).Select(t => TokenText.Printable(t.Text)), layout.RowLabels.Where(l => l.Text != "").Select(l => l.Text));
        Assert.Equal(cap.Tokens.Take(5).Select(t => TokenText.Printable(t.Text)), layout.ColumnLabels.Where(l => l.Text != "").Select(l => l.Text));
        var svg = Renderer.RenderSvg(layout, "viridis");
        Assert.DoesNotContain("Ġmat", svg); // token 5, not generated yet
        Assert.Contains("Ġthe", svg);
    }

    [Fact]
    public void StepsNeedAGenerationAndAHeadOrHeadsView()
    {
        Assert.Contains("records no generation", Assert.Throws<AttnScopeException>(() => Renderer.StepFrames(GenerationCaptures.Gpt2Like(generation: false), ViewKind.Head, Decoder)).Message);
        Assert.Contains("head or heads view", Assert.Throws<AttnScopeException>(() => Renderer.StepFrames(GenerationCaptures.Gpt2Like(), ViewKind.Model, Decoder)).Message);
    }

    [Fact]
    public void HeadsViewStepsRevealEveryPanel()
    {
        var cap = GenerationCaptures.Gpt2Like(heads: 4, kvHeads: 2);
        var grid = (GridLayout)Renderer.Layout(cap, ViewKind.Heads, Decoder with { RevealRows = 4, RevealColumns = 4 });
        using var bmp = Renderer.RenderBitmap(grid, "viridis");
        foreach (var p in grid.Panels)
        {
            Assert.NotEqual(SKColors.White, bmp.GetPixel((int)p.CellRect(3, 0).MidX, (int)p.CellRect(3, 0).MidY));
            Assert.Equal(SKColors.White, bmp.GetPixel((int)p.CellRect(4, 0).MidX, (int)p.CellRect(4, 0).MidY));
            Assert.Equal(SKColors.White, bmp.GetPixel((int)p.CellRect(7, 6).MidX, (int)p.CellRect(7, 6).MidY));
        }
        var frames = Renderer.StepFrames(cap, ViewKind.Heads, Decoder);
        Assert.Equal(5, frames.Count);
        foreach (var f in frames) f.Image.Dispose();
    }

    [Fact]
    public void GroupedQueryHeadsNameTheirKeyValueHead()
    {
        var cap = GenerationCaptures.Gpt2Like(heads: 8, kvHeads: 2);
        var head = (HeatmapLayout)Renderer.Layout(cap, ViewKind.Head, Decoder with { Heads = HeadSelection.Single(5) });
        Assert.Contains("· head 5 (kv 1)", head.Title);
        var heads = (GridLayout)Renderer.Layout(cap, ViewKind.Heads, Decoder);
        Assert.Equal(Enumerable.Range(0, 8).Select(h => $"head {h} (kv {h / 4})"), heads.Panels.Select(p => p.Title));
        Assert.Contains("grouped-query: 8 heads share 2 kv heads (kv = head ÷ 4)", heads.Title);
        var model = (GridLayout)Renderer.Layout(cap, ViewKind.Model, Decoder);
        Assert.Contains("grouped-query: 8 heads share 2 kv heads", model.Title);
        var layers = (GridLayout)Renderer.Layout(cap, ViewKind.Layers, Decoder with { Heads = HeadSelection.Single(6) });
        Assert.Contains("head 6 (kv 1) · all 2 layers", layers.Title);
        // without kv_heads, the names stay as they were
        var plain = (HeatmapLayout)Renderer.Layout(GenerationCaptures.Gpt2Like(heads: 8), ViewKind.Head, Decoder with { Heads = HeadSelection.Single(5) });
        Assert.EndsWith("· head 5", plain.Title);
    }

    [Fact]
    public void SinkViewPrintsBothSharesOfEveryHead()
    {
        var cap = GenerationCaptures.Gpt2Like(layers: 2, heads: 4, kvHeads: 2);
        var r = AttnScope.Analyses.Heads.SinkStatistics.Compute(cap, AttentionStack.Decoder);
        var renderer = new AnalysisRenderer();
        var layout = (SinkMapLayout)renderer.Layout(cap, AnalysisView.Sinks, Decoder);
        Assert.Equal(2 * 2 * 4, layout.Cells.Count);
        foreach (var c in layout.Cells)
        {
            float v = c.Panel == 0 ? r.FirstTokenShare(c.Layer, c.Head) : r.TopKeyShare(c.Layer, c.Head);
            Assert.Equal(v, c.Value);
            Assert.Equal(v.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), c.Text);
        }
        var svg = renderer.Views.RenderSvg(layout, "viridis");
        Assert.Contains("first-token share", svg);
        Assert.Contains("top-1 key share", svg);
        Assert.Contains("means over query rows 1..7", svg);
        Assert.Matches("first token: (&apos;|&#39;|')The", svg);
        Assert.Contains("grouped-query: 4 heads share 2 kv heads", svg);
        // the sink head's cell is drawn in the colour of its value
        using var bmp = renderer.Views.RenderBitmap(layout, "viridis");
        var sink = layout.Cells.First(c => c.Panel == 0 && c.Layer == 0 && c.Head == 0);
        Assert.Equal(ColorMap.Get("viridis").Map(sink.Value), bmp.GetPixel((int)sink.Rect.Left + 1, (int)sink.Rect.Top + 1));
    }
}
