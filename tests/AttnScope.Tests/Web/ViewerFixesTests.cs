using System.Text.Json;
using Microsoft.Playwright;
using static AttnScope.Tests.Web.ViewerPage;

namespace AttnScope.Tests.Web;

/// <summary>Issue 14, the fixes a user hit: one tooltip, the model view's sentence filter, the served head view's height,
/// few-row flow matrices, scoped offline styles, export in a sandbox, keyboard access.</summary>
[Collection("browser")]
public sealed class ViewerFixesTests(ViewerFixture fx)
{
    /// <summary>The bounding box (x0, y0, x1, y1, in canvas pixels) of the pixels that differ between two RGBA dumps, or null.</summary>
    private static int[]? Changed(JsonElement a, JsonElement b, int width)
    {
        var pa = a.EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var pb = b.EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(pa.Length, pb.Length);
        int x0 = int.MaxValue, y0 = int.MaxValue, x1 = -1, y1 = -1;
        for (int i = 0; i < pa.Length; i++)
        {
            if (pa[i] == pb[i]) continue;
            int px = i / 4;
            int x = px % width, y = px / width;
            x0 = Math.Min(x0, x); y0 = Math.Min(y0, y); x1 = Math.Max(x1, x); y1 = Math.Max(y1, y);
        }
        return x1 < 0 ? null : [x0, y0, x1, y1];
    }

    private const string CanvasPixels =
        "(sel) => { const c = document.querySelector(sel); return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }";

    [Fact]
    public async Task MatrixHoverShowsOnlyThePageTooltipNotOnePaintedIntoTheCanvas()
    {
        var url = fx.OfflinePage(fx.Small, "one-tooltip");
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(url);
        await WaitReadyAsync(page);
        await ClickTabAsync(page, "matrix");
        const string canvas = ".as-matrix-view canvas";
        var width = await page.EvaluateAsync<int>($"() => document.querySelector('{canvas}').width");
        var ratio = await page.EvaluateAsync<double>("() => window.devicePixelRatio");
        var before = await page.EvaluateAsync<JsonElement>(CanvasPixels, canvas);
        var (x, y) = await PointAsync(page, "cellPoint", 4, 2);
        await page.Mouse.MoveAsync(x, y);
        await SettleAsync(page);
        Assert.True(await page.Locator(".as-tooltip").IsVisibleAsync());
        Assert.Equal("#4 " + fx.Small.Tokens[4].Text, await TooltipAsync(page, "query"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = "/tmp/vshots/matrix-hover.png" });

        // Only the hovered cell's outline changes in the canvas: no second, painted tooltip beside it.
        var after = await page.EvaluateAsync<JsonElement>(CanvasPixels, canvas);
        var box = Changed(before, after, width);
        Assert.NotNull(box);
        var cell = await page.EvaluateAsync<double>("() => attnscope.viewer.current.cell") * ratio;
        Assert.True(box[2] - box[0] <= cell + 6 * ratio && box[3] - box[1] <= cell + 6 * ratio,
            $"changed area {string.Join(",", box)} is larger than one cell ({cell} px)");

        // The export keeps the hovered cell's values in the picture.
        Assert.Contains(Texts(await SvgAsync(page)), t => t.StartsWith("query #4", StringComparison.Ordinal));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task ModelViewSentenceFilterKeepsOnlyTheChosenRowsAndColumnsInEveryThumbnail()
    {
        var url = fx.OfflinePage(fx.Xss, "model-filter");
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(url);
        await WaitReadyAsync(page);
        await ClickTabAsync(page, "model");
        const string canvas = ".as-model-view canvas";
        var all = await page.EvaluateAsync<JsonElement>(CanvasPixels, canvas);
        int a = fx.Xss.Tokens.Count(t => t.Segment == AttnScope.Capture.Segment.A);
        int b = fx.Xss.Tokens.Count(t => t.Segment == AttnScope.Capture.Segment.B);
        Assert.True(a > 0 && b > 0);

        await SetControlAsync(page, "filter", "AB");
        var dims = await page.EvaluateAsync<int[][]>("() => attnscope.viewer.current.images.flat().map(c => [c.height, c.width])");
        Assert.Equal(2 * 3, dims.Length);
        Assert.All(dims, d => Assert.Equal(new[] { a, b }, d));
        var ab = await page.EvaluateAsync<JsonElement>(CanvasPixels, canvas);
        Assert.NotNull(Changed(all, ab, await page.EvaluateAsync<int>($"() => document.querySelector('{canvas}').width")));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = "/tmp/vshots/model-ab.png" });

