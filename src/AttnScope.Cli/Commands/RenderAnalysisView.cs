using AttnScope.Capture;
using AttnScope.Views.Analyses;
using AttnScope.Views.Animation;
using AttnScope.Views.Static;

namespace AttnScope.Cli;

/// <summary>
/// The analysis views of <c>attnscope render</c> (<c>--view rollout|flow|saliency|saliency-bars|roles|norm|norm-heads</c>):
/// which options apply to which view, and the drawing through <see cref="AnalysisRenderer"/>.
/// </summary>
internal static class RenderAnalysisView
{
    /// <summary>The attention view, or the analysis view, a <c>--view</c> names; neither is a user error listing both.</summary>
    public static (ViewKind Kind, AnalysisView? Analysis) Parse(string text)
    {
        if (AnalysisViews.TryParse(text) is { } a) return (ViewKind.Head, a);
        try
        {
            return (ViewRenderer.ParseView(text), null);
        }
        catch (AttnScopeException e)
        {
            throw new AttnScopeException($"{e.Message}; or an analysis view: {string.Join(", ", AnalysisViews.Names)}");
        }
    }

    /// <summary>Rejects options that mean nothing for an analysis view, before any work.</summary>
    public static void Check(AnalysisView view, bool layerGiven, bool headGiven, bool gif, string values, bool selection)
    {
        string name = view.Name();
        if (layerGiven && view is not (AnalysisView.Rollout or AnalysisView.Norm or AnalysisView.NormHeads))
            throw new AttnScopeException($"--layer does not apply to the {name} view");
        if (headGiven && view != AnalysisView.Norm)
            throw new AttnScopeException($"--head does not apply to the {name} view" + (view == AnalysisView.NormHeads ? ", which shows all heads" : ""));
        if (gif && view is not (AnalysisView.Rollout or AnalysisView.Flow))
            throw new AttnScopeException($"the {name} view has no animation: rollout and flow animate, over their layers (--view rollout -o FILE.gif)");
        if (values != ValueKind.Attention)
            throw new AttnScopeException($"--values does not apply to the {name} view, which draws its analysis");
        if (selection && view is AnalysisView.Saliency or AnalysisView.SaliencyBars or AnalysisView.Roles or AnalysisView.Sinks)
            throw new AttnScopeException($"--range, --pairs and --hide-special do not apply to the {name} view");
    }

    public static void Save(CliOutput output, AttentionCapture capture, AnalysisView view, HeatmapOptions options, string path, int? layer, int delayMs)
    {
        var renderer = new AnalysisRenderer();
        renderer.Save(capture, view, options, path, layer, new AnimationOptions { DelayMs = delayMs });
        if (Path.GetExtension(path).Equals(".gif", StringComparison.OrdinalIgnoreCase))
        {
            bool flow = view == AnalysisView.Flow;
            var kind = flow ? AttnScope.Analyses.Results.AnalysisNames.FlowLayers : AttnScope.Analyses.Results.AnalysisNames.Rollout;
            int steps = capture.Analysis(AttnScope.Analyses.Results.AnalysisNames.Of(options.Stack, kind))!.Tensor.Shape[0];
            output.Out.WriteLine($"wrote {path} ({steps} frames, the {(flow ? "flow from" : "rollout after")} each layer)");
        }
        else output.Out.WriteLine($"wrote {path}");
    }
}
