using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttnScope.Analyses.Rollout;
using AttnScope.Capture;
using AttnScope.Sources.Vision;
using AttnScope.Tests.Support;
using AttnScope.Views.Vision;
using AttnScope.Web.Server;
using Microsoft.Playwright;

namespace AttnScope.Tests.Web;

/// <summary>
/// Issue 12: a vision capture (the tiny ViT golden model of tests/AttnScope.Tests/Golden/tiny-vit, whose attention
/// VitGoldenTests checks against PyTorch) opens in the viewer's Image view, on the offline page and in serve. Hovering
/// a patch draws the heat overlay of that patch's attention row; the values drawn (the canvas's data-overlay) are
/// compared with the row read from the capture file in C#, a path independent of the page's decoding and indexing.
/// </summary>
[Collection("browser")]
public sealed class VisionViewerTests(ViewerFixture fx)
{
    private static AttentionCapture VitCapture(string dir)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "Golden", "tiny-vit");
        var model = VitModel.Load(folder);
        var image = Path.Combine(folder, "image.png");
        var cap = VisionCapture.Capture(model, ImageFile.Load(image), image, "tiny-vit");
        cap = cap.WithAnalyses([AttentionRollout.Compute(cap).ToAnalysis()]);
        var path = Path.Combine(dir, "vit.safetensors");
        cap.Save(path);
        return AttentionCapture.Load(path);
    }

    private static float[] Overlay(string json) => JsonSerializer.Deserialize<float[]>(json)!;

    /// <summary>The capture's patch values of token q's row at (layer, head); head -1 is the mean of the heads.</summary>
    private static float[] Expected(AttentionCapture cap, int layer, int head, int q)
    {
        var v = VisionLayout.Require(cap);
        var att = cap.Stack(AttentionStack.Encoder).Attention; // [layers, heads, n, n]
        int heads = att.Shape[1], n = att.Shape[2];
        var row = new float[n];
        for (int h = head < 0 ? 0 : head; h < (head < 0 ? heads : head + 1); h++)
        {
            var m = att.Slice(layer, h);
            for (int k = 0; k < n; k++) row[k] += m[q * n + k];
        }
        if (head < 0) for (int k = 0; k < n; k++) row[k] = (float)(row[k] / (double)heads);
        return v.PatchValues(row);
    }

    private static async Task CheckImageViewAsync(IPage page, AttentionCapture cap, List<string> problems, string shot)
    {
        await ViewerPage.WaitReadyAsync(page);
        await ViewerPage.ClickTabAsync(page, "image");
        var canvas = page.Locator(".as-vision-canvas");
        await canvas.WaitForAsync();
        var v = VisionLayout.Require(cap);
        // The image is drawn: the canvas holds many colours before any hover.
        int colours = await page.EvaluateAsync<int>(@"() => { const c = document.querySelector('.as-vision-canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, s = new Set();
            for (let i = 0; i < d.length; i += 4 * 7) s.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); return s.size; }");
        Assert.True(colours > 50, $"the image is not drawn ({colours} colours)");

        // Hover patch (2, 1) at layer 1, head 3.
        await ViewerPage.SetControlAsync(page, "layer", "1");
        await ViewerPage.SetControlAsync(page, "head", "3");
        async Task HoverAsync(int r, int c)
        {
            var pt = await page.EvaluateAsync<JsonElement>($"() => window.attnscope.viewers[0].views.image.patchPoint({r}, {c})");
            await page.Mouse.MoveAsync(pt.GetProperty("x").GetSingle(), pt.GetProperty("y").GetSingle());
        }
        int q = v.TokenOf(2, 1);
        await HoverAsync(2, 1);
        await page.WaitForFunctionAsync($"() => document.querySelector('.as-vision-canvas').dataset.query === '{q}' && document.querySelector('.as-vision-canvas').dataset.overlay !== ''");
        var drawn = Overlay((await canvas.GetAttributeAsync("data-overlay"))!);
        var expected = Expected(cap, 1, 3, q);
        Assert.Equal(expected.Length, drawn.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - drawn[i]) <= 1e-5, $"patch {i}: drawn {drawn[i]}, capture {expected[i]}");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), shot) });

        // Click pins it: moving away keeps the row.
        await page.Mouse.ClickAsync((await canvas.BoundingBoxAsync())!.X + 2, (await canvas.BoundingBoxAsync())!.Y + 2);
        int pinned = v.TokenOf(0, 0);
        await HoverAsync(3, 3);
        await page.WaitForFunctionAsync($"() => document.querySelector('.as-vision-canvas').dataset.pinned === '{pinned}'");
        Assert.Equal(pinned.ToString(CultureInfo.InvariantCulture), await canvas.GetAttributeAsync("data-query"));

        // The class token, mean of heads, layer 0.
        await ViewerPage.SetControlAsync(page, "layer", "0");
        await ViewerPage.SetControlAsync(page, "head", "mean");
        await page.ClickAsync(".as-vision-token[data-token='0']"); // pins [CLS] instead
        await page.WaitForFunctionAsync("() => document.querySelector('.as-vision-canvas').dataset.query === '0'");
        await page.WaitForTimeoutAsync(100);
        drawn = Overlay((await canvas.GetAttributeAsync("data-overlay"))!);
        expected = Expected(cap, 0, -1, 0);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - drawn[i]) <= 1e-5, $"[CLS] mean, patch {i}: drawn {drawn[i]}, capture {expected[i]}");

        // Keyboard: Escape releases, the canvas takes focus, arrows move, Enter pins.
        await page.ClickAsync(".as-vision-token[data-token='0']");
        await canvas.FocusAsync();
        await page.Keyboard.PressAsync("ArrowRight");
        await page.Keyboard.PressAsync("ArrowDown");
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForFunctionAsync($"() => document.querySelector('.as-vision-canvas').dataset.pinned === '{v.TokenOf(1, 1)}'");

        // The rollout overlay: the capture's rollout row of the pinned patch (last step at the last layer).
        await ViewerPage.SetControlAsync(page, "layer", "1");
        await page.SelectOptionAsync("[data-control='vision-source']", "rollout");
        await page.WaitForTimeoutAsync(200);
        drawn = Overlay((await canvas.GetAttributeAsync("data-overlay"))!);
        var rollout = AnalysesRollout(cap);
        int n = cap.Tokens.Count, step = rollout.Shape[0] - 1, q2 = v.TokenOf(1, 1);
        var rrow = rollout.Slice(step).Slice(q2 * n, n).ToArray();
        expected = v.PatchValues(rrow);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - drawn[i]) <= 1e-5, $"rollout patch {i}: drawn {drawn[i]}, capture {expected[i]}");
        Assert.Empty(problems);
    }

    private static FloatTensor AnalysesRollout(AttentionCapture cap) =>
        AttnScope.Analyses.Results.RolloutResult.From(cap, AttentionStack.Encoder)!.Joint;

    [Fact]
    public async Task OfflinePageShowsTheImageAndHoverDrawsTheCapturedRow()
    {
        using var dir = new TempDir();
        var cap = VitCapture(dir.Path);
        var url = fx.OfflinePage(cap, "vit");
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(url);
        await CheckImageViewAsync(page, cap, problems, "attnscope-vision-offline.png");
    }

    [Fact]
    public async Task ServedViewerOpensAVisionCaptureInTheImageView()
    {
        using var dir = new TempDir();
        var cap = VitCapture(dir.Path);
        await using var server = await ViewerServer.StartAsync(new ViewerServerOptions { Port = 0, CapturesDir = dir.Path });
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(server.Address + "?open=vit.safetensors");
        await CheckImageViewAsync(page, cap, problems, "attnscope-vision-served.png");
    }
}