        await SetControlAsync(page, "filter", "BB");
        dims = await page.EvaluateAsync<int[][]>("() => attnscope.viewer.current.images.flat().map(c => [c.height, c.width])");
        Assert.All(dims, d => Assert.Equal(new[] { b, b }, d));
        await SetControlAsync(page, "filter", "all");
        dims = await page.EvaluateAsync<int[][]>("() => attnscope.viewer.current.images.flat().map(c => [c.height, c.width])");
        Assert.All(dims, d => Assert.Equal(new[] { 8, 8 }, d));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task ServedHeadViewScrollBoxFitsTheWindowSoOnlyTheBoxScrolls()
    {
        using var dir = new AttnScope.Tests.Support.TempDir();
        var captures = Path.Combine(dir.Path, "captures");
        Directory.CreateDirectory(captures);
        AttnScope.Tests.Support.SyntheticCaptures.Realistic(160, layers: 2, heads: 4).Save(Path.Combine(captures, "long.safetensors"));
        await using var server = await AttnScope.Web.Server.ViewerServer.StartAsync(
            new AttnScope.Web.Server.ViewerServerOptions { CapturesDir = captures, Port = 0 });
        foreach (var height in new[] { 900, 640 })
        {
            var (context, page, problems) = await fx.NewPageAsync();
            await using var _ = context;
            await page.SetViewportSizeAsync(1400, height);
            await page.GotoAsync(server.Address + "?open=" + Uri.EscapeDataString("long.safetensors"));
            await WaitReadyAsync(page);
            var box = ".as-head-view .as-scroll";
            Assert.True(await page.EvaluateAsync<bool>($"() => {{ const b = document.querySelector('{box}'); return b.scrollHeight > b.clientHeight + 100; }}"),
                "the head view's box scrolls its 160 tokens");
            var (pageHeight, window) = (await page.EvaluateAsync<int>("() => document.documentElement.scrollHeight"), await page.EvaluateAsync<int>("() => innerHeight"));
            Assert.True(pageHeight <= window, $"the page is {pageHeight} px tall in a {window} px window: it scrolls as well as the box");
            var bottom = await page.EvaluateAsync<double>($"() => document.querySelector('{box}').getBoundingClientRect().bottom");
            Assert.True(bottom <= window && bottom > window - 80, $"the box ends at {bottom} in a {window} px window");
            if (height == 900) await page.ScreenshotAsync(new PageScreenshotOptions { Path = "/tmp/vshots/served-head.png" });
            Assert.True(problems.Count == 0, string.Join("\n", problems));
        }
    }

