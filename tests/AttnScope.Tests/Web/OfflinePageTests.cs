using System.Net;
using Microsoft.Playwright;
using static AttnScope.Tests.Web.ViewerPage;

namespace AttnScope.Tests.Web;

/// <summary>The page of <c>attnscope html</c>, opened from file:// with every network request refused and counted.</summary>
[Collection("browser")]
public sealed class OfflinePageTests(ViewerFixture fx)
{
    private static async Task<List<string>> BlockNetworkAsync(IBrowserContext context, string allowed)
    {
        var requests = new List<string>();
        await context.RouteAsync("**/*", async route =>
        {
            if (route.Request.Url == allowed) { await route.ContinueAsync(); return; }
            lock (requests) requests.Add(route.Request.Url);
            await route.AbortAsync();
        });
        return requests;
    }

    [Fact]
    public async Task OfflinePageMakesNoRequestAndShowsEveryView()
    {
        var url = fx.OfflinePage(fx.Small, "small");
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        var requests = await BlockNetworkAsync(context, url);
        await page.GotoAsync(url);
        await WaitReadyAsync(page);

        await HoverTokenAsync(page, "q", 3);
        var lines = Lines(await SvgAsync(page));
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Equal(3, l.Q));

        await ClickTabAsync(page, "model");
        Assert.Contains("layer 2", Texts(await SvgAsync(page)));

        await ClickTabAsync(page, "matrix");
        await SetControlAsync(page, "layer", "2");
        await SetControlAsync(page, "head", "1");
        var (x, y) = await PointAsync(page, "cellPoint", 7, 0);
        await page.Mouse.MoveAsync(x, y);
        await page.WaitForFunctionAsync("() => document.querySelector('.as-tooltip').dataset.exact === 'true'");
        Assert.Equal(fx.Small.Stacks["encoder"].Attention[2, 1, 7, 0], ParseValue(await TooltipAsync(page, "value")));

        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-control=\"export-svg\"]"));
        Assert.Equal("attnscope-matrix-encoder-layer2-head1.svg", download.SuggestedFilename);

        Assert.Empty(requests);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task OfflinePageWorksInsideASandboxedIframe()
    {
        var html = File.ReadAllText(new Uri(fx.OfflinePage(fx.Small, "framed")).LocalPath);
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        var requests = await BlockNetworkAsync(context, "about:blank");
        await page.SetContentAsync($"<iframe sandbox=\"allow-scripts\" width=\"1200\" height=\"800\" srcdoc=\"{WebUtility.HtmlEncode(html)}\"></iframe>");
        var frame = page.FrameLocator("iframe");
        await frame.Locator(".as-viewer[data-ready]").WaitForAsync(new LocatorWaitForOptions { Timeout = 20000 });
        Assert.Equal(4, await frame.Locator(".as-head").CountAsync());
        Assert.Empty(requests);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
