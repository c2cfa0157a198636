using AttnScope.Capture;
using Microsoft.Playwright;
using static AttnScope.Tests.Web.ViewerPage;

namespace AttnScope.Tests.Web;

/// <summary>The page of <c>attnscope serve</c> in headless Chromium: live capture, every view, export.</summary>
[Collection("browser")]
public sealed class ServedViewerTests(ViewerFixture fx)
{
    private async Task<(IBrowserContext, IPage, List<string>)> OpenServedAsync(string? open = null)
    {
        var (context, page, problems) = await fx.NewPageAsync();
        await page.GotoAsync(fx.Server.Address + (open is null ? "" : "?open=" + Uri.EscapeDataString(open)));
        if (open is not null) await WaitReadyAsync(page);
        return (context, page, problems);
    }

    [Fact]
    public async Task TypedTextGivesTheHeadViewWithHoverHeadTogglesAndLayers()
    {
        var (context, page, problems) = await OpenServedAsync();
        await using var _ = context;
        await page.FillAsync("#as-text", "The cat sat on the mat.");
        await page.SelectOptionAsync("#as-engine", "managed");
        await page.ClickAsync("#as-capture");
        await WaitReadyAsync(page);
        Assert.Contains("captured 9 tokens", await page.TextContentAsync("#as-status"));

        // All 12 heads draw lines over all tokens; hovering "cat" (token 2) keeps only its lines.
        var all = Lines(await SvgAsync(page));
        Assert.Equal(12, all.Select(l => l.Head).Distinct().Count());
        Assert.True(all.Select(l => l.Q).Distinct().Count() > 5);
        await HoverTokenAsync(page, "q", 2);
        var hovered = Lines(await SvgAsync(page));
        Assert.NotEmpty(hovered);
        Assert.All(hovered, l => Assert.Equal(2, l.Q));
        Assert.Equal(12, hovered.Select(l => l.Head).Distinct().Count());
        // Hovering a key token keeps the lines into it.
        await HoverTokenAsync(page, "k", 6);
        Assert.All(Lines(await SvgAsync(page)), l => Assert.Equal(6, l.K));
        await page.Mouse.MoveAsync(2, 2);
        await SettleAsync(page);

        // Click toggles a head off; double-click shows one head alone.
        await page.ClickAsync(".as-head[data-head=\"3\"]");
        await SettleAsync(page);
        var without3 = Lines(await SvgAsync(page)).Select(l => l.Head).Distinct().ToList();
        Assert.DoesNotContain(3, without3);
        Assert.Equal(11, without3.Count);
        Assert.Equal("false", await page.GetAttributeAsync(".as-head[data-head=\"3\"]", "aria-pressed"));
        await page.DblClickAsync(".as-head[data-head=\"5\"]");
        await SettleAsync(page);
        var solo = Lines(await SvgAsync(page));
        Assert.NotEmpty(solo);
        Assert.All(solo, l => Assert.Equal(5, l.Head));

        // Another layer draws that layer's attention: different lines for the same head.
        await SetControlAsync(page, "layer", "4");
        Assert.Equal(4, await page.EvaluateAsync<int>("() => attnscope.viewer.state.layer"));
        var layer4 = Lines(await SvgAsync(page));
        Assert.All(layer4, l => Assert.Equal(5, l.Head));
        Assert.NotEqual(solo, layer4);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task StackSelectorSwitchesBetweenEncoderDecoderAndCross()
    {
        var (context, page, problems) = await OpenServedAsync();
        await using var _ = context;
        await page.ClickAsync("[data-capture=\"seq2seq.safetensors\"]");
        await WaitReadyAsync(page);
        Assert.True(await page.Locator("[data-control=\"stack\"]").IsVisibleAsync());
        var encoder = Texts(await SvgAsync(page));
        Assert.DoesNotContain("Katze", encoder);
        await SetControlAsync(page, "stack", "cross");
        var cross = Texts(await SvgAsync(page));
        Assert.Contains("Katze", cross);      // target tokens attend (queries, left) …
        Assert.Contains(fx.Seq2Seq.Tokens[1].Text, cross); // … to source tokens (keys, right)
        var lines = Lines(await SvgAsync(page));
        Assert.True(lines.Max(l => l.Q) <= 4 && lines.Max(l => l.K) <= 6);
        await SetControlAsync(page, "stack", "decoder");
        var decoder = Texts(await SvgAsync(page));
        Assert.Contains("schläft", decoder);
        Assert.DoesNotContain(fx.Seq2Seq.Tokens[1].Text, decoder);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task MatrixTooltipShowsTheCapturesExactValueAndTokens()
    {
        var (context, page, problems) = await OpenServedAsync("small.safetensors");
        await using var _ = context;
        await ClickTabAsync(page, "matrix");
        await SetControlAsync(page, "layer", "1");
        await SetControlAsync(page, "head", "2");
        var (x, y) = await PointAsync(page, "cellPoint", 3, 5);
        await page.Mouse.MoveAsync(x, y);
        await page.WaitForFunctionAsync("() => document.querySelector('.as-tooltip').dataset.exact === 'true'");
        var value = ParseValue(await TooltipAsync(page, "value"));
        Assert.Equal(fx.Small.Stacks["encoder"].Attention[1, 2, 3, 5], value);
        Assert.Contains(fx.Small.Tokens[3].Text, await TooltipAsync(page, "query"));
        Assert.Contains(fx.Small.Tokens[5].Text, await TooltipAsync(page, "key"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task ExportButtonsDownloadPngAndSvgOfTheViewWithItsHoverState()
    {
        var (context, page, problems) = await OpenServedAsync("small.safetensors");
        await using var _ = context;
        await page.DblClickAsync(".as-head[data-head=\"1\"]");
        await SettleAsync(page);
        await HoverTokenAsync(page, "q", 4);
        // Clicking the token keeps its lines while the mouse goes to the export buttons.
        var (tx, ty) = await PointAsync(page, "tokenPoint", "q", 4);
        await page.Mouse.ClickAsync(tx, ty);
        await SettleAsync(page);

        var svgDownload = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-control=\"export-svg\"]"));
        Assert.EndsWith(".svg", svgDownload.SuggestedFilename);
        var svgPath = Path.Combine(fx.Dir.Path, "export.svg");
        await svgDownload.SaveAsAsync(svgPath);
        var svg = System.Xml.Linq.XDocument.Load(svgPath);
        var lines = Lines(svg);
        Assert.Equal(9, lines.Count); // token 4 of head 1 to each of the 9 keys
        Assert.All(lines, l => Assert.Equal((1, 4), (l.Head, l.Q)));
        var texts = Texts(svg);
        foreach (var t in fx.Small.Tokens) Assert.Contains(t.Text, texts);

        var pngDownload = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-control=\"export-png\"]"));
        Assert.EndsWith(".png", pngDownload.SuggestedFilename);
        var pngPath = Path.Combine(fx.Dir.Path, "export.png");
        await pngDownload.SaveAsAsync(pngPath);
        using var bitmap = SkiaSharp.SKBitmap.Decode(pngPath);
        Assert.NotNull(bitmap);
        var svgRoot = svg.Root!;
        Assert.Equal(2 * (int)double.Parse(svgRoot.Attribute("width")!.Value, System.Globalization.CultureInfo.InvariantCulture), bitmap.Width);
        // The hovered token's highlight (#ffe58a) and head 1's colour (#3cb44b) are in the picture.
        bool Has(byte r, byte g, byte b) => bitmap.Pixels.Any(p => Math.Abs(p.Red - r) < 8 && Math.Abs(p.Green - g) < 8 && Math.Abs(p.Blue - b) < 8);
        Assert.True(Has(0xff, 0xe5, 0x8a), "no hover highlight in the PNG");
        // Lines are drawn with their weight as opacity, so head 1's green shows blended with white.
        Assert.True(bitmap.Pixels.Count(p => p.Green > p.Red + 40 && p.Green > p.Blue + 40) > 50, "no head-1 line in the PNG");
        Assert.False(bitmap.Pixels.Any(p => p.Red > p.Green + 60 && p.Red > p.Blue + 60 && p.Green < 120), "a red line (head 0) in a head-1-only PNG");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task ModelViewShowsEveryLayerAndHeadAndOpensOneLarge()
    {
        var (context, page, problems) = await OpenServedAsync("small.safetensors");
        await using var _ = context;
        await ClickTabAsync(page, "model");
        var texts = Texts(await SvgAsync(page));
        for (int l = 0; l < 3; l++) Assert.Contains($"layer {l}", texts);
        for (int h = 0; h < 4; h++) Assert.Contains($"H{h}", texts);
        var (x, y) = await PointAsync(page, "thumbPoint", 2, 3);
        await page.Mouse.ClickAsync(x, y);
        await SettleAsync(page);
        Assert.Equal("matrix", await page.EvaluateAsync<string>("() => attnscope.viewer.state.view"));
        Assert.Contains("encoder layer 2 head 3", string.Join("\n", Texts(await SvgAsync(page))));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task QkViewOfALiveCaptureReproducesTheRecordedAttention()
    {
        var (context, page, problems) = await OpenServedAsync();
        await using var _ = context;
        await page.FillAsync("#as-text", "Where is the station?");
        await page.FillAsync("#as-pair", "Two blocks north.");
        await page.SelectOptionAsync("#as-engine", "onnx");
        await page.ClickAsync("#as-capture");
        await WaitReadyAsync(page);
        Assert.Contains("onnx", await page.TextContentAsync("#as-status"));
        await ClickTabAsync(page, "qk");
        await SetControlAsync(page, "layer", "3");
        await SetControlAsync(page, "head", "7");
        await SetControlAsync(page, "query", "4");
        // softmax(q·k/√d) from the captured queries and keys against the attention the model recorded.
        var diff = await page.EvaluateAsync<double>(@"() => {
            const v = attnscope.viewer.current;
            let m = 0;
            for (let k = 0; k < v.layer.nk; k++) m = Math.max(m, Math.abs(v.soft[k] - v.layer.value(7, 4, k)));
            return m; }");
        Assert.True(diff < 0.004, $"softmax differs from the recorded attention by {diff}");
        var texts = Texts(await SvgAsync(page));
        Assert.Contains("score", texts);
        Assert.Contains("softmax", texts);
        Assert.Contains(texts, t => t.StartsWith("q: ", StringComparison.Ordinal));
        // The sentence filter is offered for a pair and keeps sentence B's keys only.
        await SetControlAsync(page, "filter", "AB");
        Assert.True(await page.EvaluateAsync<bool>(@"() => {
            const v = attnscope.viewer, f = v.filtered();
            return f.keys.length > 0 && f.keys.every(k => v.data.meta.tokens[k].segment === 'B')
                && f.queries.every(q => v.data.meta.tokens[q].segment === 'A'); }"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task PlayerPlaysPausesStepsAndScrubsThroughTheLayers()
    {
        var (context, page, problems) = await OpenServedAsync("small.safetensors");
        await using var _ = context;
        var caption = page.Locator(".as-caption");
        Assert.Equal("encoder layer 0 (1/3)", await caption.TextContentAsync());
        await page.ClickAsync(".as-player button[title=\"next frame\"]");
        await SettleAsync(page);
        Assert.Equal(1, await page.EvaluateAsync<int>("() => attnscope.viewer.state.layer"));
        Assert.Equal("1", await page.InputValueAsync("[data-control=\"layer\"]"));
        await page.ClickAsync(".as-player button[title=\"previous frame\"]");
        await SettleAsync(page);
        Assert.Equal(0, await page.EvaluateAsync<int>("() => attnscope.viewer.state.layer"));
        await page.Locator(".as-scrub").FillAsync("2");
        await SettleAsync(page);
        Assert.Equal("encoder layer 2 (3/3)", await caption.TextContentAsync());
        Assert.Equal(2, await page.EvaluateAsync<int>("() => attnscope.viewer.state.layer"));
        await page.ClickAsync(".as-player button[title=\"play\"]");
        await page.WaitForFunctionAsync("() => attnscope.viewer.state.layer === 0", null, new PageWaitForFunctionOptions { Timeout = 5000 });
        await page.ClickAsync(".as-player button[title=\"pause\"]");
        var paused = await page.EvaluateAsync<int>("() => attnscope.viewer.state.layer");
        await page.WaitForTimeoutAsync(1300);
        Assert.Equal(paused, await page.EvaluateAsync<int>("() => attnscope.viewer.state.layer"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
