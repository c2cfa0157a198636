using System.Net.Http.Json;
using System.Net;
using System.Text.Json.Nodes;
using AttnScope.Capture.Long;
using AttnScope.Sources;
using AttnScope.Sources.Long;
using AttnScope.Tests.Long;
using AttnScope.Tests.Support;
using Microsoft.Playwright;

namespace AttnScope.Tests.Web;

/// <summary>
/// The long view (long-view.js at /long) in headless Chromium on a long capture of ~1,500 tokens made by the
/// long-context tiny Llama: it opens on the whole sequence at a pyramid block, zooms down to single tokens with
/// labels (rows of the chosen head), finds tokens, follows the range slider, and wheel-zooms; the tile API refuses
/// bad requests with one JSON line.
/// </summary>
[Collection("browser")]
public sealed class LongViewTests(ViewerFixture fx)
{
    private static readonly Lock Gate = new();
    private static string? _written;

    /// <summary>Writes the long capture into the fixture's captures folder once (layer 1 head 2 as u8 rows, pyramid).</summary>
    private string Capture()
    {
        lock (Gate)
        {
            if (_written is not null && File.Exists(Path.Combine(fx.CapturesDir, _written))) return _written;
            using var dir = new TempDir();
            var session = DecoderSession.Open(LongModel.Write(dir.Path, 4096));
            session.CaptureLong(LongModel.Text(700), new LongCaptureOptions { Storage = AttentionStorage.U8, Layers = [1], Heads = [2], Pyramid = true },
                Path.Combine(fx.CapturesDir, "long-view.safetensors"));
            return _written = "long-view.safetensors";
        }
    }

    private static Task<T> Stat<T>(IPage page, string field) => page.EvaluateAsync<T>($"() => window.attnscopeLong.{field}");

    /// <summary>Distinct colours inside the plot area (the canvas pixels right of and below the label margin).</summary>
    private static Task<int> PlotColoursAsync(IPage page) => page.EvaluateAsync<int>(@"() => {
        const c = document.getElementById('lv-canvas'), d = window.devicePixelRatio || 1;
        const img = c.getContext('2d').getImageData(100 * d, 100 * d, 700 * d, 700 * d).data, seen = new Set();
        for (let i = 0; i < img.length; i += 4 * 37) seen.add((img[i] << 16) | (img[i + 1] << 8) | img[i + 2]);
        return seen.size; }");

