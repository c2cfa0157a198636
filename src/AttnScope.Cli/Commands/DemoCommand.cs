using System.CommandLine;
using AttnScope.Analyses.Relevance;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Views.Analyses;
using AttnScope.Views.Static;
using AttnScope.Web.Data;
using AttnScope.Web.Offline;

namespace AttnScope.Cli;

/// <summary>
/// <c>attnscope demo</c>: the README's run command. Captures the embedded default model on a sentence pair and
/// writes the capture, the static views (one head, all heads of a layer, the model view, an animation over layers)
/// and the offline interactive page into a folder, then says what it wrote.
/// </summary>
internal static class DemoCommand
{
    public const string TextA = "The cat sat on the mat because it was tired.";
    public const string TextB = "It fell asleep in the warm afternoon sun.";

    public static Command Create(CliOutput output)
    {
        var dir = new Option<string>("--out") { Description = "folder to write into", DefaultValueFactory = _ => "attnscope-demo" };
        var engine = CaptureCommand.EngineOption();
        var cmd = new Command("demo", "Capture the default model (all-MiniLM-L6-v2) on a sentence pair; draw its views and write the interactive page.") { dir, engine };
        cmd.SetAction(r => output.Guard(() =>
        {
            var folder = r.GetValue(dir)!;
            Directory.CreateDirectory(folder);
            var kind = CaptureCommand.ParseEngine(r.GetValue(engine)!);
            output.Out.WriteLine($"model: all-MiniLM-L6-v2 (embedded), {kind.ToString().ToLowerInvariant()} engine");
            output.Out.WriteLine($"text A: {TextA}");
            output.Out.WriteLine($"text B: {TextB}");
            var started = System.Diagnostics.Stopwatch.StartNew();
            using var session = ModelSession.Open("minilm", kind);
            var cap = session.Capture(TextA, TextB, captureQkv: true);
            var capPath = Path.Combine(folder, "capture.safetensors");
            cap.Save(capPath);
            var enc = cap.Stack(AttentionStack.Encoder);
            output.Out.WriteLine($"wrote {capPath}: {cap.Tokens.Count} tokens, encoder.attention {enc.Attention.ShapeText}, with Q/K/V and scores");

            var renderer = new HeatmapRenderer();
            foreach (var (layer, head) in DemoHeads)
            {
                var options = new HeatmapOptions { Layer = layer, Heads = head };
                var which = head.Aggregation == HeadAggregation.Single ? $"head{head.Head}" : head.Aggregation.ToString().ToLowerInvariant();
                var name = $"heatmap-layer{layer}-{which}.png";
                var path = Path.Combine(folder, name);
                renderer.SavePng(cap, options, path);
                output.Out.WriteLine($"wrote {path}: layer {layer}, {head}");
            }
            var views = new ViewRenderer();
            foreach (var (file, view, options, what) in DemoViews)
            {
                var path = Path.Combine(folder, file);
                views.Save(cap, view, options, path);
                output.Out.WriteLine($"wrote {path}: {what}");
            }

            cap = WriteAnalyses(output, session, cap, capPath, folder);

            var page = Path.Combine(folder, "viewer.html");
            var viewer = new ViewerData(cap, "demo: " + TextA + " / " + TextB);
            AttnScope.Capture.Io.AtomicFile.Write(page, s => OfflinePage.Write(viewer, s));
            output.Out.WriteLine($"wrote {page}: the interactive viewer (head, model, matrix, Q·K views and the analyses), offline; open it in a browser");
            output.Out.WriteLine($"done in {started.Elapsed.TotalSeconds:F1} s; inspect the capture with: attnscope inspect {capPath}");
            return 0;
        }));
        return cmd;
    }

    /// <summary>
    /// The analyses of the pair (rollout, exact flow, head roles, norm-based attention) kept in the capture and drawn;
    /// and gradient relevance of text A alone for its similarity with text B, as coloured text.
    /// </summary>
    private static AttentionCapture WriteAnalyses(CliOutput output, ModelSession session, AttentionCapture cap, string capPath, string folder)
    {
        var analysed = AnalyzeCommand.Run(cap, new AnalyzeCommand.Options(), output, session.Files.Id);
        analysed.Save(capPath);
        output.Out.WriteLine($"wrote {capPath} again with {analysed.Analyses.Count} analyses (attnscope inspect lists them)");
        var renderer = new AnalysisRenderer();
        foreach (var (file, view, what) in new (string, AnalysisView, string)[]
        {
            ("roles.png", AnalysisView.Roles, "head roles, 6 layers × 12 heads"),
            ("flow.png", AnalysisView.Flow, "exact attention flow from the top layer to the input tokens"),
            ("rollout.gif", AnalysisView.Rollout, "attention rollout after each layer"),
        })
        {
            var path = Path.Combine(folder, file);
            renderer.Save(analysed, view, new HeatmapOptions(), path);
            output.Out.WriteLine($"wrote {path}: {what}");
        }
        var single = session.Capture(TextA, null, captureQkv: false);
        var saliency = GradientRelevance.ForEmbedding(session, single, TextB);
        var singlePath = Path.Combine(folder, "capture-a.safetensors");
        single = single.WithAnalyses(saliency.ToAnalyses());
        single.Save(singlePath);
        var salPath = Path.Combine(folder, "saliency.png");
        renderer.Save(single, AnalysisView.Saliency, new HeatmapOptions(), salPath);
        output.Out.WriteLine($"wrote {singlePath} and {salPath}: which tokens of text A make it similar to text B " +
            $"(cosine {(double?)saliency.Info["similarity"] ?? double.NaN:0.000}, gradient-weighted relevance)");
        return analysed;
    }

    /// <summary>The other static views: all heads of a layer, the model view, and the head average over layers.</summary>
    private static readonly (string File, ViewKind View, HeatmapOptions Options, string What)[] DemoViews =
    [
        ("heads-layer2.png", ViewKind.Heads, new HeatmapOptions { Layer = 2 }, "all 12 heads of layer 2"),
        ("model.png", ViewKind.Model, new HeatmapOptions(), "model view, 6 layers × 12 heads"),
        ("layers-mean.gif", ViewKind.Head, new HeatmapOptions { Heads = HeadSelection.Mean }, "animation of the head average over the 6 layers"),
    ];

    /// <summary>Heads worth a look in all-MiniLM-L6-v2 on this pair, plus a layer average.</summary>
    private static readonly (int Layer, HeadSelection Head)[] DemoHeads =
    [
        (2, HeadSelection.Single(3)),
        (0, HeadSelection.Mean),
    ];
}
