using System.Text.Json;
using AttnScope.Capture;
using Microsoft.Playwright;
using static AttnScope.Tests.Web.ViewerPage;

namespace AttnScope.Tests.Web;

/// <summary>
/// Issue 14: the 3D graph mode (graph-view.js) on the offline page of the fixture's 3-layer, 4-head, 9-token capture:
/// one row of nodes per level, top-k edges per node, and a picked node's strongest key and highlighted paths checked
/// against the mean of the heads computed here in C# from the capture (not from the page's decoded values).
/// </summary>
[Collection("browser")]
public sealed class GraphViewTests(ViewerFixture fx)
{
    /// <summary>The keys of query q in layer l, mean of heads, strongest first (ties by index), from the capture.</summary>
    private static int[] TopKeys(AttentionCapture cap, int layer, int q)
    {
        var att = cap.Stack(AttentionStack.Encoder).Attention;
        int heads = att.Shape[1], n = att.Shape[2];
        var mean = new double[n];
        for (int h = 0; h < heads; h++) { var m = att.Slice(layer, h); for (int k = 0; k < n; k++) mean[k] += m[q * n + k]; }
        return Enumerable.Range(0, n).OrderByDescending(k => (float)(mean[k] / heads)).ThenBy(k => k).ToArray();
    }

    [Fact]
    public async Task GraphDrawsTopKEdgesPicksANodeAndHighlightsItsPaths()
    {
        var cap = fx.Small;
        var url = fx.OfflinePage(cap, "graph");
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(url);
        await WaitReadyAsync(page);
        await ClickTabAsync(page, "graph");
        var canvas = page.Locator(".as-graph-canvas");
        int layers = cap.Stack(AttentionStack.Encoder).Layers, n = cap.Tokens.Count;
        await page.WaitForFunctionAsync("() => document.querySelector('.as-graph-canvas') && document.querySelector('.as-graph-canvas').dataset.edges");
        Assert.Equal(layers * n * 3, int.Parse((await canvas.GetAttributeAsync("data-edges"))!));

        // The page's kept edges of query 4 in layer 1 are the capture's three strongest keys (mean of heads).
        var keys = await page.EvaluateAsync<int[]>("() => Array.from(window.attnscope.viewers[0].views.graph.edges[1].keys.slice(4 * 3, 4 * 3 + 3))");
        Assert.Equal(TopKeys(cap, 1, 4).Take(3), keys);

        // Click node 4 of level 2 (output of layer 1): it is kept, and its paths are highlighted: 3 edges down into
        // layer 1, then the edges of those keys in layer 0, and every edge above that reaches it.
        async Task ClickNodeAsync(int level, int i)
        {
            var pt = await page.EvaluateAsync<JsonElement>($"() => window.attnscope.viewers[0].views.graph.nodePoint({level}, {i})");
            var box = (await canvas.BoundingBoxAsync())!;
            await page.Mouse.ClickAsync(box.X + pt.GetProperty("x").GetSingle(), box.Y + pt.GetProperty("y").GetSingle());
        }
        await ClickNodeAsync(2, 4);
        await page.WaitForFunctionAsync("() => document.querySelector('.as-graph-canvas').dataset.picked === '2/4'");
        int highlighted = int.Parse((await canvas.GetAttributeAsync("data-highlighted"))!);
        var below = TopKeys(cap, 1, 4).Take(3).ToArray();
        int down = 3 + below.Length * 3; // layer 1 edges of the node, then layer 0 edges of its three keys
        int up = Enumerable.Range(0, n).Sum(q => TopKeys(cap, 2, q).Take(3).Count(k => k == 4)); // level 3 is the top
        Assert.Equal(down + up, highlighted);
        var caption = await page.Locator(".as-graph-caption").InnerTextAsync();
        Assert.Contains("output of layer 1", caption);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "attnscope-graph.png") });

        // Rotating keeps the kept node; slicing to levels 0–1 drops it and shows layer 0's edges only.
        await canvas.FocusAsync();
        await page.Keyboard.PressAsync("ArrowLeft");
        Assert.Equal("2/4", await canvas.GetAttributeAsync("data-picked"));
        await page.FillAsync("[data-control='graph-last']", "1");
        await page.DispatchEventAsync("[data-control='graph-last']", "change");
        await page.WaitForFunctionAsync("() => document.querySelector('.as-graph-canvas').dataset.picked === ''");
        Assert.Equal(n * 3, int.Parse((await canvas.GetAttributeAsync("data-edges"))!));
        Assert.Empty(problems);
    }

    /// <summary>512 tokens × 12 layers (2 heads): every edge drawn (12 × 512 × 3), a rotation redraw stays interactive.</summary>
    [Fact]
    public async Task GraphOf512TokensAnd12LayersRedrawsQuickly()
    {
        var cap = Support.SyntheticCaptures.Realistic(512, layers: 12, heads: 2);
        var url = fx.OfflinePage(cap, "graph512");
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(url);
        await WaitReadyAsync(page);
        await ClickTabAsync(page, "graph");
        await page.WaitForFunctionAsync("() => document.querySelector('.as-graph-canvas') && document.querySelector('.as-graph-canvas').dataset.edges", null, new PageWaitForFunctionOptions { Timeout = 60000 });
        Assert.Equal(12 * 512 * 3, int.Parse((await page.Locator(".as-graph-canvas").GetAttributeAsync("data-edges"))!));
        await page.Locator(".as-graph-canvas").FocusAsync();
        for (int i = 0; i < 10; i++) await page.Keyboard.PressAsync("ArrowLeft");
        var times = await page.EvaluateAsync<double[]>("() => window.attnscope.viewers[0].views.graph.timings.renders.slice(-10)");
        var median = times.Order().ElementAt(times.Length / 2);
        Console.WriteLine($"3D graph, 512 tokens × 12 layers, 18 432 edges: median redraw {median:0.0} ms");
        Assert.True(median < 250, $"a redraw took {median:0} ms (median of 10)");
        Assert.Empty(problems);
    }
}
