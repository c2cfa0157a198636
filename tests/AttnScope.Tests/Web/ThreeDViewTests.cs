using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using Microsoft.Playwright;
using static AttnScope.Tests.Web.ViewerPage;

namespace AttnScope.Tests.Web;

/// <summary>
/// The WebGL 3D view (layers × queries × keys) in headless Chromium, offline (file://) and served: what it draws is
/// read back from the canvas, and a capture with one known strong cell checks the colour, the picking, the rotation
/// and the slices against that cell rather than against the view's own geometry.
/// </summary>
[Collection("browser")]
public sealed class ThreeDViewTests(ViewerFixture fx)
{
    private const int N = 16, Layers = 4, Heads = 2, StrongLayer = 2, StrongQuery = 5, StrongKey = 11;

    /// <summary>Uniform attention (1/N) everywhere except layer 2, where query 5 of every head attends only to key 11.</summary>
    private static AttentionCapture OneStrongCell()
    {
        var t = new FloatTensor([Layers, Heads, N, N]);
        for (int l = 0; l < Layers; l++)
            for (int h = 0; h < Heads; h++)
                for (int q = 0; q < N; q++)
                    for (int k = 0; k < N; k++)
                        t[l, h, q, k] = l == StrongLayer && q == StrongQuery ? (k == StrongKey ? 1f : 0f) : 1f / N;
        return SyntheticCaptures.Make(SyntheticCaptures.Tokens(N), t);
    }

    private sealed record Picture(int Width, int Height, byte[] Rgba)
    {
        public (int R, int G, int B) At(int x, int y) { int i = (y * Width + x) * 4; return (Rgba[i], Rgba[i + 1], Rgba[i + 2]); }

        /// <summary>Pixels within `tol` of a colour, as (x, y).</summary>
        public List<(int X, int Y)> Matching((int R, int G, int B) c, int tol = 3)
        {
            var list = new List<(int, int)>();
            for (int y = 0; y < Height; y++)
                for (int x = 0; x < Width; x++)
                {
                    var p = At(x, y);
                    if (Math.Abs(p.R - c.R) <= tol && Math.Abs(p.G - c.G) <= tol && Math.Abs(p.B - c.B) <= tol) list.Add((x, y));
                }
            return list;
        }

        public int Differences(Picture other)
        {
            int n = 0;
            for (int i = 0; i < Rgba.Length; i += 4)
                if (Rgba[i] != other.Rgba[i] || Rgba[i + 1] != other.Rgba[i + 1] || Rgba[i + 2] != other.Rgba[i + 2]) n++;
            return n;
        }
    }

    private static async Task<Picture> PixelsAsync(IPage page)
    {
        var e = await page.EvaluateAsync<JsonElement>("() => window.attnscope.viewer.current.pixels()");
        return new Picture(e.GetProperty("width").GetInt32(), e.GetProperty("height").GetInt32(), Convert.FromBase64String(e.GetProperty("data").GetString()!));
    }

    /// <summary>The colour map's top colour (the capture description's, not the view's).</summary>
    private static async Task<(int R, int G, int B)> TopColourAsync(IPage page)
    {
        var c = await page.EvaluateAsync<int>("() => window.attnscope.viewer.data.meta.colormap[255]");
        return ((c >> 16) & 255, (c >> 8) & 255, c & 255);
    }

    private static async Task Open3dAsync(IPage page)
    {
        await WaitReadyAsync(page);
        await ClickTabAsync(page, "3d");
    }

