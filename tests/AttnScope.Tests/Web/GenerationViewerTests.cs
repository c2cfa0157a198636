using AttnScope.Capture;
using AttnScope.Tests.Support;
using Microsoft.Playwright;
using static AttnScope.Tests.Web.ViewerPage;

namespace AttnScope.Tests.Web;

/// <summary>
/// A decoder language model's generation in the viewer: the player's generation steps (rows and keys computed so
/// far, the produced piece in the caption, exports as seen), and heads named with their shared key/value head.
/// </summary>
[Collection("browser")]
public sealed class GenerationViewerTests(ViewerFixture fx)
{
    private static async Task StepToAsync(IPage page, int step)
    {
        await SetControlAsync(page, "player-mode", "steps");
        for (int i = 0; i < step; i++) await page.ClickAsync(".as-player button[title=\"next frame\"]");
        await SettleAsync(page);
    }

    /// <summary>Alpha of every pixel of the matrix view's heatmap image (one pixel per cell), row by row.</summary>
    private static Task<int[][]> AlphasAsync(IPage page) => page.EvaluateAsync<int[][]>(
        "() => { const c = attnscope.viewer.current.image; const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;" +
        " return Array.from({ length: c.height }, (_, r) => Array.from({ length: c.width }, (_, k) => d[(r * c.width + k) * 4 + 3])); }");

    [Fact]
    public async Task GenerationStepsRevealRowsAndKeysComputedSoFar()
    {
        var cap = GenerationCaptures.Gpt2Like(layers: 2, heads: 4, kvHeads: 2);
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(cap, "generation"));
        await WaitReadyAsync(page);
        Assert.Equal("decoder", await page.EvaluateAsync<string>("() => attnscope.viewer.state.stack"));
        Assert.Equal("generation steps", await page.Locator("[data-control=\"player-mode\"] option[value=\"steps\"]").TextContentAsync());

