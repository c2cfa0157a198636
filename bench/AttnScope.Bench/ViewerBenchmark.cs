using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Web.Server;
using Microsoft.Playwright;

namespace AttnScope.Bench;

/// <summary>
/// <c>-- viewer --painted …</c> measures hovers to the painted frame on real captures (<see cref="ViewerHoverBenchmark"/>);
/// <c>-- viewer [--tokens 128,1024] [--layers 12] [--heads 12] [--hovers 40] [--screenshots DIR]</c>, or
/// <c>-- viewer --capture FILE [--layer L] [--hover TOKEN] --screenshots DIR</c> for a picture of a real capture: opens a
/// synthetic capture from <c>attnscope serve</c> in headless Chromium (Debian's /usr/bin/chromium) and prints, as the
/// page measured them with the Performance API, the first paint of the head view after the data arrived and the
/// time from a hover's mouse event to the next frame with the new lines (and to the end of drawing). With
/// --screenshots it also writes PNGs of every view at each length.
/// </summary>
public static class ViewerBenchmark
{
    public static int Run(string[] args)
    {
        if (args.Contains("--painted")) return ViewerHoverBenchmark.Run(args);
        var lengths = new[] { 128, 1024 };
        int layers = 12, heads = 12, hovers = 40;
        string? shots = null, capture = null;
        int hover = -1, layer = 0;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new AttnScopeException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--tokens": lengths = Next().Split(',').Select(int.Parse).ToArray(); break;
                case "--layers": layers = int.Parse(Next()); break;
                case "--heads": heads = int.Parse(Next()); break;
                case "--hovers": hovers = int.Parse(Next()); break;
                case "--screenshots": shots = Next(); break;
                case "--capture": capture = Next(); break;
                case "--hover": hover = int.Parse(Next()); break;
                case "--layer": layer = int.Parse(Next()); break;
                default: throw new AttnScopeException($"unknown option '{args[i]}' (expected --tokens, --layers, --heads, --hovers, --screenshots, --capture or --hover)");
            }
        }
        if (capture is not null) return ScreenshotAsync(capture, shots ?? ".", hover, layer).GetAwaiter().GetResult();
        return RunAsync(lengths, layers, heads, hovers, shots).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(int[] lengths, int layers, int heads, int hovers, string? shots)
    {
        const string chromium = "/usr/bin/chromium";
        if (!File.Exists(chromium)) throw new AttnScopeException($"the viewer benchmark needs Chromium at {chromium} (scripts/setup-debian.sh installs it)");
        var dir = Path.Combine(Path.GetTempPath(), "attnscope-viewer-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var peerBytes = new Dictionary<int, double>();
            foreach (var n in lengths)
            {
                Console.Error.WriteLine($"bench: building a {n}-token × {layers} × {heads} capture");
                var cap = SyntheticCapture(n, layers, heads);
                cap.Save(Path.Combine(dir, $"bench{n}.safetensors"));
                peerBytes[n] = BertVizStyleJsonBytes(cap);
            }
            await using var server = await ViewerServer.StartAsync(new ViewerServerOptions { CapturesDir = dir, Port = 0 });
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            });
            Console.WriteLine($"viewer: synthetic capture, {layers} layers × {heads} heads, served from loopback, headless Chromium; times in ms, measured in the page (Performance API)");
            Console.WriteLine($"{"tokens",7} {"data",9} {"first paint",12} {"hover→frame med",16} {"p95",7} {"hover draw med",15} {"matrix open",12} {"matrix hover med",17}");
            foreach (var n in lengths)
            {
                var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
                await page.GotoAsync($"{server.Address}?open=bench{n}.safetensors");
                await page.WaitForFunctionAsync("() => window.attnscope && window.attnscope.viewer && window.attnscope.viewer.timings.firstPaint !== null",
                    null, new PageWaitForFunctionOptions { Timeout = 120000 });
                var firstPaint = await page.EvaluateAsync<double>("() => performance.getEntriesByName('attnscope:first-paint')[0].duration");
                var dataBytes = await page.EvaluateAsync<double>("() => performance.getEntriesByType('resource').filter(r => r.name.includes('/api/data/')).reduce((s, r) => s + r.encodedBodySize, 0)");
                if (shots is not null) await ShotAsync(page, shots, n, "head");
                var hoverTimes = await HoverAsync(page, "tokenPoint", hovers, i => new object[] { "q", (i * 7) % Math.Min(n, 40) });
                // Matrix view: from the switch to the next frame with the heatmap drawn, then hovers over cells.
                await page.ClickAsync(".as-tab[data-view=\"matrix\"]");
                await page.EvaluateAsync("() => attnscope.viewer.busy");
                await page.EvaluateAsync("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
                var matrixOpen = await page.EvaluateAsync<double>("() => attnscope.viewer.timings.views.filter(v => v.view === 'matrix').at(-1).ms");
                if (shots is not null) await ShotAsync(page, shots, n, "matrix");
                var matrixHover = await HoverAsync(page, "cellPoint", hovers, i => new object[] { (i * 5) % n, (i * 11) % n });
                if (shots is not null)
                {
                    await page.ClickAsync(".as-tab[data-view=\"model\"]");
                    await page.EvaluateAsync("() => attnscope.viewer.busy");
                    await ShotAsync(page, shots, n, "model");
                    await page.ClickAsync(".as-tab[data-view=\"qk\"]");
                    await page.EvaluateAsync("() => attnscope.viewer.busy");
                    await ShotAsync(page, shots, n, "qk");
                }
                Console.WriteLine($"{n,7} {dataBytes / 1e6,7:0.0}MB {firstPaint,12:0.0} {Median(hoverTimes.Frame),16:0.0} {P95(hoverTimes.Frame),7:0.0} {Median(hoverTimes.Draw),15:0.0} {matrixOpen,12:0.0} {Median(matrixHover.Frame),17:0.0}");
                await page.CloseAsync();
            }
            Console.WriteLine();
            Console.WriteLine("page data before the first paint: AttnScope (one layer, 8-bit) vs the whole tensor as JSON floats, as BertViz embeds it");
            foreach (var n in lengths)
                Console.WriteLine($"{n,7} tokens: AttnScope {FirstPaintBytes(n, heads) / 1e6,8:0.0} MB, BertViz-style JSON {peerBytes[n] / 1e6,9:0.0} MB, ratio {peerBytes[n] / FirstPaintBytes(n, heads),6:0}x");
            Console.WriteLine("goals (issue 4): first paint ≤ 1000 ms after the data arrives, hover ≤ 50 ms, at 1024 tokens × 12 × 12");
            Console.WriteLine("'data' is what the head view fetched before its first paint (one layer: 8-bit values with a scale per row).");
            return 0;
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch { /* best effort */ }
        }
    }

    /// <summary>A screenshot of the head view of a real capture file, a query token pinned (for the README).</summary>
    private static async Task<int> ScreenshotAsync(string capture, string dir, int hover, int layer)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(capture))!;
        await using var server = await ViewerServer.StartAsync(new ViewerServerOptions { CapturesDir = folder, Port = 0 });
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox", "--disable-gpu"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1000, Height = 860 } });
        await page.GotoAsync($"{server.Address}?open={Uri.EscapeDataString(Path.GetFileName(capture))}");
        await page.WaitForFunctionAsync("() => window.attnscope && window.attnscope.viewer && window.attnscope.viewer.timings.firstPaint !== null");
        await page.SelectOptionAsync("[data-control=\"layer\"]", layer.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await page.EvaluateAsync("() => attnscope.viewer.busy");
        if (hover >= 0)
        {
            var e = await page.EvaluateAsync<JsonElement>("(i) => attnscope.viewer.current.tokenPoint('q', i)", hover);
            await page.Mouse.ClickAsync(e.GetProperty("x").GetSingle(), e.GetProperty("y").GetSingle());
        }
        await ShotAsync(page, dir, 0, "readme");
        return 0;
    }

    private static async Task ShotAsync(IPage page, string dir, int n, string view)
    {
        Directory.CreateDirectory(dir);
        await page.EvaluateAsync("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
        var path = Path.Combine(dir, $"viewer-{view}-{n}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path });
        Console.Error.WriteLine($"bench: wrote {path}");
    }

    private static async Task<(double[] Draw, double[] Frame)> HoverAsync(IPage page, string point, int count, Func<int, object[]> args)
    {
        await page.EvaluateAsync("() => { attnscope.viewer.timings.hovers = []; }");
        for (int i = 0; i < count; i++)
        {
            var e = await page.EvaluateAsync<JsonElement>($"(a) => attnscope.viewer.current.{point}(...a)", args(i));
            await page.EvaluateAsync("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
            await page.Mouse.MoveAsync(e.GetProperty("x").GetSingle(), e.GetProperty("y").GetSingle());
            await page.EvaluateAsync("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
        }
        var hovers = await page.EvaluateAsync<JsonElement>("() => attnscope.viewer.timings.hovers");
        var list = hovers.EnumerateArray().ToList();
        if (list.Count == 0) throw new AttnScopeException("no hover was timed");
        return (list.Select(h => h.GetProperty("draw").GetDouble()).ToArray(), list.Select(h => h.GetProperty("frame").GetDouble()).ToArray());
    }

    /// <summary>Bytes of the one layer section the head view needs: a float32 scale per row and a byte per value.</summary>
    private static double FirstPaintBytes(int n, int heads) => (double)heads * n * 4 + (double)heads * n * n;

    /// <summary>
    /// Size of the attention as BertViz puts it in its page: nested JSON lists of Python floats (float32 values
    /// widened to double, written in their shortest double form). Counted for the first layer and scaled by the
    /// number of layers (every layer has the same shape and kind of values).
    /// </summary>
    private static double BertVizStyleJsonBytes(AttentionCapture cap)
    {
        var s = cap.Stacks[AttentionStack.Encoder];
        var layer = s.Attention.Slice(0);
        long bytes = 2;
        for (int i = 0; i < layer.Length; i++)
            bytes += ((double)layer[i]).ToString("R", System.Globalization.CultureInfo.InvariantCulture).Length + 2; // ", "
        bytes += (long)s.Heads * s.Queries * 4; // brackets and separators of the inner lists
        return (double)bytes * s.Layers;
    }

    private static double Median(double[] v) => Timing.Median(v);
    private static double P95(double[] v) => v.Order().ElementAt(Math.Min(v.Length - 1, (int)Math.Ceiling(v.Length * 0.95) - 1));

    /// <summary>Row-stochastic attention with the usual patterns (previous token, [CLS]/[SEP], local, self) and
    /// queries/keys of head size 32, with realistic token text; deterministic.</summary>
    internal static AttentionCapture SyntheticCapture(int n, int layers, int heads)
    {
        var att = new FloatTensor([layers, heads, n, n]);
        var rng = new Random(n);
        var row = new float[n];
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
                for (int q = 0; q < n; q++)
                {
                    float sum = 0;
                    for (int k = 0; k < n; k++)
                    {
                        float s = (float)rng.NextDouble() * 0.02f;
                        switch ((h + l) % 4)
                        {
                            case 0: if (k == q - 1) s += 2f; break;
                            case 1: if (k == 0 || k == n - 1) s += 1.5f; break;
                            case 2: s += MathF.Max(0, 1f - MathF.Abs(k - q) * 0.25f); break;
                            default: if (k == q) s += 2f; break;
                        }
                        row[k] = s;
                        sum += s;
                    }
                    var dst = att.Slice(l, h, q);
                    for (int k = 0; k < n; k++) dst[k] = row[k] / sum;
                }
        var words = "the cat sat on a mat while ca ##fé owners talk ##ed about naïve weather forecast ##ing , and über señor ! it was really extraordinarily long .".Split(' ');
        var tokens = new List<CaptureToken>(n);
        for (int i = 0; i < n; i++)
        {
            if (i == 0) tokens.Add(new CaptureToken("[CLS]", 101, -1, -1, Segment.A, true));
            else if (i == n - 1) tokens.Add(new CaptureToken("[SEP]", 102, -1, -1, Segment.A, true));
            else tokens.Add(new CaptureToken(words[(i * 7 + i / 5) % words.Length], 1000 + i, i, i + 1, Segment.A, false));
        }
        FloatTensor Vectors(int seed)
        {
            var t = new FloatTensor([layers, heads, n, 32]);
            var r = new Random(seed);
            for (int i = 0; i < t.Data.Length; i++) t.Data[i] = (float)(r.NextDouble() * 2 - 1);
            return t;
        }
        var stack = new AttentionStack(AttentionStack.Encoder, att) { Query = Vectors(1), Key = Vectors(2) };
        return new AttentionCapture(new CaptureMetadata { ModelId = "synthetic", Architecture = "bert", Source = "managed", Texts = ["synthetic"] }, tokens, [stack]);
    }
}
