using System.Diagnostics;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Capture.Long;
using AttnScope.Sources;
using AttnScope.Sources.Long;
using AttnScope.Web.Server;
using Microsoft.Playwright;

namespace AttnScope.Bench;

/// <summary>
/// <c>-- long [--tokens 32768] [--storage u8] [--layers 0] [--heads 1] [--zooms 32] [--screenshots DIR] [--keep DIR]</c>:
/// a long capture of a long-context copy of the tiny Llama golden (tests/AttnScope.Tests/Golden/tiny-llama with its
/// positions raised; rotary, 2 layers × 4 heads) on a seeded text cut to the length: capture time and peak memory,
/// file size, time to open it lazily, then the long view in headless Chromium served by an in-process
/// <c>attnscope serve</c>: time from navigation to the first painted tile, and wheel-zoom frame times (to the next
/// frame, redrawn with the tile at hand, and to the frame with the sharp tile) from the whole sequence down to
/// single labelled tokens.
/// </summary>
public static class LongBenchmark
{
    public static int Run(string[] args)
    {
        int tokens = 32768, zooms = 32;
        string storage = "u8", layers = "0", heads = "1";
        string? shots = null, keep = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new AttnScopeException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--tokens": tokens = int.Parse(Next()); break;
                case "--storage": storage = Next(); break;
                case "--layers": layers = Next(); break;
                case "--heads": heads = Next(); break;
                case "--zooms": zooms = int.Parse(Next()); break;
                case "--screenshots": shots = Next(); break;
                case "--keep": keep = Next(); break;
                default: throw new AttnScopeException($"unknown option '{args[i]}' (expected --tokens, --storage, --layers, --heads, --zooms, --screenshots or --keep)");
            }
        }
        return RunAsync(tokens, storage, layers, heads, zooms, shots, keep).GetAwaiter().GetResult();
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AttnScope.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new AttnScopeException("run the long benchmark from inside the repository (it uses tests/AttnScope.Tests/Golden/tiny-llama)");
    }

    private static string Text(int words)
    {
        string[] pool = ["the", "cat", "sat", "on", "a", "mat", "long", "river", "ran", "past", "old", "mill", "and", "we", "saw", "it"];
        var rng = new Random(3);
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < words; i++)
        {
            if (i > 0) sb.Append(rng.Next(12) == 0 ? ". " : " ");
            sb.Append(pool[rng.Next(pool.Length)]);
        }
        return sb.ToString();
    }

    private static async Task<int> RunAsync(int tokens, string storage, string layers, string heads, int zooms, string? shots, string? keep)
    {
        var dir = keep ?? Path.Combine(Path.GetTempPath(), "attnscope-long-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var model = Path.Combine(dir, "long-llama");
            Directory.CreateDirectory(model);
            var golden = Path.Combine(RepoRoot(), "tests", "AttnScope.Tests", "Golden", "tiny-llama");
            foreach (var f in Directory.GetFiles(golden)) File.Copy(f, Path.Combine(model, Path.GetFileName(f)), overwrite: true);
            var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!.AsObject();
            cfg["max_position_embeddings"] = tokens;
            File.WriteAllText(Path.Combine(model, "config.json"), cfg.ToJsonString());
            var session = DecoderSession.Open(model);
            // Words until the text has at least the tokens wanted, then cut at a word that lands on the length.
            int words = tokens / 2;
            while (session.Tokenizer.Encode(Text(words)).Length < tokens) words += words / 4;
            var text = Text(words);
            var options = new LongCaptureOptions
            {
                Storage = AttentionQuantizer.Parse(storage), Pyramid = true,
                Layers = LongCaptureOptions.ParseList(layers, "--layers"), Heads = LongCaptureOptions.ParseList(heads, "--heads"),
            };
            var captures = Path.Combine(dir, "captures");
            Directory.CreateDirectory(captures);
            var path = Path.Combine(captures, $"long{tokens}.safetensors");
            GC.Collect();
            var sw = Stopwatch.StartNew();
            var layout = session.CaptureLong(text, options, path);
            double captureS = sw.Elapsed.TotalSeconds;
            long peak = Process.GetCurrentProcess().PeakWorkingSet64;
            long size = new FileInfo(path).Length;
            Console.WriteLine($"capture: {layout.Tokens} tokens, {layout.Layers} × {layout.Heads} heads, rows {string.Join(" ", layout.Chosen)} as {storage}, pyramid blocks {string.Join(",", layout.Blocks)}");
            Console.WriteLine($"capture time {captureS:F1} s, peak working set {peak / 1048576.0:F0} MiB, file {size / 1048576.0:F1} MiB ({size:N0} bytes)");
            var full = (double)layout.Layers * layout.Heads * layout.Tokens * layout.Tokens * 4;
            Console.WriteLine($"(the float32 attention of all heads would be {full / (1L << 30):F1} GiB)");

            sw.Restart();
            using (var lazy = LongCapture.Open(path)) { }
            Console.WriteLine($"open (map, header, metadata, {layout.Tokens} tokens): {sw.Elapsed.TotalMilliseconds:F0} ms");

            const string chromium = "/usr/bin/chromium";
            if (!File.Exists(chromium)) throw new AttnScopeException($"the long benchmark needs Chromium at {chromium} (scripts/setup-debian.sh installs it)");
            await using var server = await ViewerServer.StartAsync(new ViewerServerOptions { CapturesDir = captures, Port = 0 });
            using var pw = await Playwright.CreateAsync();
            await using var browser = await pw.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            });
            for (int run = 0; run < 3; run++)
            {
                var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
                sw.Restart();
                await page.GotoAsync(server.Address + "long?name=" + Path.GetFileName(path));
                await page.WaitForFunctionAsync("() => window.attnscopeLong && window.attnscopeLong.ready", null, new PageWaitForFunctionOptions { Timeout = 60000 });
                double wall = sw.Elapsed.TotalMilliseconds;
                double nav = await page.EvaluateAsync<double>("() => performance.now()");
                int block = await page.EvaluateAsync<int>("() => window.attnscopeLong.block");
                Console.WriteLine($"viewer open #{run + 1}: {wall:F0} ms from goto to the first painted tile (page clock {nav:F0} ms; block {block})" +
                    (run == 0 ? " — first open maps the file and decodes a pyramid level" : ""));
                if (run < 2) { await page.CloseAsync(); continue; }
                if (shots is not null) { Directory.CreateDirectory(shots); await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "long-whole.png") }); }

                // Wheel zoom-ins at the plot centre, one at a time until the tile is sharp.
                var canvas = (await (await page.QuerySelectorAsync("#lv-canvas"))!.BoundingBoxAsync())!;
                await page.Mouse.MoveAsync(canvas.X + 96 + 360, canvas.Y + 96 + 360);
                await page.EvaluateAsync("() => { window.attnscopeLong.frames.length = 0; window.attnscopeLong.tileFrames.length = 0; }");
                for (int z = 0; z < zooms; z++)
                {
                    await page.Mouse.WheelAsync(0, -100);
                    await page.WaitForTimeoutAsync(30);
                    await page.WaitForFunctionAsync("() => window.attnscopeLong.pending === 0", null, new PageWaitForFunctionOptions { Timeout = 60000 });
                }
                var frames = await page.EvaluateAsync<double[]>("() => window.attnscopeLong.frames");
                var tileFrames = await page.EvaluateAsync<double[]>("() => window.attnscopeLong.tileFrames");
                var span = await page.EvaluateAsync<double>("() => window.attnscopeLong.span");
                var labels = await page.EvaluateAsync<int>("() => window.attnscopeLong.labels");
                Console.WriteLine($"zoom: {zooms} wheel steps (×0.8 each) down to {span:F0} tokens ({labels} labels): " +
                    $"frame with the tile at hand p50 {P(frames, 0.5):F1} / p95 {P(frames, 0.95):F1} ms; " +
                    $"frame with the sharp tile p50 {P(tileFrames, 0.5):F1} / p95 {P(tileFrames, 0.95):F1} ms ({tileFrames.Length} tiles fetched)");
                if (shots is not null) await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "long-tokens.png") });
            }
            return 0;
        }
        finally
        {
            if (keep is null) try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static double P(double[] xs, double p)
    {
        if (xs.Length == 0) return double.NaN;
        var s = xs.Order().ToArray();
        return s[Math.Min(s.Length - 1, (int)Math.Floor(p * s.Length))];
    }
}
