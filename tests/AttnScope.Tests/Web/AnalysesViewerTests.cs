using AttnScope.Capture;
using AttnScope.Tests.Support;
using Microsoft.Playwright;
using static AttnScope.Tests.Web.ViewerPage;

namespace AttnScope.Tests.Web;

/// <summary>
/// The viewer's Analyses tab in headless Chromium: rollout with its player, flow, saliency as coloured text and the
/// role map, each with exact values on hover; token text stays text. With ATTNSCOPE_PREVIEW_DIR set, screenshots
/// are written there to look at.
/// </summary>
[Collection("browser")]
public sealed class AnalysesViewerTests(ViewerFixture fx)
{
    private const int N = 12, Layers = 3, Heads = 4, Peak = 3;

    private static AttentionCapture Capture()
    {
        var cap = SyntheticCaptures.Realistic(N, Layers, Heads);
        var tokens = cap.Tokens.ToList();
        tokens[5] = tokens[5] with { Text = ViewerFixture.XssToken };
        cap = new AttentionCapture(cap.Metadata, tokens, cap.Stacks.Values);
        return AnalysisCaptures.With(cap, AnalysisCaptures.For(cap, "encoder").Concat(AnalysisCaptures.CosineSaliency(cap, Peak)));
    }

    private static async Task Screenshot(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("ATTNSCOPE_PREVIEW_DIR") is { Length: > 0 } dir)
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, $"viewer-{name}.png"), FullPage = true });
    }

    private static async Task ClickAnalysisAsync(IPage page, string kind)
    {
        await page.Locator($".as-tab[data-analysis=\"{kind}\"]").ClickAsync();
        await SettleAsync(page);
    }

    private static async Task<float> HoverValueAsync(IPage page, string point, string field, params object[] args)
    {
        var (x, y) = await PointAsync(page, point, args);
        await page.Mouse.MoveAsync(x, y);
        await page.WaitForFunctionAsync("() => { const t = document.querySelector('.as-tooltip'); return !t.hidden && t.dataset.exact === 'true'; }");
        return ParseValue(await TooltipAsync(page, field));
    }

    [Fact]
    public async Task FlowFromEveryLayerPlaysOverTheLayersWithExactValues()
    {
        var cap = SyntheticCaptures.Realistic(N, Layers, Heads);
        var (layers, top) = AttnScope.Analyses.Flow.AttentionFlow.ComputeLayers(cap);
        cap = cap.WithAnalyses([layers.ToAnalysis(), .. top.ToAnalyses()]);
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(cap, "flow-layers"));
        await WaitReadyAsync(page);
        await ClickTabAsync(page, "analyses");
        await ClickAnalysisAsync(page, "flow");
        Assert.StartsWith("from layer 2 (3/3)", await page.TextContentAsync(".as-flow .as-caption"));
        Assert.Equal(layers.Flows.Data[(2 * N + 4) * N + 5], await HoverValueAsync(page, "cellPoint", "value", 4, 5));
        await page.ClickAsync(".as-flow button[title=\"previous frame\"]");
        await SettleAsync(page);
        Assert.StartsWith("from layer 1 (2/3)", await page.TextContentAsync(".as-flow .as-caption"));
        Assert.Equal(layers.Flows.Data[(1 * N + 4) * N + 5], await HoverValueAsync(page, "cellPoint", "value", 4, 5));
        Assert.Contains(Texts(await SvgAsync(page)), t => t.Contains("exact attention flow from layer 1"));
        Assert.Empty(problems);
    }

    [Fact]
    public async Task FlowFromSomeOutputTokensShowsJustThoseRows()
    {
        var cap = SyntheticCaptures.Realistic(N, Layers, Heads);
        var part = AttnScope.Analyses.Flow.AttentionFlow.Compute(cap, rows: [4, 9]);
        cap = cap.WithAnalyses(part.ToAnalyses());
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(cap, "flow-rows"));
        await WaitReadyAsync(page);
        await ClickTabAsync(page, "analyses");
        await ClickAnalysisAsync(page, "flow");
        Assert.Equal(part.Flow.Data[9 * N + 2], await HoverValueAsync(page, "cellPoint", "value", 9, 2));
        // the row labels of the exported SVG are the two computed output tokens only
        var texts = Texts(await SvgAsync(page));
        var rowLabels = cap.Tokens.Select(t => t.Text).ToList();
        Assert.Equal(2 + N, texts.Count(t => rowLabels.Contains(t)));
        Assert.Empty(problems);
    }

    [Fact]
    public async Task AnalysesTabShowsRolloutFlowSaliencyAndRolesWithExactValuesOnHover()
    {
        var cap = Capture();
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(cap, "analyses"));
        await WaitReadyAsync(page);
        await ClickTabAsync(page, "analyses");
        Assert.Equal(["rollout", "flow", "saliency", "roles"],
            await page.Locator(".as-tab[data-analysis]").EvaluateAllAsync<string[]>("b => b.map(x => x.dataset.analysis)"));

        // rollout: the last layer first, with its player; hover gives the exact joint attention
        Assert.StartsWith("after layer 2 (3/3)", await page.TextContentAsync(".as-rollout .as-caption"));
        Assert.True(await page.Locator(".as-viewer > .as-player").IsHiddenAsync()); // the layer player of attention is not shown
        Assert.Equal(AnalysisCaptures.RolloutValue(2, Layers, 5, 0), await HoverValueAsync(page, "cellPoint", "value", 5, 0));
        await Screenshot(page, "rollout");
        await page.ClickAsync(".as-rollout button[title=\"previous frame\"]");
        await SettleAsync(page);
        Assert.StartsWith("after layer 1 (2/3)", await page.TextContentAsync(".as-rollout .as-caption"));
        Assert.Equal(AnalysisCaptures.RolloutValue(1, Layers, 5, 5), await HoverValueAsync(page, "cellPoint", "value", 5, 5));
        Assert.Contains(Texts(await SvgAsync(page)), t => t.Contains("rollout after layer 1 (layers 0–1)"));

        // flow
        await ClickAnalysisAsync(page, "flow");
        Assert.Equal(AnalysisCaptures.FlowValue(4, 5, N), await HoverValueAsync(page, "cellPoint", "value", 4, 5));
        Assert.Contains(Texts(await SvgAsync(page)), t => t.Contains("exact attention flow"));

        // saliency: coloured text, the value on hover; the markup-looking token is text
        await ClickAnalysisAsync(page, "saliency");
        Assert.Equal(N, await page.Locator(".as-sal-token").CountAsync());
        Assert.Equal(1f, await HoverValueAsync(page, "tokenPoint", "saliency", 0, Peak));
        Assert.Equal(AnalysisCaptures.SaliencyValue(6, N, Peak), await HoverValueAsync(page, "tokenPoint", "saliency", 0, 6));
        var colours = await page.Locator(".as-sal-token").EvaluateAllAsync<string[]>("s => s.map(x => getComputedStyle(x).backgroundColor)");
        Assert.NotEqual(colours[Peak], colours[Peak + 1]);
        Assert.Equal(ViewerFixture.XssToken, await page.Locator(".as-sal-token[data-index=\"5\"]").TextContentAsync());
        Assert.Equal(0, await page.Locator(".as-viewer img").CountAsync());
        Assert.Contains("“A cat rested.” = 0.8125", await page.TextContentAsync(".as-sal-target"));
        var exported = Texts(await SvgAsync(page)); // the export draws the same coloured text, token text as text
        Assert.Contains(ViewerFixture.XssToken, exported);
        Assert.Contains("ed", exported);
        await Screenshot(page, "saliency");

        // role map: hover lists every statistic of the head, exactly
        await ClickAnalysisAsync(page, "roles");
        var (x, y) = await PointAsync(page, "cellPoint", 1, 2);
        await page.Mouse.MoveAsync(x, y);
        await page.WaitForFunctionAsync("() => !document.querySelector('.as-tooltip').hidden");
        Assert.Equal(AnalysisCaptures.Role(1, 2, Heads), await TooltipAsync(page, "role"));
        for (int s = 0; s < AnalysisCaptures.StatNames.Length; s++)
            Assert.Equal(AnalysisCaptures.Stat(1, 2, s), ParseValue(await TooltipAsync(page, AnalysisCaptures.StatNames[s])));
        var texts = Texts(await SvgAsync(page));
        foreach (var role in AttnScope.Views.Analyses.RoleColors.Known) Assert.Contains(texts, t => t.StartsWith(role + " ("));
        await Screenshot(page, "roles");
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-control=\"export-png\"]"));
        Assert.Equal("attnscope-roles-encoder.png", download.SuggestedFilename);
        Assert.Empty(problems);
    }

    [Fact]
    public async Task ServedTranslationCaptureShowsSourceAndTargetSaliency()
    {
        var cap = DecodingStepCaptures.Translation();
        cap = AnalysisCaptures.With(cap, AnalysisCaptures.LogProbSaliency(cap, 1, 2, "Hund", -0.25f).Concat(AnalysisCaptures.For(cap, "cross")));
        cap.Save(Path.Combine(fx.CapturesDir, "analyses-translation.safetensors"));
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.Server.Address + "?open=" + Uri.EscapeDataString("analyses-translation.safetensors"));
        await WaitReadyAsync(page);
        await ClickTabAsync(page, "analyses");
        await ClickAnalysisAsync(page, "saliency");
        Assert.Equal(["source", "target prefix"], await page.Locator(".as-sal-section").AllTextContentsAsync());
        Assert.Contains("log P(“Hund” at target position 4) = −0.25", await page.TextContentAsync(".as-sal-target"));
        Assert.Equal(0.5f, await HoverValueAsync(page, "tokenPoint", "target prefix saliency", 1, 2));
        Assert.Equal("<b>schläft</b>", await page.Locator(".as-sal-token[data-section=\"1\"][data-index=\"3\"]").TextContentAsync());
        await Screenshot(page, "saliency-translation");
        // the cross flow, fetched from the server: queries are target tokens
        await ClickAnalysisAsync(page, "flow");
        Assert.Equal(AnalysisCaptures.FlowValue(3, 4, 5), await HoverValueAsync(page, "cellPoint", "value", 3, 4));
        Assert.Contains("query #3: ▁<b>schläft</b>", Texts(await SvgAsync(page)));
        Assert.Empty(problems);
    }

    [Fact]
    public async Task ACaptureWithoutAnalysesHasNoAnalysesTab()
    {
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(fx.Small, "no-analyses"));
        await WaitReadyAsync(page);
        Assert.Equal(7, await page.Locator(".as-tab[data-view]").CountAsync()); // head, model, matrix, text, Q·K, 3D, 3D graph
        Assert.Equal(0, await page.Locator(".as-tab[data-view=\"analyses\"]").CountAsync());
        Assert.Empty(problems);
    }
}
