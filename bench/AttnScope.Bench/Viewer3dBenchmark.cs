using System.Globalization;
using AttnScope.Capture;
using System.Text.Json;
using AttnScope.Web.Server;
using Microsoft.Playwright;

namespace AttnScope.Bench;

/// <summary>
/// <c>-- viewer3d [--tokens 512] [--layers 12] [--heads 12] [--frames 120] [--screenshots DIR]</c>: opens a synthetic
/// capture from <c>attnscope serve</c> in headless Chromium (Debian's /usr/bin/chromium; WebGL 2 on its software
/// renderer, SwiftShader, as there is no GPU), switches to the 3D view and prints, as the page measured them:
/// the time to open the view (all layers fetched, textures built and uploaded, first frame), a mouse drag's
/// rotation from each <c>pointermove</c> event to the frame after the redraw, a rotation drawn and waited for
/// (draw + GPU finish), and the interval between frames while the stack turns every frame; median and p95.
/// <c>-- viewer3d --capture FILE --screenshots DIR</c> only takes a picture of the 3D view of a capture file.
/// </summary>
public static class Viewer3dBenchmark
{
    public static int Run(string[] args)
    {
        int n = 512, layers = 12, heads = 12, frames = 120;
        string? shots = null, capture = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new AttnScopeException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--tokens": n = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--layers": layers = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--heads": heads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--frames": frames = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--screenshots": shots = Next(); break;
                case "--capture": capture = Next(); break;
                default: throw new AttnScopeException($"unknown option '{args[i]}' (expected --tokens, --layers, --heads, --frames, --screenshots or --capture)");
            }
        }
        if (capture is not null) return ScreenshotAsync(capture, shots ?? ".").GetAwaiter().GetResult();
        return RunAsync(n, layers, heads, frames, shots).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(int n, int layers, int heads, int frames, string? shots)
    {
        const string chromium = "/usr/bin/chromium";
        if (!File.Exists(chromium)) throw new AttnScopeException($"the 3D viewer benchmark needs Chromium at {chromium} (scripts/setup-debian.sh installs it)");
        var dir = Path.Combine(Path.GetTempPath(), "attnscope-viewer3d-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            Console.Error.WriteLine($"bench: building a {n}-token × {layers} × {heads} capture");
            ViewerBenchmark.SyntheticCapture(n, layers, heads).Save(Path.Combine(dir, "bench3d.safetensors"));
            await using var server = await ViewerServer.StartAsync(new ViewerServerOptions { CapturesDir = dir, Port = 0 });
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
            await page.GotoAsync($"{server.Address}?open=bench3d.safetensors");
            await page.WaitForFunctionAsync("() => window.attnscope && window.attnscope.viewer && window.attnscope.viewer.timings.firstPaint !== null",
                null, new PageWaitForFunctionOptions { Timeout = 120000 });
            var renderer = await page.EvaluateAsync<string>(@"() => { const g = document.createElement('canvas').getContext('webgl2');
                const d = g && g.getExtension('WEBGL_debug_renderer_info'); return g ? (d ? g.getParameter(d.UNMASKED_RENDERER_WEBGL) : g.getParameter(g.RENDERER)) : 'none'; }");
            await page.ClickAsync(".as-tab[data-view=\"3d\"]");
            await page.EvaluateAsync("() => attnscope.viewer.busy");
            await Frames(page);
            var open = await page.EvaluateAsync<double>("() => attnscope.viewer.timings.views.filter(v => v.view === '3d').at(-1).ms");
            var size = await page.EvaluateAsync<JsonElement>("() => { const c = document.querySelector('.as-3d-canvas'); return { w: c.width, h: c.height }; }");
            if (shots is not null) await ShotAsync(page, shots, $"viewer-3d-{n}");
            Console.WriteLine($"viewer3d: synthetic capture, {n} tokens × {layers} layers × {heads} heads, served from loopback, headless Chromium, WebGL renderer: {renderer}");
            Console.WriteLine($"canvas {size.GetProperty("w")}×{size.GetProperty("h")} px; load average before the run: {LoadAverage()}");
            Console.WriteLine($"open the 3D view (fetch {layers} layers, mean of heads, textures, first frame): {open:0} ms");
            foreach (var (name, setup) in new[]
            {
                ("default (mean of heads, cells under 5% hidden, opacity 0.9)", "() => {}"),
                ("every cell drawn, opaque", "() => { const v = attnscope.viewer.current; v.opts.threshold = 0; v.opts.opacity = 1; v.render(); }"),
            })
            {
                await page.EvaluateAsync(setup);
                var drag = await DragAsync(page, frames);
                var draw = await page.EvaluateAsync<double[]>($"(n) => {{ const v = attnscope.viewer.current; const t = []; for (let i = 0; i < n; i++) t.push(v.rotateAndDraw(0.03, 0)); return t; }}", frames);
                var intervals = await page.EvaluateAsync<double[]>(@"(n) => new Promise(done => { const v = attnscope.viewer.current; const t = []; let last = null;
                    const tick = now => { if (last !== null) t.push(now - last); last = now; v.camera.rotate(0.03, 0); v.render(); if (t.length < n) requestAnimationFrame(tick); else done(t); };
                    requestAnimationFrame(tick); })", frames);
                Console.WriteLine($"{name}:");
                Console.WriteLine($"  drag pointermove → painted frame  median {Timing.Median(drag),6:0.0} ms  p95 {P95(drag),6:0.0} ms  ({drag.Length} moves)");
                Console.WriteLine($"  rotate + draw + GPU finish        median {Timing.Median(draw),6:0.0} ms  p95 {P95(draw),6:0.0} ms  ({draw.Length} frames)");
                Console.WriteLine($"  frame interval, turning each frame median {Timing.Median(intervals),5:0.0} ms  p95 {P95(intervals),6:0.0} ms");
                if (shots is not null) await ShotAsync(page, shots, $"viewer-3d-{n}-{(name.StartsWith("default", StringComparison.Ordinal) ? "default" : "opaque")}");
            }
            Console.WriteLine($"load average after the run: {LoadAverage()}");
            Console.WriteLine("goal (issue 14): interactive at 512 tokens × 12 layers, i.e. a rotation frame well under 100 ms (p95), ideally under 33 ms.");
            return 0;
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch { /* best effort */ }
        }
    }

    /// <summary>A picture of the 3D view of a capture file (for the README).</summary>
    private static async Task<int> ScreenshotAsync(string capture, string dir)
    {
        if (!File.Exists(capture)) throw new AttnScopeException($"no capture file at {capture}");
        await using var server = await ViewerServer.StartAsync(new ViewerServerOptions { CapturesDir = Path.GetDirectoryName(Path.GetFullPath(capture))!, Port = 0 });
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox", "--disable-gpu"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 900 } });
        await page.GotoAsync($"{server.Address}?open={Uri.EscapeDataString(Path.GetFileName(capture))}");
        await page.WaitForFunctionAsync("() => window.attnscope && window.attnscope.viewer && window.attnscope.viewer.timings.firstPaint !== null");
        await page.ClickAsync(".as-tab[data-view=\"3d\"]");
        await page.EvaluateAsync("() => attnscope.viewer.busy");
        await ShotAsync(page, dir, "viewer-3d-readme");
        return 0;
    }

    /// <summary>Drags across the canvas with the mouse, one move per frame, and returns the page's event → frame times.</summary>
    private static async Task<double[]> DragAsync(IPage page, int moves)
    {
        await page.EvaluateAsync("() => { attnscope.viewer.current.timings.drags = []; }");
        var box = await page.Locator(".as-3d-canvas").BoundingBoxAsync() ?? throw new AttnScopeException("the 3D canvas is not on the page");
        float x = (float)(box.X + box.Width / 2 - 200), y = (float)(box.Y + box.Height / 2);
        await page.Mouse.MoveAsync(x, y);
        await page.Mouse.DownAsync();
        for (int i = 1; i <= moves; i++)
        {
            await page.Mouse.MoveAsync(x + i * 400f / moves, y + (float)Math.Sin(i * 0.1) * 20);
            await Frames(page);
        }
        await page.Mouse.UpAsync();
        await Frames(page);
        var list = await page.EvaluateAsync<double[]>("() => attnscope.viewer.current.timings.drags");
        if (list.Length == 0) throw new AttnScopeException("no drag frame was timed");
        return list;
    }

    private static Task Frames(IPage page) => page.EvaluateAsync("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");

    private static async Task ShotAsync(IPage page, string dir, string name)
    {
        Directory.CreateDirectory(dir);
        await Frames(page);
        var path = Path.Combine(dir, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path });
        Console.Error.WriteLine($"bench: wrote {path}");
    }

    private static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) + $" on {Environment.ProcessorCount} cores"; }
        catch (IOException) { return "unknown"; }
    }

    private static double P95(double[] v) => v.Order().ElementAt(Math.Min(v.Length - 1, (int)Math.Ceiling(v.Length * 0.95) - 1));
}