    /// <summary>Waits until no tile is on its way and the last one is painted.</summary>
    private static async Task SettleAsync(IPage page)
    {
        await page.WaitForTimeoutAsync(50);
        await page.WaitForFunctionAsync("() => window.attnscopeLong.pending === 0", null, new PageWaitForFunctionOptions { Timeout = 20000 });
        await page.EvaluateAsync("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
    }

    [Fact]
    public async Task LongViewOpensZoomsToLabelledTokensSearchesAndFollowsTheRangeSlider()
    {
        var name = Capture();
        using var cap = LongCapture.Open(Path.Combine(fx.CapturesDir, name));
        int n = cap.Layout.Tokens;
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.Server.Address + "long?name=" + name);
        try { await page.WaitForFunctionAsync("() => window.attnscopeLong && window.attnscopeLong.ready", null, new PageWaitForFunctionOptions { Timeout = 20000 }); }
        catch (TimeoutException)
        {
            var shown = await page.EvaluateAsync<string>("() => document.body.innerText");
            Assert.Fail($"the long view did not open: {shown}\n{string.Join("\n", problems)}");
        }

        // Whole sequence, at the block that gives about a cell per pixel (never finer than the tokens need), no labels.
        Assert.Equal(n, await Stat<double>(page, "span"));
        int block = await Stat<int>(page, "block");
        Assert.Equal(Math.Max(1, (int)Math.Pow(2, Math.Ceiling(Math.Log2(n / 720.0)))), block);
        Assert.Equal(0, await Stat<int>(page, "labels"));
        Assert.True(await PlotColoursAsync(page) > 20, "the plot is blank");
        Assert.Equal("1", await page.EvalOnSelectorAsync<string>("#lv-layer", "e => e.value"));
        Assert.Equal("2", await page.EvalOnSelectorAsync<string>("#lv-head", "e => e.value"));

        // Zoom in with the button until single tokens are labelled: the chosen head's rows give block 1.
        for (int i = 0; i < 12 && await Stat<int>(page, "labels") == 0; i++)
        {
            await page.ClickAsync("#lv-zoom-in");
            await SettleAsync(page);
        }
        double span = await Stat<double>(page, "span");
        Assert.True(span <= 720 / 14.0, $"span {span}");
        Assert.InRange(await Stat<int>(page, "labels"), 2 * (int)Math.Floor(span), 2 * (int)Math.Ceiling(span) + 2);
        Assert.Equal(1, await Stat<int>(page, "block"));
        var shot = Path.Combine(Environment.GetEnvironmentVariable("ATTNSCOPE_SCREENSHOTS") ?? Path.GetTempPath(), "long-view-tokens.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot });

        // Token search: every hit contains the word, and the view jumps to the first one, labelled.
        await page.FillAsync("#lv-search", "and");
        await page.PressAsync("#lv-search", "Enter");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#lv-hits li').length > 0");
        await SettleAsync(page);
        var hits = await page.EvalOnSelectorAllAsync<string[]>("#lv-hits button", "bs => bs.map(b => b.textContent)");
        int expected = cap.Tokens.Count(t => t.Text.Contains("and", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(Math.Min(expected, 200), hits.Length);
        int firstHit = int.Parse(hits[0].Split(':')[0]);
        Assert.Contains("and", cap.Tokens[firstHit].Text, StringComparison.OrdinalIgnoreCase);
        double x0 = await Stat<double>(page, "x0");
        span = await Stat<double>(page, "span");
        Assert.InRange(firstHit, x0, x0 + span);
        Assert.True(await Stat<int>(page, "labels") > 0);

        // Range slider: tokens 100..300.
        await page.EvalOnSelectorAsync("#lv-from", "e => { e.value = 100; e.dispatchEvent(new Event('input')); }");
        await page.EvalOnSelectorAsync("#lv-to", "e => { e.value = 300; e.dispatchEvent(new Event('input')); }");
        await SettleAsync(page);
        Assert.Equal(100, await Stat<double>(page, "x0"));
        Assert.Equal(200, await Stat<double>(page, "span"));

        // Wheel over the plot zooms out around the pointer; a head without rows stops at the pyramid's base block.
        var box = (await page.QuerySelectorAsync("#lv-canvas"))!;
        var bb = (await box.BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(bb.X + 96 + 360, bb.Y + 96 + 360);
        await page.Mouse.WheelAsync(0, 300);
        await SettleAsync(page);
        Assert.Equal(250, await Stat<double>(page, "span"), 1);
        await page.SelectOptionAsync("#lv-head", "0");
        await SettleAsync(page);
        Assert.Equal(cap.Layout.Blocks[0], await Stat<int>(page, "block"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task TileRequestsAnswerBadInputWithOneJsonLine()
    {
        var name = Capture();
        using var http = new HttpClient { BaseAddress = fx.Server.Address };
        async Task<(HttpStatusCode, string)> Get(string q)
        {
            var res = await http.GetAsync("api/long/" + q);
            return (res.StatusCode, await res.Content.ReadAsStringAsync());
        }
        var (ok, info) = await Get("info?name=" + name);
        Assert.Equal(HttpStatusCode.OK, ok);
        var meta = JsonNode.Parse(info)!;
        Assert.Equal("[[1,2]]", meta["chosen"]!.ToJsonString());

        // A link inside the folder to a file outside it is as good as absent.
        var link = Path.Combine(fx.CapturesDir, "long-link.safetensors");
        File.Copy(Path.Combine(fx.CapturesDir, name), Path.Combine(fx.Dir.Path, "outside-long.safetensors"), overwrite: true);
        File.CreateSymbolicLink(link, Path.Combine(fx.Dir.Path, "outside-long.safetensors"));
        try
        {
            var (linkCode, linkBody) = await Get("info?name=long-link.safetensors");
            Assert.Equal(HttpStatusCode.NotFound, linkCode);
            Assert.Contains("no saved capture", linkBody);
        }
        finally { File.Delete(link); }

        foreach (var (q, status, words) in new[]
        {
            ("info?name=..%2Fsecret.safetensors", HttpStatusCode.BadRequest, "paths are refused"),
            ("info?name=nothing.safetensors", HttpStatusCode.NotFound, "no saved capture"),
            ("info?name=small.safetensors", HttpStatusCode.BadRequest, "not attnscope.long/1"),
            ($"tile?name={name}&layer=0&head=0&stat=max&block=3&row=0&col=0&rows=4&cols=4", HttpStatusCode.BadRequest, "not a power of two"),
            ($"tile?name={name}&layer=9&head=0&stat=max&block=4&row=0&col=0&rows=4&cols=4", HttpStatusCode.BadRequest, "out of range"),
            ($"tile?name={name}&layer=0&head=0&stat=max&block=1&row=0&col=0&rows=4&cols=4", HttpStatusCode.BadRequest, "only pyramid levels"),
            ($"tile?name={name}&layer=1&head=2&stat=max&block=1&row=0&col=0&rows=2000&cols=2000", HttpStatusCode.BadRequest, "larger than"),
            ($"tile?name={name}&layer=x&head=2&stat=max&block=1&row=0&col=0&rows=2&cols=2", HttpStatusCode.BadRequest, "'layer' must be an integer"),
        })
        {
            var (code, body) = await Get(q);
            Assert.Equal(status, code);
            var error = JsonNode.Parse(body)!["error"]!.GetValue<string>();
            Assert.Contains(words, error);
            Assert.DoesNotContain("\n", error);
            Assert.DoesNotContain(fx.CapturesDir, error);
        }
    }

    /// <summary>
    /// Issue 14: the served main page lists the folder's long captures apart (they are not main-viewer captures) and
    /// links each to /long; the long view links back; the offline page says how a long capture is opened.
    /// </summary>
    [Fact]
    public async Task MainPageLinksLongCapturesAndTheLongViewLinksBack()
    {
        var name = Capture();
        using (var http = new HttpClient { BaseAddress = fx.Server.Address })
        {
            var saved = await http.GetFromJsonAsync<JsonObject>("api/saved");
            Assert.Contains(name, saved!["long"]!.AsArray().Select(n => (string)n!));
            Assert.DoesNotContain(name, saved["captures"]!.AsArray().Select(n => (string)n!));
        }

        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.Server.Address.ToString());
        var link = page.Locator($"#as-long-list a[data-long-capture='{name}']");
        await link.WaitForAsync(new LocatorWaitForOptions { Timeout = 20000 });
        Assert.True(await page.Locator("#as-long").IsVisibleAsync(), "the long-capture list is hidden");
        Assert.DoesNotContain(name, await page.Locator("#as-saved-list").InnerTextAsync());
        Assert.Equal("long?name=" + name, await link.GetAttributeAsync("href"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "attnscope-long-links-main.png") });

        // Keyboard reachable: focus the link and press Enter, the long view opens on that capture.
        await link.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForFunctionAsync("() => window.attnscopeLong && window.attnscopeLong.ready", null, new PageWaitForFunctionOptions { Timeout = 20000 });
        Assert.EndsWith("/long?name=" + name, page.Url);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "attnscope-long-links-long.png") });

        // And back to the main page, which lists the captures again.
        await page.ClickAsync("#lv-back");
        await page.Locator($"#as-long-list a[data-long-capture='{name}']").WaitForAsync(new LocatorWaitForOptions { Timeout = 20000 });
        Assert.Equal(fx.Server.Address.ToString(), page.Url);
        Assert.Empty(problems);

        // The offline page (one capture, no server) says how to open a long capture.
        var url = fx.OfflinePage(fx.Small, "long-note");
        var (context2, offline, problems2) = await fx.NewPageAsync();
        await using var __ = context2;
        await offline.GotoAsync(url);
        var note = await offline.Locator("#as-long-note").InnerTextAsync();
        Assert.Contains("attnscope serve --captures FOLDER", note);
        Assert.Contains("/long?name=", note);
        Assert.Empty(problems2);
    }
}