    [Fact]
    public async Task FlowFromAFewOutputTokensAt512TokensHasReadableLabelledRowsAndAColourBarWhoseLabelsStayApart()
    {
        const int n = 512;
        var cap = AttnScope.Tests.Support.SyntheticCaptures.Realistic(n, layers: 2, heads: 2);
        var part = AttnScope.Analyses.Flow.AttentionFlow.Compute(cap, rows: [0, 7]);
        cap = cap.WithAnalyses(part.ToAnalyses());
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(cap, "flow-few-rows"));
        await WaitReadyAsync(page);
        await ClickTabAsync(page, "analyses");
        await page.Locator(".as-tab[data-analysis=\"flow\"]").ClickAsync();
        await SettleAsync(page);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = "/tmp/vshots/flow-few-rows.png" });

        var rowH = await page.EvaluateAsync<double>("() => attnscope.viewer.current.panel.matrix.rowH");
        Assert.True(rowH >= 14, $"rows are {rowH} px tall");
        var svg = await SvgAsync(page);
        var texts = Texts(svg);
        Assert.Contains(cap.Tokens[0].Text, texts);
        Assert.Contains(cap.Tokens[7].Text, texts);
        // keys are labelled too (every few of them at 1 px a column)
        var keyLabels = svg.Descendants(Svg + "text").Count(t => ((string?)t.Attribute("transform"))?.Contains("rotate") == true);
        Assert.True(keyLabels >= 20, $"{keyLabels} key labels");

        // The colour bar's two labels (the maximum, and 0) sit at the same x, at least a line apart.
        var zero = svg.Descendants(Svg + "text").Last(t => t.Value == "0");
        var x = (string?)zero.Attribute("x");
        var bar = svg.Descendants(Svg + "text").Where(t => (string?)t.Attribute("x") == x).Select(t => double.Parse((string)t.Attribute("y")!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(2, bar.Count);
        Assert.True(Math.Abs(bar[1] - bar[0]) >= 14, $"colour-bar labels {Math.Abs(bar[1] - bar[0])} px apart");

        // Hover still finds the right cell in the taller rows.
        var (hx, hy) = await PointAsync(page, "cellPoint", 7, 300);
        await page.Mouse.MoveAsync(hx, hy);
        await page.WaitForFunctionAsync("() => { const t = document.querySelector('.as-tooltip'); return !t.hidden && t.dataset.exact === 'true'; }");
        Assert.Equal(part.Flow.Data[7 * n + 300], ParseValue(await TooltipAsync(page, "value")));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private const string HostStyles = """
        () => [...document.querySelectorAll('body, body > *, button, select, td')].map(e => {
          const c = getComputedStyle(e);
          return [e.tagName, c.margin, c.padding, c.fontFamily, c.fontSize, c.color, c.backgroundColor, c.border, c.display, c.position].join('|');
        })
        """;

    [Fact]
    public async Task OfflinePageStylesAreScopedToTheViewerRootAndLeaveTheHostPageAlone()
    {
        var html = File.ReadAllText(new Uri(fx.OfflinePage(fx.Xss, "scoped")).LocalPath);
        var css = System.Text.RegularExpressions.Regex.Match(html, "<style[^>]*>(.*?)</style>", System.Text.RegularExpressions.RegexOptions.Singleline).Groups[1].Value;
        Assert.NotEmpty(css.Trim());
        // Every rule's every selector starts at the viewer's root.
        var noComments = System.Text.RegularExpressions.Regex.Replace(css, @"/\*.*?\*/", "", System.Text.RegularExpressions.RegexOptions.Singleline);
        var selectors = System.Text.RegularExpressions.Regex.Matches(noComments, @"([^{}]+)\{[^{}]*\}").Select(m => m.Groups[1].Value)
            .SelectMany(g => g.Split(',')).Select(x => x.Trim()).ToList();
        Assert.True(selectors.Count > 20);
        Assert.All(selectors, x => Assert.StartsWith(".as-root", x, StringComparison.Ordinal));

        // A host page (a notebook, a report) keeps its look when the viewer's style joins it.
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.SetContentAsync("<h1>Report</h1><p>Some text</p><button>Run</button><select><option>one</option></select><table><tr><td>cell</td></tr></table><div>plain</div>");
        var before = await page.EvaluateAsync<string[]>(HostStyles);
        await page.EvaluateAsync("(css) => { const s = document.createElement('style'); s.textContent = css; document.head.append(s); }", css);
        var after = await page.EvaluateAsync<string[]>(HostStyles);
        Assert.Equal(before, after);

        // The viewer itself is still styled: the tabs are a bordered group and the pressed one is blue.
        await page.GotoAsync(fx.OfflinePage(fx.Xss, "scoped"));
        await WaitReadyAsync(page);
        Assert.Equal("5px", await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('.as-tabs')).borderRadius"));
        Assert.Equal("rgb(42, 111, 176)", await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('.as-tab[aria-pressed=true]')).backgroundColor"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = "/tmp/vshots/offline-scoped.png" });
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task ServedPageKeepsItsLookWithThePageStylesheet()
    {
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.Server.Address + "?open=" + Uri.EscapeDataString("small.safetensors"));
        await WaitReadyAsync(page);
        Assert.Equal("12px 16px", await page.EvaluateAsync<string>("() => getComputedStyle(document.body).margin"));
        Assert.Equal("flex", await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('.as-form')).display"));
        Assert.Equal("rgb(42, 111, 176)", await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('#as-capture')).backgroundColor"));
        Assert.Equal("rgb(42, 111, 176)", await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('.as-tab[aria-pressed=true]')).backgroundColor"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = "/tmp/vshots/served-page.png" });
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task ExportInsideASandboxedFrameWithoutDownloadsSaysSoAndShowsThePictureToSave()
    {
        var html = File.ReadAllText(new Uri(fx.OfflinePage(fx.Small, "sandboxed-export")).LocalPath);
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        var downloads = 0;
        page.Download += (_, _) => downloads++;
        await page.SetContentAsync($"<iframe sandbox=\"allow-scripts\" width=\"1200\" height=\"800\" srcdoc=\"{System.Net.WebUtility.HtmlEncode(html)}\"></iframe>");
        var frame = page.FrameLocator("iframe");
        await frame.Locator(".as-viewer[data-ready]").WaitForAsync(new LocatorWaitForOptions { Timeout = 20000 });
        Assert.True(await frame.Locator(".as-export-note").IsHiddenAsync());
        await frame.Locator("[data-control=\"export-png\"]").ClickAsync();
        var note = frame.Locator(".as-export-note");
        await note.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible, Timeout = 10000 });
        Assert.Equal("status", await note.GetAttributeAsync("role"));
        var text = await note.TextContentAsync();
        Assert.Contains("sandboxed frame", text);
        Assert.Contains("attnscope-head-encoder-layer0.png", text);
        // The picture is there to save by hand.
        await frame.Locator(".as-export-image").WaitForAsync();
        Assert.True(await frame.Locator(".as-export-image").EvaluateAsync<bool>("i => i.complete && i.naturalWidth > 100"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = "/tmp/vshots/sandboxed-export.png" });
        Assert.Equal(0, downloads);
        // (Chromium logs the blocked download itself; the page raised nothing.)
        Assert.DoesNotContain(problems, p => p.StartsWith("page error", StringComparison.Ordinal));

        // On its own the page downloads and says nothing.
        var (context2, own, problems2) = await fx.NewPageAsync();
        await using var __ = context2;
        await own.GotoAsync(fx.OfflinePage(fx.Small, "sandboxed-export"));
        await WaitReadyAsync(own);
        var download = await own.RunAndWaitForDownloadAsync(() => own.ClickAsync("[data-control=\"export-png\"]"));
        Assert.Equal("attnscope-head-encoder-layer0.png", download.SuggestedFilename);
        Assert.True(await own.Locator(".as-export-note").IsHiddenAsync());
        Assert.True(problems2.Count == 0, string.Join("\n", problems2));
    }

    private static Task<string> HoverJson(IPage page) =>
        page.EvaluateAsync<string>("() => JSON.stringify(attnscope.viewer.current.hover)");

    [Fact]
    public async Task ViewsAreReachableAndUsableByKeyboardWithAccessibleNames()
    {
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(fx.Small, "keyboard"));
        await WaitReadyAsync(page);

        // Tab order: from the page's start, Tab reaches the view tabs, then on to the head view's canvas.
        var reached = new List<string>();
        for (int i = 0; i < 30 && !reached.Contains("canvas:head"); i++)
        {
            await page.Keyboard.PressAsync("Tab");
            reached.Add(await page.EvaluateAsync<string>("() => { const a = document.activeElement; return a.tagName === 'CANVAS' ? 'canvas:' + (a.closest('.as-head-view') ? 'head' : 'other') : a.tagName + ':' + (a.dataset.view || a.dataset.control || a.dataset.head || ''); }"));
        }
        Assert.Equal("BUTTON:head", reached[0]);
        Assert.Contains("SELECT:layer", reached);
        Assert.Contains("BUTTON:export-png", reached);
        Assert.Contains("canvas:head", reached);

        // Head view: arrows move through the tokens, Enter keeps one, Escape releases it.
        await page.Keyboard.PressAsync("ArrowDown");
        await page.Keyboard.PressAsync("ArrowDown");
        await SettleAsync(page);
        Assert.Equal("{\"side\":\"q\",\"index\":1}", await HoverJson(page));
        Assert.All(Lines(await SvgAsync(page)), l => Assert.Equal(1, l.Q));
        await page.Keyboard.PressAsync("ArrowRight");
        await page.Keyboard.PressAsync("Enter");
        await SettleAsync(page);
        Assert.Equal("{\"side\":\"k\",\"index\":1}", await HoverJson(page));
        Assert.True(await page.EvaluateAsync<bool>("() => attnscope.viewer.current.pinned"));
        await page.Keyboard.PressAsync("Escape");
        Assert.Equal("null", await HoverJson(page));

        // View tabs: the arrow keys move along them.
        await page.FocusAsync(".as-tab[data-view=\"head\"]");
        await page.Keyboard.PressAsync("ArrowRight");
        await SettleAsync(page);
        Assert.Equal("model", await page.EvaluateAsync<string>("() => attnscope.viewer.state.view"));
        Assert.Equal("model", await page.EvaluateAsync<string>("() => document.activeElement.dataset.view"));

        // Model view: arrows pick a thumbnail, Enter opens it in the matrix view.
        await page.FocusAsync(".as-model-view canvas");
        await page.Keyboard.PressAsync("ArrowRight");
        await page.Keyboard.PressAsync("ArrowRight");
        await page.Keyboard.PressAsync("ArrowDown");
        await SettleAsync(page);
        Assert.Equal("{\"layer\":1,\"head\":1}", await HoverJson(page));
        await page.Keyboard.PressAsync("Enter");
        await SettleAsync(page);
        Assert.Equal("matrix", await page.EvaluateAsync<string>("() => attnscope.viewer.state.view"));
        Assert.Equal(new[] { 1, 1 }, await page.EvaluateAsync<int[]>("() => [attnscope.viewer.state.layer, attnscope.viewer.state.head]"));

        // Matrix view: arrows move the cell, and the page's tooltip gives its value.
        await page.FocusAsync(".as-matrix-view canvas");
        foreach (var key in new[] { "ArrowRight", "ArrowRight", "ArrowDown", "ArrowDown", "ArrowDown", "ArrowUp" })
            await page.Keyboard.PressAsync(key);
        await SettleAsync(page);
        Assert.Equal("{\"q\":2,\"k\":1}", await HoverJson(page)); // the first key picks the first cell
        await page.WaitForFunctionAsync("() => { const t = document.querySelector('.as-tooltip'); return !t.hidden && t.dataset.exact === 'true'; }");
        Assert.Equal(fx.Small.Stacks["encoder"].Attention[1, 1, 2, 1], ParseValue(await TooltipAsync(page, "value")));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = "/tmp/vshots/keyboard-matrix.png" });

        // Accessible names: every canvas view and every button has one.
        foreach (var view in new[] { "head", "model", "matrix" })
        {
            await ClickTabAsync(page, view);
            var label = await page.Locator($".as-{view}-view canvas").GetAttributeAsync("aria-label");
            Assert.False(string.IsNullOrWhiteSpace(label));
            Assert.Equal("0", await page.Locator($".as-{view}-view canvas").GetAttributeAsync("tabindex"));
        }
        var unnamed = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('.as-root button')].filter(b => !(b.getAttribute('aria-label') || b.textContent).trim()).map(b => b.outerHTML)");
        Assert.Empty(unnamed);
        Assert.Equal("Export the current view as PNG", await page.GetAttributeAsync("[data-control=\"export-png\"]", "aria-label"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