    private static async Task SetRangeAsync(IPage page, string control, double value)
    {
        await page.Locator($"[data-control=\"{control}\"]").FillAsync(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await page.Locator($"[data-control=\"{control}\"]").DispatchEventAsync("change");
        await SettleAsync(page);
    }

    /// <summary>Only the strong cell is drawn: one colour scale for the stack, cells under half of it hidden, opaque.</summary>
    private static async Task IsolateStrongCellAsync(IPage page)
    {
        await SetControlAsync(page, "3d-scale", "stack");
        await page.Locator("[data-control=\"3d-threshold\"]").FillAsync("0.5");
        await page.Locator("[data-control=\"3d-opacity\"]").FillAsync("1");
        await SettleAsync(page);
    }

    /// <summary>Client coordinates of the middle of the pixels that have the colour.</summary>
    private static async Task<(float X, float Y)> CentreOfAsync(IPage page, Picture pic, (int R, int G, int B) colour)
    {
        var px = pic.Matching(colour);
        Assert.True(px.Count > 0, "no pixel has the colour");
        var box = await page.Locator(".as-3d-canvas").BoundingBoxAsync();
        double scale = box!.Width / pic.Width;
        var mx = px.Average(p => p.X) + 0.5; var my = px.Average(p => p.Y) + 0.5;
        // The pixel nearest the centroid (a blob's centroid can fall outside a thin, tilted cell).
        var best = px.MinBy(p => (p.X - mx) * (p.X - mx) + (p.Y - my) * (p.Y - my));
        return ((float)(box.X + (best.X + 0.5) * scale), (float)(box.Y + (best.Y + 0.5) * scale));
    }

    private static async Task<(string Layer, string Query, string Key, string Weight)> TipAsync(IPage page, string weightField = "mean weight") =>
        (await TooltipAsync(page, "layer"), await TooltipAsync(page, "query"), await TooltipAsync(page, "key"), await TooltipAsync(page, weightField));

    [Fact]
    public async Task OfflinePageDrawsTheStrongCellInTheTopColourAndPicksIt()
    {
        var capture = OneStrongCell();
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(capture, "threed-offline"));
        await Open3dAsync(page);
        // Not blank: the sheets cover a good part of the canvas with colours other than the white background.
        var all = await PixelsAsync(page);
        int white = all.Matching((255, 255, 255), 0).Count;
        Assert.True(white < all.Width * all.Height * 0.9, $"only {all.Width * all.Height - white} pixels drawn");
        await IsolateStrongCellAsync(page);
        var top = await TopColourAsync(page);
        var pic = await PixelsAsync(page);
        Assert.InRange(pic.Matching(top).Count, 20, 5000);
        var (x, y) = await CentreOfAsync(page, pic, top);
        await page.Mouse.MoveAsync(x, y);
        await SettleAsync(page);
        var tip = await TipAsync(page);
        Assert.Equal(StrongLayer.ToString(), tip.Layer);
        Assert.Equal($"#{StrongQuery} {capture.Tokens[StrongQuery].Text}", tip.Query);
        Assert.Equal($"#{StrongKey} {capture.Tokens[StrongKey].Text}", tip.Key);
        // The offline page holds 8-bit values: ≈ 1.
        Assert.Equal(1.0, ParseValue(tip.Weight.TrimStart('≈', ' ')), 2);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task DragRotatesThePictureAndPickingFollowsTheRotation()
    {
        var capture = OneStrongCell();
        capture.Save(Path.Combine(fx.CapturesDir, "threed-strong.safetensors"));
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.Server.Address + "?open=threed-strong.safetensors");
        await Open3dAsync(page);
        await SetControlAsync(page, "3d-head", "1");
        await IsolateStrongCellAsync(page);
        var top = await TopColourAsync(page);
        var before = await PixelsAsync(page);
        var box = await page.Locator(".as-3d-canvas").BoundingBoxAsync();
        float cx = (float)(box!.X + box.Width / 2), cy = (float)(box.Y + box.Height / 2);
        await page.Mouse.MoveAsync(cx, cy + 150);
        await page.Mouse.DownAsync();
        for (int i = 1; i <= 10; i++) await page.Mouse.MoveAsync(cx + i * 14, cy + 150 - i * 3);
        await page.Mouse.UpAsync();
        await SettleAsync(page);
        var after = await PixelsAsync(page);
        Assert.True(after.Differences(before) > 200, $"only {after.Differences(before)} pixels changed");
        var centreBefore = before.Matching(top).Average(p => p.X);
        var centreAfter = after.Matching(top).Average(p => p.X);
        Assert.True(Math.Abs(centreAfter - centreBefore) > 5, "the strong cell did not move on screen");
        // Picked where it is drawn now, it is still the same cell, with the served page's exact value of head 1.
        var (x, y) = await CentreOfAsync(page, after, top);
        await page.Mouse.MoveAsync(x, y);
        await page.WaitForFunctionAsync("() => document.querySelector('.as-tooltip').dataset.exact === 'true'");
        var tip = await TipAsync(page, "weight");
        Assert.Equal((StrongLayer.ToString(), $"#{StrongQuery} {capture.Tokens[StrongQuery].Text}", $"#{StrongKey} {capture.Tokens[StrongKey].Text}"), (tip.Layer, tip.Query, tip.Key));
        Assert.Equal("1", tip.Weight);
        // A click keeps the cell (outlined) while the mouse moves away.
        await page.Mouse.ClickAsync(x, y);
        await page.Mouse.MoveAsync(cx - 300, cy - 200);
        await SettleAsync(page);
        Assert.Equal(StrongKey.ToString(), await page.EvaluateAsync<string>("() => String(attnscope.viewer.current.picked.k)"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task KeyboardRotatesAndHomeRestoresTheSamePicture()
    {
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(fx.Small, "threed-keys"));
        await Open3dAsync(page);
        var canvas = page.Locator(".as-3d-canvas");
        Assert.False(string.IsNullOrWhiteSpace(await canvas.GetAttributeAsync("aria-label")));
        Assert.Equal("0", await canvas.GetAttributeAsync("tabindex"));
        var start = await PixelsAsync(page);
        await canvas.FocusAsync();
        await page.Keyboard.PressAsync("ArrowLeft");
        await SettleAsync(page);
        var turned = await PixelsAsync(page);
        Assert.True(turned.Differences(start) > 200, "ArrowLeft did not turn the stack");
        await page.Keyboard.PressAsync("ArrowUp");
        await page.Keyboard.PressAsync("-");
        await SettleAsync(page);
        Assert.True((await PixelsAsync(page)).Differences(turned) > 200, "ArrowUp and − changed nothing");
        await page.Keyboard.PressAsync("Home");
        await SettleAsync(page);
        Assert.Equal(0, (await PixelsAsync(page)).Differences(start));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task SlicesKeepOnlyTheChosenLayersAndQueries()
    {
        var capture = OneStrongCell();
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(capture, "threed-slices"));
        await Open3dAsync(page);
        await IsolateStrongCellAsync(page);
        var top = await TopColourAsync(page);
        Assert.NotEmpty((await PixelsAsync(page)).Matching(top));
        // Layers 0–1 only: the strong cell (layer 2) is gone.
        await SetRangeAsync(page, "3d-layers-to", 1);
        Assert.Empty((await PixelsAsync(page)).Matching(top));
        // Layer 2 alone, queries 4–6 and keys 10–12: the cell is back, larger (the kept cells fill the sheet).
        await SetRangeAsync(page, "3d-layers-to", 3);
        await SetRangeAsync(page, "3d-layers-from", 2);
        await SetRangeAsync(page, "3d-layers-to", 2);
        int whole = (await PixelsAsync(page)).Matching(top).Count;
        await SetRangeAsync(page, "3d-queries-from", 4);
        await SetRangeAsync(page, "3d-queries-to", 6);
        await SetRangeAsync(page, "3d-keys-from", 10);
        await SetRangeAsync(page, "3d-keys-to", 12);
        var sliced = await PixelsAsync(page);
        Assert.True(sliced.Matching(top).Count > whole * 4, $"{sliced.Matching(top).Count} vs {whole} pixels");
        var (x, y) = await CentreOfAsync(page, sliced, top);
        await page.Mouse.MoveAsync(x, y);
        await SettleAsync(page);
        var tip = await TipAsync(page);
        Assert.Equal(("2", $"#{StrongQuery} {capture.Tokens[StrongQuery].Text}", $"#{StrongKey} {capture.Tokens[StrongKey].Text}"), (tip.Layer, tip.Query, tip.Key));
        // Queries outside the slice are refused back into it.
        await SetRangeAsync(page, "3d-queries-from", 99);
        Assert.Equal("15", await page.Locator("[data-control=\"3d-queries-from\"]").InputValueAsync());
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task TokenTextInTheTooltipIsTextAndExportHoldsThePicture()
    {
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(fx.Xss, "threed-xss"));
        await Open3dAsync(page);
        await SetRangeAsync(page, "3d-keys-from", 5);
        await SetRangeAsync(page, "3d-keys-to", 5);
        await page.Locator("[data-control=\"3d-opacity\"]").FillAsync("1");
        await SettleAsync(page);
        // Any drawn cell is in key column 5, the token with markup in it.
        var pic = await PixelsAsync(page);
        var drawn = new List<(int X, int Y)>();
        for (int yy = 0; yy < pic.Height; yy += 2)
            for (int xx = 0; xx < pic.Width - 60; xx += 2)
            {
                var p = pic.At(xx, yy);
                if (Math.Max(p.R, Math.Max(p.G, p.B)) - Math.Min(p.R, Math.Min(p.G, p.B)) > 40) drawn.Add((xx, yy));
            }
        Assert.NotEmpty(drawn);
        var box = await page.Locator(".as-3d-canvas").BoundingBoxAsync();
        var mid = drawn[drawn.Count / 2];
        await page.Mouse.MoveAsync((float)(box!.X + mid.X + 0.5), (float)(box.Y + mid.Y + 0.5));
        await SettleAsync(page);
        Assert.Equal("#5 " + ViewerFixture.XssToken, await TooltipAsync(page, "key"));
        Assert.Equal(0, await page.Locator(".as-tooltip img").CountAsync());
        var svg = await page.EvaluateAsync<string>("() => window.attnscope.renderSvg()");
        Assert.Contains("data:image/png;base64,", svg);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task At512TokensAndTwelveLayersOneStrongCellStaysVisibleAndTurningStaysFast()
    {
        const int n = 512, layers = 12, heads = 2;
        var t = new FloatTensor([layers, heads, n, n]);
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
                for (int q = 0; q < n; q++)
                    for (int k = 0; k < n; k++)
                        t[l, h, q, k] = l == 11 && q == 400 ? (k == 300 ? 1f : 0f) : 1f / n;
        var capture = SyntheticCaptures.Make(SyntheticCaptures.Tokens(n), t);
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(capture, "threed-512"));
        await Open3dAsync(page);
        await IsolateStrongCellAsync(page);
        // One cell of 512 × 512 is under a pixel wide here; the smaller texture levels keep maxima, so it still shows.
        var top = await TopColourAsync(page);
        var pic = await PixelsAsync(page);
        Assert.InRange(pic.Matching(top, 4).Count, 1, 200);
        // Zoomed in on that cell's layer and neighbourhood, the pointer finds it exactly.
        await SetRangeAsync(page, "3d-layers-from", 11);
        await SetRangeAsync(page, "3d-queries-from", 398);
        await SetRangeAsync(page, "3d-queries-to", 402);
        await SetRangeAsync(page, "3d-keys-from", 298);
        await SetRangeAsync(page, "3d-keys-to", 302);
        var (x, y) = await CentreOfAsync(page, await PixelsAsync(page), top);
        await page.Mouse.MoveAsync(x, y);
        await SettleAsync(page);
        Assert.Equal(("11", "#400 " + capture.Tokens[400].Text, "#300 " + capture.Tokens[300].Text),
            (await TooltipAsync(page, "layer"), await TooltipAsync(page, "query"), await TooltipAsync(page, "key")));
        // All twelve layers, every cell drawn: a turn of the camera is drawn (GPU finished) well within a frame
        // budget even on a software renderer (the benchmark measures it properly; this catches a per-frame upload).
        await SetRangeAsync(page, "3d-layers-from", 0);
        await SetRangeAsync(page, "3d-queries-from", 0);
        await SetRangeAsync(page, "3d-keys-to", 511);
        await SetRangeAsync(page, "3d-keys-from", 0);
        var times = await page.EvaluateAsync<double[]>("() => { const v = attnscope.viewer.current; v.opts.threshold = 0; const t = []; for (let i = 0; i < 20; i++) t.push(v.rotateAndDraw(0.05, 0)); return t; }");
        var median = times.Order().ElementAt(times.Length / 2);
        Assert.True(median < 200, $"a rotation frame took {median:0} ms (median of 20)");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task WithoutWebGlTheViewSaysSoAndTheOthersStillWork()
    {
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.AddInitScriptAsync(@"(() => { const get = HTMLCanvasElement.prototype.getContext;
            HTMLCanvasElement.prototype.getContext = function (kind, ...rest) { return kind === 'webgl2' || kind === 'webgl' ? null : get.call(this, kind, ...rest); }; })()");
        await page.GotoAsync(fx.OfflinePage(fx.Small, "threed-nogl"));
        await Open3dAsync(page);
        var note = page.Locator(".as-3d-fallback");
        Assert.True(await note.IsVisibleAsync());
        Assert.Contains("WebGL", await note.TextContentAsync());
        Assert.False(await page.Locator(".as-3d-canvas").IsVisibleAsync());
        Assert.True(await page.Locator(".as-error").IsHiddenAsync());
        await ClickTabAsync(page, "matrix");
        Assert.True(await page.Locator(".as-matrix-view canvas").IsVisibleAsync());
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
