using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using static AttnScope.Tests.Web.ViewerPage;

namespace AttnScope.Tests.Web;

/// <summary>Issue 14: a hover is timed to the painted frame, and what a hover redraws is kept small (the matrix
/// redraws the outline alone in place, the head view leaves out lines too faint to see and boxes out of view).</summary>
[Collection("browser")]
public sealed class HoverFrameTests(ViewerFixture fx)
{
    [Fact]
    public async Task EachHoverIsTimedFromItsEventToTheEndOfThePaintedFrame()
    {
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(fx.Small, "hover-timing"));
        await WaitReadyAsync(page);
        await page.EvaluateAsync("() => { attnscope.viewer.timings.hovers = []; performance.clearMeasures('attnscope:hover'); }");
        foreach (var i in new[] { 2, 5, 7 }) await HoverTokenAsync(page, "q", i);
        await page.WaitForFunctionAsync("() => attnscope.viewer.timings.hovers.length >= 3");
        var hovers = await page.EvaluateAsync<JsonElement>("() => attnscope.viewer.timings.hovers");
        var measures = await page.EvaluateAsync<double[]>("() => performance.getEntriesByName('attnscope:hover').map(m => m.duration)");
        Assert.Equal(3, hovers.GetArrayLength());
        Assert.Equal(3, measures.Length);
        int i2 = 0;
        foreach (var h in hovers.EnumerateArray())
        {
            double draw = h.GetProperty("draw").GetDouble(), frame = h.GetProperty("frame").GetDouble(), painted = h.GetProperty("painted").GetDouble();
            Assert.True(draw > 0 && draw <= frame && frame <= painted, $"draw {draw}, frame {frame}, painted {painted}");
            Assert.Equal(painted, measures[i2++], 3);
        }
        Assert.Empty(problems);
    }

    private const string CountCanvasWork = """
        () => {
          const counts = { text: 0, resize: 0 };
          const fill = CanvasRenderingContext2D.prototype.fillText;
          CanvasRenderingContext2D.prototype.fillText = function (...a) { counts.text++; return fill.apply(this, a); };
          const desc = Object.getOwnPropertyDescriptor(HTMLCanvasElement.prototype, 'width');
          Object.defineProperty(HTMLCanvasElement.prototype, 'width', { get: desc.get, set(v) { counts.resize++; desc.set.call(this, v); }, configurable: true });
          window.canvasWork = counts;
        }
        """;

    [Fact]
    public async Task AMatrixHoverRedrawsOnlyTheOutlineWithoutReallocatingTheCanvas()
    {
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(fx.Small, "matrix-outline"));
        await WaitReadyAsync(page);
        await ClickTabAsync(page, "matrix");
        await page.EvaluateAsync(CountCanvasWork);
        foreach (var (q, k) in new[] { (1, 2), (4, 4), (8, 0) })
        {
            var (x, y) = await PointAsync(page, "cellPoint", q, k);
            await page.Mouse.MoveAsync(x, y);
            await SettleAsync(page);
        }
        var counts = await page.EvaluateAsync<JsonElement>("() => window.canvasWork");
        Assert.Equal(0, counts.GetProperty("text").GetInt32());
        Assert.Equal(0, counts.GetProperty("resize").GetInt32());
        // The outline moved with the mouse: the last cell is outlined and an export still shows it.
        Assert.Equal(8, await page.EvaluateAsync<int>("() => attnscope.viewer.current.hover.q"));
        Assert.Contains(Texts(await SvgAsync(page)), t => t.StartsWith("query #8", StringComparison.Ordinal));
        Assert.Empty(problems);
    }

    [Fact]
    public async Task AHeadViewHoverOverManyTokensDrawsOnlyVisibleLinesAndBoxesInView()
    {
        var cap = SyntheticCaptures.Realistic(300, layers: 1, heads: 3); // rows spread over 300 keys: most weights are tiny
        var s = cap.Stacks[AttentionStack.Encoder];
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(cap, "many-tokens"));
        await WaitReadyAsync(page);
        await page.EvaluateAsync(CountCanvasWork);
        await HoverTokenAsync(page, "q", 3);
        Assert.Equal(0, (await page.EvaluateAsync<JsonElement>("() => window.canvasWork")).GetProperty("resize").GetInt32());
        var svg = await SvgAsync(page);
        var lines = Lines(svg);
        Assert.NotEmpty(lines);
        // 8-bit values: a line's weight is at least 0.01 less one step of its row's maximum
        Assert.All(lines, l => Assert.True(s.Attention.Slice(0, l.Head)[l.Q * 300 + l.K] >= 0.01 - 1.0 / 255, $"line ({l.Head},{l.Q},{l.K})"));
        var boxes = svg.Descendants(Svg + "rect").Count(r => r.Attribute("data-box") is not null);
        var rows = await page.EvaluateAsync<double>("() => document.querySelector('.as-head-view .as-scroll').clientHeight / 18");
        Assert.InRange(boxes, 3 * (int)rows - 9, 3 * ((int)rows + 6));
        Assert.Empty(problems);
    }

    private const string CountHoverWork = """
        () => {
          const counts = { text: 0, lines: 0 };
          const fill = CanvasRenderingContext2D.prototype.fillText;
          CanvasRenderingContext2D.prototype.fillText = function (...a) { counts.text++; return fill.apply(this, a); };
          const lineTo = CanvasRenderingContext2D.prototype.lineTo;
          CanvasRenderingContext2D.prototype.lineTo = function (...a) { counts.lines++; return lineTo.apply(this, a); };
          window.hoverWork = counts;
        }
        """;

    private const string ResetHoverWork = "() => { window.hoverWork.text = 0; window.hoverWork.lines = 0; }";

    /// <summary>The pixels of the head view's canvas, kept in the page to compare a hover redraw with a whole drawing.</summary>
    private const string CanvasPixels = """
        () => {
          const c = document.querySelector('.as-head-view canvas.as-canvas');
          return c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        }
        """;

    [Fact]
    public async Task AHeadViewHoverRedrawsOnlyTheBandAndTheChangedLabelsAndLooksLikeAWholeDrawing()
    {
        var cap = SyntheticCaptures.Realistic(60, layers: 1, heads: 3);
        var s = cap.Stacks[AttentionStack.Encoder];
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(cap, "hover-band"));
        await WaitReadyAsync(page);
        await HoverTokenAsync(page, "q", 3);
        await page.EvaluateAsync(CountHoverWork);
        foreach (var (side, index) in new[] { ("q", 5), ("k", 2), ("q", 7) })
        {
            await page.EvaluateAsync(ResetHoverWork);
            await HoverTokenAsync(page, side, index);
            var work = await page.EvaluateAsync<JsonElement>("() => window.hoverWork");
            // two labels drawn again (the one that lost the focus, the one that got it), not every row
            Assert.Equal(2, work.GetProperty("text").GetInt32());
            // the hovered token's lines: every head's weight ≥ 0.01 (8-bit values: within one step of 1/255)
            int sure = 0, maybe = 0;
            for (int h = 0; h < 3; h++)
                for (int o = 0; o < 60; o++)
                {
                    var w = side == "q" ? s.Attention.Slice(0, h)[index * 60 + o] : s.Attention.Slice(0, h)[o * 60 + index];
                    if (w >= 0.01 + 1.0 / 255) sure++;
                    if (w >= 0.01 - 1.0 / 255) maybe++;
                }
            Assert.True(sure > 0, "the capture gives the hovered token some visible lines");
            Assert.InRange(work.GetProperty("lines").GetInt32(), sure, maybe);
        }
        // What the hovers left on the canvas is what a whole drawing of the same state gives, pixel for pixel.
        await page.EvaluateAsync($"() => {{ window.hoveredPixels = ({CanvasPixels})(); window.hoverWork.text = 0; attnscope.viewer.current.draw(); }}");
        Assert.True(await page.EvaluateAsync<int>("() => window.hoverWork.text") > 20, "the whole drawing draws every label in view");
        var diff = await page.EvaluateAsync<int[]>($"() => {{ const a = window.hoveredPixels, b = ({CanvasPixels})(); let d = 0; for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++; return [a.length, b.length, d]; }}");
        Assert.True(diff[0] > 100000, $"canvas of {diff[0]} bytes");
        Assert.Equal(diff[0], diff[1]);
        Assert.Equal(0, diff[2]);
        Assert.Equal(7, await page.EvaluateAsync<int>("() => attnscope.viewer.current.focus.index"));
        Assert.Empty(problems);
    }
}
