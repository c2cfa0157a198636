using AttnScope.Capture;
using Microsoft.Playwright;
using static AttnScope.Tests.Web.ViewerPage;

namespace AttnScope.Tests.Web;

/// <summary>The player's decoding steps in the offline page: caption, revealed matrix rows, the head view's query.</summary>
[Collection("browser")]
public sealed class DecodingStepViewerTests(ViewerFixture fx)
{
    private static async Task StepToAsync(IPage page, int step)
    {
        await SetControlAsync(page, "player-mode", "steps");
        for (int i = 0; i < step; i++) await page.ClickAsync(".as-player button[title=\"next frame\"]");
        await SettleAsync(page);
    }

    /// <summary>Alpha of the first pixel of each row of the matrix view's heatmap image (one pixel per cell).</summary>
    private static Task<int[]> RowAlphasAsync(IPage page) => page.EvaluateAsync<int[]>(
        "() => { const c = attnscope.viewer.current.image; const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;" +
        " return Array.from({ length: c.height }, (_, r) => d[r * c.width * 4 + 3]); }");

    [Fact]
    public async Task DecodingStepsRevealCrossAttentionRowByRow()
    {
        var cap = DecodingStepCaptures.Translation();
        var url = fx.OfflinePage(cap, "steps");
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(url);
        await WaitReadyAsync(page);
        Assert.True(await page.Locator("[data-control=\"player-mode\"]").IsVisibleAsync());

        await StepToAsync(page, 2);
        // (a) Step 3 (row 2) produced target token 3, whose text looks like markup and stays text.
        Assert.StartsWith("step 3: produced '▁<b>schläft</b>'", await page.TextContentAsync(".as-caption"));
        Assert.Equal(0, await page.Locator(".as-viewer b").CountAsync());
        Assert.Equal("cross", await page.EvaluateAsync<string>("() => attnscope.viewer.state.stack"));

        // (c) The head view holds query 2: only its lines, for every head; later query labels are blank.
        var svg = await SvgAsync(page);
        var lines = Lines(svg);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Equal(2, l.Q));
        Assert.Equal(2, lines.Select(l => l.Head).Distinct().Count());
        var texts = Texts(svg);
        Assert.Contains("▁Hund", texts);
        Assert.DoesNotContain(DecodingStepCaptures.MarkupPiece, texts);
        Assert.Contains("step 3: produced '▁<b>schläft</b>'", texts);
        // Hovering a key keeps the lines into it from the queries so far only.
        await HoverTokenAsync(page, "k", 1);
        var intoKey = Lines(await SvgAsync(page));
        Assert.NotEmpty(intoKey);
        Assert.All(intoKey, l => { Assert.Equal(1, l.K); Assert.True(l.Q <= 2); });
        await page.Mouse.MoveAsync(2, 2);
        await SettleAsync(page);

        // (b) The matrix view: rows 0..2 carry values, rows 3 and 4 are blank and have no hover value.
        await ClickTabAsync(page, "matrix");
        await SetControlAsync(page, "layer", "1");
        await SetControlAsync(page, "head", "1");
        Assert.Equal(new[] { 255, 255, 255, 0, 0 }, await RowAlphasAsync(page));
        var (x, y) = await PointAsync(page, "cellPoint", 2, 3);
        await page.Mouse.MoveAsync(x, y);
        await page.WaitForFunctionAsync("() => document.querySelector('.as-tooltip').dataset.exact === 'true' && !document.querySelector('.as-tooltip').hidden");
        Assert.Equal(cap.Stacks["cross"].Attention[1, 1, 2, 3], ParseValue(await TooltipAsync(page, "value")));
        (x, y) = await PointAsync(page, "cellPoint", 3, 3);
        await page.Mouse.MoveAsync(x, y);
        await SettleAsync(page);
        Assert.True(await page.Locator(".as-tooltip").IsHiddenAsync());
        Assert.Contains(Texts(await SvgAsync(page)), t => t.StartsWith("step 3: produced"));
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-control=\"export-svg\"]"));
        Assert.Equal("attnscope-matrix-cross-layer1-head1-step3.svg", download.SuggestedFilename);

        // The last step reveals every row; back to layers, every row shows again.
        await page.ClickAsync(".as-player button[title=\"next frame\"]");
        await page.ClickAsync(".as-player button[title=\"next frame\"]");
        await SettleAsync(page);
        Assert.StartsWith("step 5: produced '</s>'", await page.TextContentAsync(".as-caption"));
        Assert.Equal(new[] { 255, 255, 255, 255, 255 }, await RowAlphasAsync(page));
        await page.ClickAsync(".as-player button[title=\"previous frame\"]");
        await SettleAsync(page);
        Assert.Equal(new[] { 255, 255, 255, 255, 0 }, await RowAlphasAsync(page));
        await SetControlAsync(page, "player-mode", "layers");
        Assert.Null(await page.EvaluateAsync<int?>("() => attnscope.viewer.step"));
        Assert.StartsWith("cross layer 1", await page.TextContentAsync(".as-caption"));
        Assert.Equal(Enumerable.Repeat(255, 5).ToArray(), await RowAlphasAsync(page));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task ServedPageStepsThroughTheDecodingOfASavedCapture()
    {
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.Server.Address + "?open=seq2seq.safetensors");
        await WaitReadyAsync(page);
        await StepToAsync(page, 1);
        // Target tokens <s> Die Katze schläft </s>: row 1 read "Die" and produced "Katze".
        Assert.Equal("step 2: produced 'Katze' (2/5)", await page.TextContentAsync(".as-caption"));
        await page.Locator(".as-scrub").FillAsync("3");
        await SettleAsync(page);
        var lines = Lines(await SvgAsync(page));
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Equal(3, l.Q));
        Assert.Equal(3, await page.EvaluateAsync<int>("() => attnscope.viewer.step"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task BertCaptureOffersNoDecodingSteps()
    {
        var url = fx.OfflinePage(fx.Small, "bert-steps");
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(url);
        await WaitReadyAsync(page);
        Assert.False(await page.Locator("[data-control=\"player-mode\"]").IsVisibleAsync());
        Assert.Equal(0, await page.EvaluateAsync<int>("() => attnscope.viewer.data.meta.steps.length"));
        await page.ClickAsync(".as-player button[title=\"next frame\"]");
        await SettleAsync(page);
        Assert.StartsWith("encoder layer 1", await page.TextContentAsync(".as-caption"));
        Assert.True(Lines(await SvgAsync(page)).Select(l => l.Q).Distinct().Count() > 3);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