        // Step 3 (from 1) is row P − 1 + 2 = 5, which produced token 6, a piece that looks like markup and stays text.
        await StepToAsync(page, 2);
        Assert.Equal("step 3: produced 'Ġ<b>now</b>' (3/5)", await page.TextContentAsync(".as-caption"));
        Assert.Equal(0, await page.Locator(".as-viewer b").CountAsync());
        var svg = await SvgAsync(page);
        var lines = Lines(svg);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => { Assert.Equal(5, l.Q); Assert.True(l.K <= 5); });
        Assert.Equal(4, lines.Select(l => l.Head).Distinct().Count());
        var texts = Texts(svg);
        Assert.Contains("Ġmat", texts);                          // token 5: the query of this step
        Assert.DoesNotContain("Ġ<b>now</b>", texts.Where(t => !t.StartsWith("step"))); // token 6: not generated yet
        Assert.DoesNotContain(".", texts);                      // token 7
        Assert.Contains("step 3: produced 'Ġ<b>now</b>'", texts);

        // The matrix view: rows and keys 0..5 carry values, the rest are blank and have no hover value.
        await ClickTabAsync(page, "matrix");
        await SetControlAsync(page, "layer", "1");
        await SetControlAsync(page, "head", "3");
        var alphas = await AlphasAsync(page);
        for (int q = 0; q < 8; q++)
            for (int k = 0; k < 8; k++)
                Assert.True((alphas[q][k] == 255) == (q <= 5 && k <= 5), $"cell ({q}, {k}) alpha {alphas[q][k]}");
        var (x, y) = await PointAsync(page, "cellPoint", 5, 0);
        await page.Mouse.MoveAsync(x, y);
        await page.WaitForFunctionAsync("() => document.querySelector('.as-tooltip').dataset.exact === 'true' && !document.querySelector('.as-tooltip').hidden");
        Assert.Equal(cap.Stacks["decoder"].Attention[1, 3, 5, 0], ParseValue(await TooltipAsync(page, "value")));
        (x, y) = await PointAsync(page, "cellPoint", 5, 6);
        await page.Mouse.MoveAsync(x, y);
        await SettleAsync(page);
        Assert.True(await page.Locator(".as-tooltip").IsHiddenAsync());
        var matrixTexts = Texts(await SvgAsync(page));
        Assert.Contains(matrixTexts, t => t.StartsWith("step 3: produced"));
        Assert.Contains(matrixTexts, t => t.Contains("decoder layer 1 head 3 (kv 1)"));
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-control=\"export-svg\"]"));
        Assert.Equal("attnscope-matrix-decoder-layer1-head3-step3.svg", download.SuggestedFilename);

        // The last step shows every row and key and says generation stopped; back to layers, all rows again.
        await page.ClickAsync(".as-player button[title=\"next frame\"]");
        await page.ClickAsync(".as-player button[title=\"next frame\"]");
        await SettleAsync(page);
        Assert.Equal("step 5: read '.', generation stopped (end of sequence) (5/5)", await page.TextContentAsync(".as-caption"));
        Assert.All(await AlphasAsync(page), row => Assert.All(row, a => Assert.Equal(255, a)));
        await SetControlAsync(page, "player-mode", "layers");
        Assert.Null(await page.EvaluateAsync<int?>("() => attnscope.viewer.step"));
        Assert.StartsWith("decoder layer 1", await page.TextContentAsync(".as-caption"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task GroupedQueryHeadsShowTheirKeyValueHead()
    {
        var cap = GenerationCaptures.Gpt2Like(layers: 2, heads: 8, kvHeads: 2, generation: false);
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(cap, "gqa"));
        await WaitReadyAsync(page);
        Assert.False(await page.Locator("[data-control=\"player-mode\"]").IsVisibleAsync());
        // head view legend: a "kv" label before each group of four heads, each button titled with its kv head
        Assert.Equal(["kv 0", "kv 1"], await page.Locator(".as-heads .as-kv-group").AllTextContentsAsync());
        Assert.StartsWith("head 5 (kv 1):", await page.Locator(".as-head[data-head=\"5\"]").GetAttributeAsync("title"));
        Assert.StartsWith("head 3 (kv 0):", await page.Locator(".as-head[data-head=\"3\"]").GetAttributeAsync("title"));
        // the head menu and the matrix title
        await ClickTabAsync(page, "matrix");
        Assert.Contains("6 (kv 1)", await page.Locator("[data-control=\"head\"] option[value=\"6\"]").TextContentAsync());
        await SetControlAsync(page, "head", "6");
        Assert.Contains(Texts(await SvgAsync(page)), t => t.Contains("layer 0 head 6 (kv 1)"));
        // the model view's tooltip
        await ClickTabAsync(page, "model");
        var box = await page.Locator(".as-model-view canvas").BoundingBoxAsync();
        // thumbnails start at (64, 26) and are 58 + 6 pixels apart: head 7 of layer 1
        await page.Mouse.MoveAsync(box!.X + 64 + 7 * 64 + 29, box.Y + 26 + 64 + 29);
        await SettleAsync(page);
        Assert.Equal("layer 1, head 7 (kv 1)", await TooltipAsync(page, "head"));
        Assert.Contains("H7 · kv1", Texts(await SvgAsync(page)));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task ServedPageStepsThroughASavedGeneration()
    {
        GenerationCaptures.Gpt2Like().Save(Path.Combine(fx.CapturesDir, "generation.safetensors"));
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.Server.Address + "?open=generation.safetensors");
        await WaitReadyAsync(page);
        await StepToAsync(page, 1);
        Assert.Equal("step 2: produced 'Ġmat' (2/5)", await page.TextContentAsync(".as-caption"));
        await page.Locator(".as-scrub").FillAsync("0");
        await SettleAsync(page);
        // step 1: the prompt's last token, row 3, produced " the"
        var lines = Lines(await SvgAsync(page));
        Assert.NotEmpty(lines);
        Assert.All(lines, l => { Assert.Equal(3, l.Q); Assert.True(l.K <= 3); });
        Assert.Equal(3, await page.EvaluateAsync<int>("() => attnscope.viewer.step"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
