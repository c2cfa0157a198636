using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using static AttnScope.Tests.Web.ViewerPage;

namespace AttnScope.Tests.Web;

/// <summary>
/// Role names, statistic names, the compare text and the model id of a capture are data from the file: in the
/// viewer's Analyses tab, its hover lists and its SVG export they stay text, and characters XML cannot hold do not
/// break the export.
/// </summary>
[Collection("browser")]
public sealed class HostileAnalysesViewerTests(ViewerFixture fx)
{
    private const string Markup = "<img src=x onerror=alert(1)>";
    private const string BadRole = Markup + "\u0001\u202e";
    private const string BadStat = "</script><b>stat</b>\u0002";
    private const string BadCompare = "</script><script>alert(2)</script>\u0003";

    private static AttentionCapture Capture()
    {
        var cap = SyntheticCaptures.Realistic(8, layers: 2, heads: 2);
        cap = new AttentionCapture(new CaptureMetadata { ModelId = "model\u0004<i>x</i>", Architecture = cap.Metadata.Architecture, Source = cap.Metadata.Source }, cap.Tokens, cap.Stacks.Values);
        string[] stats = [.. AnalysisCaptures.StatNames.Select((n, i) => i == 0 ? BadStat : n)];
        var values = new FloatTensor([2, 2, stats.Length]);
        for (int i = 0; i < values.Data.Length; i++) values.Data[i] = i / 100f;
        IReadOnlyList<IReadOnlyList<string>> roles = [[BadRole, "mixed"], ["sink", BadRole]];
        var heads = new HeadStatsResult("encoder", stats, values, roles).ToAnalysis();
        return AnalysisCaptures.With(cap, AnalysisCaptures.CosineSaliency(cap, 2, compare: BadCompare).Append(heads));
    }

    [Fact]
    public async Task Role_and_statistic_names_and_the_compare_text_stay_printable_text_in_the_page_and_its_export()
    {
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(Capture(), "hostile-analyses"));
        await WaitReadyAsync(page);
        await ClickTabAsync(page, "analyses");

        await page.Locator(".as-tab[data-analysis=\"roles\"]").ClickAsync();
        await SettleAsync(page);
        var (x, y) = await PointAsync(page, "cellPoint", 0, 0);
        await page.Mouse.MoveAsync(x, y);
        await page.WaitForFunctionAsync("() => !document.querySelector('.as-tooltip').hidden");
        Assert.Equal(TokenText.Printable(BadRole), await TooltipAsync(page, "role"));
        var fields = await page.EvaluateAsync<string[]>("() => Array.from(document.querySelectorAll('.as-tooltip [data-field]')).map(e => e.dataset.field)");
        Assert.Contains(TokenText.Printable(BadStat), fields);
        var texts = Texts(await SvgAsync(page)); // parses as XML despite the control character in the model id
        Assert.Contains(texts, t => t.StartsWith(TokenText.Printable(BadRole) + " (2 heads)"));
        Assert.Contains(texts, t => t.Contains("model\uFFFD<i>x</i>"));

        await page.Locator(".as-tab[data-analysis=\"saliency\"]").ClickAsync();
        await SettleAsync(page);
        Assert.Contains(TokenText.Printable(BadCompare), await page.TextContentAsync(".as-sal-target"));
        Assert.Contains(Texts(await SvgAsync(page)), t => t.Contains(TokenText.Printable(BadCompare)));

        Assert.Equal(0, await page.Locator(".as-viewer img, .as-viewer b, .as-viewer i, .as-viewer script").CountAsync());
        Assert.Empty(problems);
    }
}
