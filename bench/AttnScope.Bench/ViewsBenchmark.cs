using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Views.Static;

namespace AttnScope.Bench;

/// <summary>
/// <c>-- views</c>: the model view PNG of a 12-layer × 12-head capture at 512 tokens and the labelled head view at 128
/// tokens, drawn by AttnScope and, in the same run, by matplotlib (views_matplotlib.py, Debian's python3-matplotlib)
/// at the same image sizes. Medians of several runs each; ratio = matplotlib ÷ AttnScope.
/// </summary>
public static class ViewsBenchmark
{
    public static int Run(int runs, int peerRuns)
    {
        var model = SyntheticCapture(layers: 12, heads: 12, n: 512, seed: 1);
        var head = SyntheticCapture(layers: 12, heads: 12, n: 128, seed: 2);
        var renderer = new ViewRenderer();
        var modelOptions = new HeatmapOptions();
        var headOptions = new HeatmapOptions { Layer = 0, Heads = HeadSelection.Single(0) };
        var modelLayout = renderer.Layout(model, ViewKind.Model, modelOptions);
        var headLayout = renderer.Layout(head, ViewKind.Head, headOptions);

        Console.WriteLine($"views benchmark: model view {modelLayout.Width} × {modelLayout.Height} px (12 × 12 heads, 512 tokens), " +
                          $"head view {headLayout.Width} × {headLayout.Height} px (128 tokens, every label), {runs} runs each, medians");
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, .NET {Environment.Version}; one thread each side");

        // ATTNSCOPE_BENCH_PHASES=1 also prints where the time goes (layout, painting, PNG encoding)
        if (Environment.GetEnvironmentVariable("ATTNSCOPE_BENCH_PHASES") == "1")
            foreach (var (view, cap, o) in new[] { (ViewKind.Model, model, modelOptions), (ViewKind.Head, head, headOptions) })
            {
                double lay = Timing.Median(runs, () => renderer.Layout(cap, view, o));
                var layout = renderer.Layout(cap, view, o);
                double paint = Timing.Median(runs, () => renderer.RenderBitmap(layout, o.ColorMap).Dispose());
                using var bmp = renderer.RenderBitmap(layout, o.ColorMap);
                double encode = Timing.Median(runs, () => renderer.EncodePng(bmp));
                Console.WriteLine($"  phases, {view} view: layout {lay:0.0} ms, paint {paint:0.0} ms, PNG encode {encode:0.0} ms");
            }

        double ours(ViewKind view, AttentionCapture cap, HeatmapOptions o) =>
            Timing.Median(runs, () => renderer.RenderPng(renderer.Layout(cap, view, o), o.ColorMap));
        double modelMs = ours(ViewKind.Model, model, modelOptions);
        double headMs = ours(ViewKind.Head, head, headOptions);
        Console.WriteLine($"AttnScope   model view PNG: {modelMs,8:0.0} ms    head view PNG: {headMs,8:0.0} ms");

        var peer = RunMatplotlib(model, head, modelLayout, headLayout, peerRuns);
        if (peer is null) return 2;
        var (version, peerModel, peerHead) = peer.Value;
        Console.WriteLine($"matplotlib  model view PNG: {peerModel * 1000,8:0.0} ms    head view PNG: {peerHead * 1000,8:0.0} ms   (matplotlib {version}, {peerRuns} runs each)");
        Console.WriteLine($"ratio (matplotlib ÷ AttnScope): model view {peerModel * 1000 / modelMs:0.0}×, head view {peerHead * 1000 / headMs:0.0}×   (goal ≥ 10×)");
        return 0;
    }

