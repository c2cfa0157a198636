using System.Globalization;
using System.Text.Json;
using AttnScope.Analyses.Norms;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using Microsoft.Playwright;
using static AttnScope.Tests.Web.ViewerPage;

namespace AttnScope.Tests.Web;

/// <summary>Issue 14, the features users expect: mean and max of heads, norm-based attention, the text view, weight
/// boxes, the Q·K pair on hover, dark mode, state in the address, the input text.</summary>
[Collection("browser")]
public sealed class ViewerFeaturesTests(ViewerFixture fx)
{
    private const string Shots = "/tmp/vshots";

    /// <summary>10 tokens, 3 layers × 4 heads, queries, keys and values of size 4, a text with markup in it.</summary>
    private static AttentionCapture QkvCapture()
    {
        var c = SyntheticCaptures.Encoder(3, 4, 10, seed: 5, qkv: true);
        var meta = new CaptureMetadata { ModelId = "synthetic", Architecture = "bert", Source = "managed", Texts = ["The <b>cat</b> & \"dog\"", "second <i>one</i>"] };
        return new AttentionCapture(meta, c.Tokens, [c.Stacks[AttentionStack.Encoder]]);
    }

    private async Task<(IBrowserContext Context, IPage Page, List<string> Problems)> OpenAsync(AttentionCapture cap, string name, string hash = "", ColorScheme? scheme = null)
    {
        var url = fx.OfflinePage(cap, name) + hash;
        var (context, page, problems) = await fx.NewPageAsync();
        if (scheme is { } s) await page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = s });
        await page.GotoAsync(url);
        await WaitReadyAsync(page);
        return (context, page, problems);
    }

    private static async Task ShotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(Shots);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Shots, name + ".png") });
    }

    private static void NoProblems(List<string> problems) => Assert.True(problems.Count == 0, string.Join("\n", problems));

    private static float Mean(AttentionStack s, int l, int q, int k)
    {
        double sum = 0;
        for (int h = 0; h < s.Heads; h++) sum += s.Attention.Slice(l, h)[q * s.Keys + k];
        return (float)(sum / s.Heads);
    }

    private static float Max(AttentionStack s, int l, int q, int k) =>
        Enumerable.Range(0, s.Heads).Max(h => s.Attention.Slice(l, h)[q * s.Keys + k]);

    [Fact]
    public async Task MatrixViewShowsTheMeanAndTheMaxOfTheHeadsWithExactValuesOnHover()
    {
        var cap = QkvCapture();
        var s = cap.Stacks[AttentionStack.Encoder];
        var (context, page, problems) = await OpenAsync(cap, "mean-max");
        await using var _ = context;
        await ClickTabAsync(page, "matrix");
        await SetControlAsync(page, "layer", "1");
        foreach (var (mode, expected) in new[] { ("mean", (Func<int, int, float>)((q, k) => Mean(s, 1, q, k))), ("max", (q, k) => Max(s, 1, q, k)) })
        {
            await SetControlAsync(page, "head", mode);
            foreach (var (q, k) in new[] { (2, 7), (6, 1) })
            {
                var (x, y) = await PointAsync(page, "cellPoint", q, k);
                await page.Mouse.MoveAsync(x, y);
                await SettleAsync(page);
                await page.WaitForFunctionAsync("() => document.querySelector('.as-tooltip').dataset.exact === 'true'");
                var shown = ParseValue(await TooltipAsync(page, "value"));
                Assert.Equal(expected(q, k), shown, 6);
            }
            Assert.Contains($"{mode} of 4 heads", string.Join(" ", Texts(await SvgAsync(page))));
            if (mode == "mean") await ShotAsync(page, "feature-matrix-mean");
        }
        NoProblems(problems);
    }

    [Fact]
    public async Task HeadViewCombinesTheShownHeadsIntoOneMeanOrMaxWithItsWeightBoxes()
    {
        var cap = QkvCapture();
        var s = cap.Stacks[AttentionStack.Encoder];
        var (context, page, problems) = await OpenAsync(cap, "combine");
        await using var _ = context;
        // Heads 1 and 3 only, then their mean.
        await page.DblClickAsync(".as-head[data-head=\"1\"]");
        await page.ClickAsync(".as-head[data-head=\"3\"]");
        await page.ClickAsync("[data-control=\"combine-mean\"]");
        await SettleAsync(page);
        await HoverTokenAsync(page, "q", 4);
        var svg = await SvgAsync(page);
        var lines = svg.Descendants(Svg + "line").Where(l => l.Attribute("data-head") is not null).ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Equal("mean", (string)l.Attribute("data-head")!));
        var boxes = svg.Descendants(Svg + "rect").Where(r => r.Attribute("data-box") is not null).ToList();
        Assert.Equal(s.Keys, boxes.Count);
        foreach (var b in boxes)
        {
            int k = (int)b.Attribute("data-k")!;
            float expected = (s.Attention.Slice(0, 1)[4 * s.Keys + k] + s.Attention.Slice(0, 3)[4 * s.Keys + k]) / 2;
            float opacity = b.Attribute("fill-opacity") is { } o ? float.Parse(o.Value, CultureInfo.InvariantCulture) : 1f;
            // 8-bit values per head, then their mean: within a few 255ths of the row's maximum
            Assert.True(Math.Abs(opacity - expected) < 0.01, $"box of key {k}: {opacity} vs {expected}");
        }
        await page.ClickAsync("[data-control=\"combine-max\"]");
        await SettleAsync(page);
        await HoverTokenAsync(page, "q", 4);
        Assert.All(Lines2(await SvgAsync(page)), h => Assert.Equal("max", h));
        await ShotAsync(page, "feature-head-max");
        // Off again: one set of lines per shown head.
        await page.ClickAsync("[data-control=\"combine-max\"]");
        await SettleAsync(page);
        await HoverTokenAsync(page, "q", 4);
        Assert.Equal(new[] { "1", "3" }, Lines2(await SvgAsync(page)).Distinct().Order().ToArray());
        NoProblems(problems);
    }

    private static IEnumerable<string> Lines2(System.Xml.Linq.XDocument svg) =>
        svg.Descendants(Svg + "line").Select(l => (string?)l.Attribute("data-head")).Where(h => h is not null)!;

    [Fact]
    public async Task HeadViewDrawsAWeightBoxPerHeadBesideEveryTokenOnTheOtherSide()
    {
        var cap = QkvCapture();
        var s = cap.Stacks[AttentionStack.Encoder];
        var (context, page, problems) = await OpenAsync(cap, "boxes");
        await using var _ = context;
        Assert.DoesNotContain((await SvgAsync(page)).Descendants(Svg + "rect"), r => r.Attribute("data-box") is not null);
        foreach (var (side, index) in new[] { ("q", 3), ("k", 6) })
        {
            await HoverTokenAsync(page, side, index);
            var boxes = (await SvgAsync(page)).Descendants(Svg + "rect").Where(r => r.Attribute("data-box") is not null).ToList();
            Assert.Equal(s.Heads * s.Keys, boxes.Count);
            foreach (var b in boxes)
            {
                int h = (int)b.Attribute("data-box")!, q = (int)b.Attribute("data-q")!, k = (int)b.Attribute("data-k")!;
                Assert.Equal(index, side == "q" ? q : k);
                float expected = s.Attention.Slice(0, h)[q * s.Keys + k];
                float opacity = b.Attribute("fill-opacity") is { } o ? float.Parse(o.Value, CultureInfo.InvariantCulture) : 1f;
                Assert.True(Math.Abs(opacity - expected) <= 0.006, $"head {h} ({q},{k}): {opacity} vs {expected}");
            }
            if (side == "q") await ShotAsync(page, "feature-head-boxes");
        }
        NoProblems(problems);
    }

    [Fact]
    public async Task NormBasedAttentionIsAlphaTimesTheValueNormInTheMatrixOfflineAndServed()
    {
        var cap = QkvCapture();
        var norms = NormAttention.Compute(cap).Norms; // the analyses' own definition, computed here independently of the page
        var s = cap.Stacks[AttentionStack.Encoder];
        var (context, page, problems) = await OpenAsync(cap, "norm");
        await using var _ = context;
        await ClickTabAsync(page, "matrix");
        await SetControlAsync(page, "layer", "2");
        await SetControlAsync(page, "head", "1");
        await SetControlAsync(page, "values", "norm");
        var (x, y) = await PointAsync(page, "cellPoint", 3, 8);
        await page.Mouse.MoveAsync(x, y);
        await SettleAsync(page);
        await page.WaitForFunctionAsync("() => document.querySelector('.as-tooltip').dataset.exact === 'true'");
        float expected = norms.Slice(2, 1)[3 * s.Keys + 8];
        Assert.Equal(expected, ParseValue(await TooltipAsync(page, "value")), 5);
        Assert.NotEqual(s.Attention.Slice(2, 1)[3 * s.Keys + 8], expected);
        Assert.Contains("norm-based", string.Join(" ", Texts(await SvgAsync(page))));
        await ShotAsync(page, "feature-matrix-norm");
        // The head view and model view draw the norms too (relative to each head's maximum).
        await ClickTabAsync(page, "model");
        await ClickTabAsync(page, "head");
        await HoverTokenAsync(page, "q", 3);
        var box = (await SvgAsync(page)).Descendants(Svg + "rect").Single(r => (string?)r.Attribute("data-box") == "1" && (int)r.Attribute("data-k")! == 8);
        float max = Enumerable.Range(0, s.Queries * s.Keys).Max(i => norms.Slice(2, 1)[i]);
        Assert.Equal(expected / max, float.Parse(box.Attribute("fill-opacity")?.Value ?? "1", CultureInfo.InvariantCulture), 2);
        NoProblems(problems);

        // From attnscope serve: the server computes the sections from the saved capture's values.
        using var dir = new TempDir();
        cap.Save(Path.Combine(dir.Path, "qkv.safetensors"));
        await using var server = await AttnScope.Web.Server.ViewerServer.StartAsync(new AttnScope.Web.Server.ViewerServerOptions { CapturesDir = dir.Path, Port = 0 });
        var (c2, p2, problems2) = await fx.NewPageAsync();
        await using var __ = c2;
        await p2.GotoAsync(server.Address + "?open=qkv.safetensors#view=matrix&layer=2&head=1&values=norm");
        await WaitReadyAsync(p2);
        (x, y) = await PointAsync(p2, "cellPoint", 3, 8);
        await p2.Mouse.MoveAsync(x, y);
        await SettleAsync(p2);
        await p2.WaitForFunctionAsync("() => document.querySelector('.as-tooltip').dataset.exact === 'true'");
        Assert.Equal(expected, ParseValue(await TooltipAsync(p2, "value")), 5);
        NoProblems(problems2);
    }

    [Fact]
    public async Task NormChoiceIsAbsentWithoutValueVectors()
    {
        var (context, page, problems) = await OpenAsync(fx.Small, "no-norm", "#values=norm&view=matrix");
        await using var _ = context;
        Assert.Equal("att", await page.EvaluateAsync<string>("() => attnscope.viewer.state.values"));
        Assert.True(await page.Locator("[data-control=\"values\"]").EvaluateAsync<bool>("e => e.closest('label').hidden"));
        NoProblems(problems);
    }

    [Fact]
    public async Task TextViewShadesEveryTokenByTheAttentionFromOrToThePickedToken()
    {
        var cap = QkvCapture();
        var s = cap.Stacks[AttentionStack.Encoder];
        var (context, page, problems) = await OpenAsync(cap, "text");
        await using var _ = context;
        await ClickTabAsync(page, "text");
        await SetControlAsync(page, "layer", "1");
        await SetControlAsync(page, "head", "2");
        var (x, y) = await PointAsync(page, "tokenPoint", "q", 5);
        await page.Mouse.ClickAsync(x, y);
        await SettleAsync(page);
        await page.WaitForFunctionAsync("() => attnscope.viewer.current.exact !== null");
        await page.EvaluateAsync("() => attnscope.viewer.current.recolour(null)");
        var values = await page.EvaluateAsync<double[]>("() => Array.from(document.querySelectorAll('.as-text-token')).map(s => Number(s.dataset.value))");
        var expected = Enumerable.Range(0, s.Keys).Select(k => (double)s.Attention.Slice(1, 2)[5 * s.Keys + k]).ToArray();
        Assert.Equal(expected.Length, values.Length);
        for (int k = 0; k < s.Keys; k++) Assert.Equal(expected[k], values[k], 6);
        // Stronger attention is a stronger shade: the key attended most is darkest, the least lightest.
        var lum = await page.EvaluateAsync<double[]>("() => Array.from(document.querySelectorAll('.as-text-token')).map(s => { const m = getComputedStyle(s).backgroundColor.match(/\\d+/g).map(Number); return m[0] * 0.2126 + m[1] * 0.7152 + m[2] * 0.0722; })");
        int strongest = Array.IndexOf(expected, expected.Max()), weakest = Array.IndexOf(expected, expected.Min());
        Assert.Equal(lum.Min(), lum[strongest]);
        Assert.Equal(lum.Max(), lum[weakest]);
        var held = await page.EvaluateAsync<JsonElement>("() => attnscope.viewer.state.token");
        Assert.Equal("q", held.GetProperty("side").GetString());
        Assert.Equal(5, held.GetProperty("index").GetInt32());
        await ShotAsync(page, "feature-text");

        // "to": the queries that attend to the token.
        await SetControlAsync(page, "text-direction", "k");
        await page.EvaluateAsync("() => attnscope.viewer.current.recolour(null)");
        values = await page.EvaluateAsync<double[]>("() => Array.from(document.querySelectorAll('.as-text-token')).map(s => Number(s.dataset.value))");
        for (int q = 0; q < s.Queries; q++) Assert.Equal(s.Attention.Slice(1, 2)[q * s.Keys + 5], values[q], 6);
        Assert.Contains("to #5", await page.TextContentAsync(".as-text-caption"));
        NoProblems(problems);
    }

    [Fact]
    public async Task TextViewKeepsTokenTextAsTextAndShowsCrossAttentionAsTwoLines()
    {
        var (context, page, problems) = await OpenAsync(fx.Xss, "text-xss");
        await using var _ = context;
        await ClickTabAsync(page, "text");
        Assert.Equal(ViewerFixture.XssToken, await page.Locator(".as-text-token").Nth(5).TextContentAsync());
        Assert.Equal(0, await page.Locator(".as-text-view img").CountAsync());
        NoProblems(problems);

        var (c2, p2, problems2) = await OpenAsync(fx.Seq2Seq, "text-cross", "#stack=cross&view=text&token=q2");
        await using var __ = c2;
        Assert.Equal(2, await p2.Locator(".as-text-line").CountAsync());
        var shaded = await p2.EvaluateAsync<int>("() => document.querySelectorAll('.as-text-line')[1].querySelectorAll('[data-value]').length");
        Assert.Equal(fx.Seq2Seq.Tokens.Count, shaded);
        var cross = fx.Seq2Seq.Stacks[AttentionStack.Cross];
        var v = await p2.EvaluateAsync<double>("() => Number(document.querySelectorAll('.as-text-line')[1].children[3].dataset.value)");
        Assert.Equal(cross.Attention.Slice(0, 0)[2 * cross.Keys + 3], v, 6);
        await ShotAsync(p2, "feature-text-cross");
        NoProblems(problems2);
    }

    [Fact]
    public async Task QkViewShowsTheHoveredPairsProductDimensionByDimension()
    {
        var cap = QkvCapture();
        var s = cap.Stacks[AttentionStack.Encoder];
        var (context, page, problems) = await OpenAsync(cap, "qk-pair");
        await using var _ = context;
        await ClickTabAsync(page, "qk");
        await SetControlAsync(page, "layer", "1");
        await SetControlAsync(page, "head", "3");
        await SetControlAsync(page, "query", "2");
        foreach (var k in new[] { 7, 4 })
        {
            var (x, y) = await PointAsync(page, "keyPoint", k);
            await page.Mouse.MoveAsync(x, y);
            await SettleAsync(page);
            Assert.Equal(k, await page.EvaluateAsync<int>("() => attnscope.viewer.current.pair"));
            var bars = (await SvgAsync(page)).Descendants(Svg + "rect").Where(r => r.Attribute("data-dim") is not null).ToList();
            Assert.Equal(4, bars.Count);
            var q = s.Query!.Slice(1, 3).Slice(2 * 4, 4);
            var kv = s.Key!.Slice(1, 3).Slice(k * 4, 4);
            double dot = 0;
            foreach (var b in bars)
            {
                int i = (int)b.Attribute("data-dim")!;
                Assert.Equal(q[i] * kv[i], double.Parse(b.Attribute("data-product")!.Value, CultureInfo.InvariantCulture), 6);
                dot += q[i] * kv[i];
            }
            Assert.Equal(dot, await page.EvaluateAsync<double>("() => attnscope.viewer.current.pairSum"), 5);
        }
        await ShotAsync(page, "feature-qk-pair");
        NoProblems(problems);
    }

    private const string RootColours =
        "() => { const r = document.querySelector('.as-root'), cs = getComputedStyle(r); return [cs.color, cs.backgroundColor]; }";

    private static double Contrast(string a, string b)
    {
        static double L(string css)
        {
            var n = System.Text.RegularExpressions.Regex.Matches(css, @"[\d.]+").Take(3).Select(m => double.Parse(m.Value, CultureInfo.InvariantCulture) / 255).ToArray();
            static double Lin(double c) => c <= 0.03928 ? c / 12.92 : Math.Pow((c + 0.055) / 1.055, 2.4);
            return 0.2126 * Lin(n[0]) + 0.7152 * Lin(n[1]) + 0.0722 * Lin(n[2]);
        }
        double la = L(a), lb = L(b);
        return (Math.Max(la, lb) + 0.05) / (Math.Min(la, lb) + 0.05);
    }

    private const string CanvasCorner =
        "(sel) => Array.from(document.querySelector(sel).getContext('2d').getImageData(1, 1, 1, 1).data)";

    [Fact]
    public async Task DarkModeFollowsTheSystemAndTheThemeMenuInPageAndCanvas()
    {
        var cap = QkvCapture();
        var (context, page, problems) = await OpenAsync(cap, "dark", scheme: ColorScheme.Dark);
        await using var _ = context;
        Assert.Equal("dark", await page.GetAttributeAsync(".as-root", "data-theme"));
        var colours = await page.EvaluateAsync<string[]>(RootColours);
        Assert.True(Contrast(colours[0], colours[1]) >= 7, $"text {colours[0]} on {colours[1]}");
        var corner = await page.EvaluateAsync<int[]>(CanvasCorner, ".as-head-view canvas");
        Assert.True(corner[0] + corner[1] + corner[2] < 3 * 60, $"the canvas background is {string.Join(",", corner)}");
        // A hidden head's button stays readable on the dark background.
        await page.ClickAsync(".as-head[data-head=\"2\"]");
        await SettleAsync(page);
        var off = await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('.as-head[data-head=\"2\"]')).color");
        Assert.True(Contrast(off, colours[1]) >= 7, $"hidden head button {off} on {colours[1]}");
        await page.ClickAsync(".as-head[data-head=\"2\"]");
        await SettleAsync(page);
        // Every view in the dark, with something hovered, for a look.
        await HoverTokenAsync(page, "q", 3);
        await ShotAsync(page, "feature-dark-head");
        foreach (var view in new[] { "model", "matrix", "text", "qk" })
        {
            await ClickTabAsync(page, view);
            if (view == "text") { var (x, y) = await PointAsync(page, "tokenPoint", "q", 4); await page.Mouse.ClickAsync(x, y); await SettleAsync(page); }
            if (view == "matrix") { var (x, y) = await PointAsync(page, "cellPoint", 4, 2); await page.Mouse.MoveAsync(x, y); await SettleAsync(page); }
            await ShotAsync(page, "feature-dark-" + view);
        }
        // Text drawn on the canvas is light in the dark theme: the matrix title's pixels are bright.
        await ClickTabAsync(page, "matrix");
        var bright = await page.EvaluateAsync<int>("() => { const c = document.querySelector('.as-matrix-view canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, 40).data; let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 450) n++; return n; }");
        Assert.True(bright > 20, "no light text on the dark matrix canvas");

        // The theme menu overrides the system: light, then back to dark.
        await SetControlAsync(page, "theme", "light");
        Assert.Equal("light", await page.GetAttributeAsync(".as-root", "data-theme"));
        corner = await page.EvaluateAsync<int[]>(CanvasCorner, ".as-matrix-view canvas");
        Assert.Equal(new[] { 255, 255, 255, 255 }, corner);
        colours = await page.EvaluateAsync<string[]>(RootColours);
        Assert.True(Contrast(colours[0], colours[1]) >= 7);
        Assert.Contains("theme=light", await page.EvaluateAsync<string>("() => location.hash"));
        NoProblems(problems);

        // A light system with the menu set to dark.
        var (c2, p2, problems2) = await OpenAsync(cap, "dark2", scheme: ColorScheme.Light);
        await using var __ = c2;
        Assert.Equal("light", await p2.GetAttributeAsync(".as-root", "data-theme"));
        await SetControlAsync(p2, "theme", "dark");
        Assert.Equal("dark", await p2.GetAttributeAsync(".as-root", "data-theme"));
        corner = await p2.EvaluateAsync<int[]>(CanvasCorner, ".as-head-view canvas");
        Assert.True(corner[0] + corner[1] + corner[2] < 3 * 60);
        NoProblems(problems2);
    }

    [Fact]
    public async Task TheAddressKeepsTheStateAndALinkReopensTheSamePicture()
    {
        var cap = QkvCapture();
        var (context, page, problems) = await OpenAsync(cap, "url");
        await using var _ = context;
        await ClickTabAsync(page, "matrix");
        await SetControlAsync(page, "layer", "2");
        await SetControlAsync(page, "head", "3");
        var hash = await page.EvaluateAsync<string>("() => location.hash");
        Assert.Contains("view=matrix", hash);
        Assert.Contains("layer=2", hash);
        Assert.Contains("head=3", hash);
        var pixels = await page.EvaluateAsync<string>("() => document.querySelector('.as-matrix-view canvas').toDataURL()");
        var link = page.Url;

        var (c2, p2, problems2) = await fx.NewPageAsync();
        await using var __ = c2;
        await p2.GotoAsync(link);
        await WaitReadyAsync(p2);
        Assert.Equal("matrix", await p2.EvaluateAsync<string>("() => attnscope.viewer.state.view"));
        Assert.Equal(pixels, await p2.EvaluateAsync<string>("() => document.querySelector('.as-matrix-view canvas').toDataURL()"));

        // The head view with two heads shown and a token held.
        await ClickTabAsync(p2, "head");
        await p2.DblClickAsync(".as-head[data-head=\"2\"]");
        await p2.ClickAsync(".as-head[data-head=\"0\"]");
        await SettleAsync(p2);
        var (x, y) = await PointAsync(p2, "tokenPoint", "k", 6);
        await p2.Mouse.ClickAsync(x, y);
        await SettleAsync(p2);
        var svg = (await SvgAsync(p2)).ToString();
        var link2 = p2.Url;
        Assert.Contains("heads=0%2C2", link2);
        Assert.Contains("token=k6", link2);
        var (c3, p3, problems3) = await fx.NewPageAsync();
        await using var ___ = c3;
        await p3.GotoAsync(link2);
        await WaitReadyAsync(p3);
        Assert.Equal(svg, (await SvgAsync(p3)).ToString());
        NoProblems(problems);
        NoProblems(problems2);
        NoProblems(problems3);
    }

    [Theory]
    [InlineData("#view=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&layer=99999999&head=-1")]
    [InlineData("#layer=2e0&head=0x1&heads=1,,2&token=q999&query=-3&stack=nope")]
    [InlineData("#heads=0,1,2,3,4,5,6,7,8,9&token=z1&values=norm&combine=sum&filter=AB&theme=%3Cb%3E")]
    [InlineData("#layer=00&head=1.5&token=q&view=qk&view=analyses&layer=01")]
    public async Task AHostileAddressIsIgnoredFieldByField(string hash)
    {
        var (context, page, problems) = await OpenAsync(fx.Small, "hostile", hash);
        await using var _ = context;
        var state = await page.EvaluateAsync<JsonElement>("() => { const s = attnscope.viewer.state; return { view: s.view, layer: s.layer, head: s.head, heads: [...s.heads], token: s.token, theme: s.theme, values: s.values, combine: s.combine, filter: s.filter }; }");
        Assert.Contains(state.GetProperty("view").GetString(), new[] { "head", "qk" }.Concat(["model", "matrix", "text"]));
        Assert.InRange(state.GetProperty("layer").GetInt32(), 0, 2);
        Assert.Equal(JsonValueKind.Number, state.GetProperty("head").ValueKind);
        Assert.InRange(state.GetProperty("head").GetInt32(), 0, 3);
        Assert.All(state.GetProperty("heads").EnumerateArray(), h => Assert.InRange(h.GetInt32(), 0, 3));
        Assert.Equal(JsonValueKind.Null, state.GetProperty("token").ValueKind);
        Assert.Contains(state.GetProperty("theme").GetString(), new[] { "auto", "light", "dark" });
        Assert.Equal("att", state.GetProperty("values").GetString());
        Assert.Contains(state.GetProperty("combine").GetString(), new[] { "off", "mean", "max" });
        Assert.Equal("all", state.GetProperty("filter").GetString());
        Assert.Equal(0, await page.Locator(".as-root img").CountAsync());
        NoProblems(problems);
    }

    [Fact]
    public async Task TheInputTextIsShownAsTextAboveTheViews()
    {
        var cap = QkvCapture();
        var (context, page, problems) = await OpenAsync(cap, "input-text");
        await using var _ = context;
        Assert.Equal(cap.Metadata.Texts[0], await page.Locator(".as-input[data-text=\"0\"] .as-input-text").TextContentAsync());
        Assert.Equal(cap.Metadata.Texts[1], await page.Locator(".as-input[data-text=\"1\"] .as-input-text").TextContentAsync());
        Assert.Equal(0, await page.Locator(".as-header b, .as-header i").CountAsync());
        Assert.StartsWith("pair", await page.Locator(".as-input[data-text=\"1\"] .as-input-name").TextContentAsync());
        await ShotAsync(page, "feature-input-text");
        NoProblems(problems);
    }
}