    private static (string Version, double ModelSeconds, double HeadSeconds)? RunMatplotlib(AttentionCapture model, AttentionCapture head,
        IFigureLayout modelLayout, IFigureLayout headLayout, int runs)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "views_matplotlib.py");
        var python = new[] { "/usr/bin/python3", "python3" }.FirstOrDefault(p => p.Contains('/') ? File.Exists(p) : true)!;
        var dir = Directory.CreateTempSubdirectory("attnscope-bench-views-");
        try
        {
            var check = Exec(python, ["-c", "import matplotlib, numpy"]);
            if (check.Code != 0)
            {
                Console.WriteLine("matplotlib  MISSING: the peer needs Debian's python3 with matplotlib and numpy " +
                                  "(apt-get install -y python3-matplotlib); no ratios this run");
                Console.WriteLine($"            ({python}: {check.Err.Trim().Split('\n').LastOrDefault()})");
                return null;
            }
            var modelPath = Path.Combine(dir.FullName, "model.safetensors");
            var headPath = Path.Combine(dir.FullName, "head.safetensors");
            model.Save(modelPath);
            head.Save(headPath);
            var run = Exec(python, [script, "--model", modelPath, "--head", headPath, "--runs", runs.ToString(CultureInfo.InvariantCulture),
                "--model-size", $"{modelLayout.Width}x{modelLayout.Height}", "--head-size", $"{headLayout.Width}x{headLayout.Height}"]);
            if (run.Code != 0)
            {
                Console.WriteLine($"matplotlib  FAILED (exit {run.Code}): {run.Err.Trim()}");
                return null;
            }
            using var json = JsonDocument.Parse(run.Out.Trim().Split('\n')[^1]);
            var r = json.RootElement;
            return (r.GetProperty("matplotlib").GetString()!, r.GetProperty("model_s").GetDouble(), r.GetProperty("head_s").GetDouble());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    internal static (int Code, string Out, string Err) Exec(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output, err.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (127, "", e.Message);
        }
    }

    private static readonly string[] Words =
    [
        "the", "cat", "##s", "sat", "on", "a", "mat", "while", "ca", "##fé", "owners", "talk", "##ed", "about", "北京", "東京",
        "weather", "forecast", "##ing", ",", "and", "über", "!", "it", "was", "really", "long", "Zürich", ".",
    ];

    /// <summary>Softmax rows of a few typical patterns (previous token, [CLS]/[SEP], local window, self) plus noise.</summary>
    public static AttentionCapture SyntheticCapture(int layers, int heads, int n, int seed)
    {
        var t = new FloatTensor([layers, heads, n, n]);
        var rng = new Random(seed);
        var row = new float[n];
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
                for (int q = 0; q < n; q++)
                {
                    float max = float.NegativeInfinity;
                    for (int k = 0; k < n; k++)
                    {
                        float s = (float)rng.NextDouble() * 0.8f;
                        switch ((l + h) % 4)
                        {
                            case 0: if (k == q - 1) s += 5; break;
                            case 1: if (k == 0 || k == n - 1) s += 4; break;
                            case 2: s -= Math.Abs(k - q) * 0.3f; break;
                            default: if (k == q) s += 4; break;
                        }
                        row[k] = s;
                        max = MathF.Max(max, s);
                    }
                    float sum = 0;
                    for (int k = 0; k < n; k++) sum += row[k] = MathF.Exp(row[k] - max);
                    var dst = t.Slice(l, h, q);
                    for (int k = 0; k < n; k++) dst[k] = row[k] / sum;
                }
        var tokens = new List<CaptureToken>(n);
        for (int i = 0; i < n; i++)
        {
            bool special = i == 0 || i == n - 1;
            tokens.Add(new CaptureToken(special ? (i == 0 ? "[CLS]" : "[SEP]") : Words[(i * 7) % Words.Length], i, special ? -1 : i, special ? -1 : i + 1, Segment.A, special));
        }
        var meta = new CaptureMetadata { ModelId = "synthetic", Architecture = "bert", Source = "managed" };
        return new AttentionCapture(meta, tokens, [new AttentionStack(AttentionStack.Encoder, t)]);
    }
}
