using AttnScope.Capture;

namespace AttnScope.Views.Analyses;

/// <summary>The views of analysis results kept in a capture (see docs/analyses.md).</summary>
internal enum AnalysisView
{
    /// <summary>Attention rollout after one layer (default: the last) as a heatmap; as a .gif, over the layers.</summary>
    Rollout,
    /// <summary>Exact attention flow as a heatmap.</summary>
    Flow,
    /// <summary>Token saliency as coloured text.</summary>
    Saliency,
    /// <summary>Token saliency as one labelled bar per token.</summary>
    SaliencyBars,
    /// <summary>Layers × heads coloured by head role, the role's score in each cell.</summary>
    Roles,
    /// <summary>Norm-based attention of one head (or the mean / max of the heads) of one layer.</summary>
    Norm,
    /// <summary>Norm-based attention of all heads of one layer.</summary>
    NormHeads,
    /// <summary>Layers × heads shares of attention on the first token and on each row's top-1 key (computed from the attention, no analysis needed).</summary>
    Sinks,
}

internal static class AnalysisViews
{
    /// <summary>Names as given to <c>attnscope render --view</c>.</summary>
    public static readonly IReadOnlyList<string> Names = ["rollout", "flow", "saliency", "saliency-bars", "roles", "norm", "norm-heads", "sinks"];

    /// <summary>The analysis view of that name, or null when the name is not one (it may be an attention view).</summary>
    public static AnalysisView? TryParse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "rollout" => AnalysisView.Rollout,
        "flow" => AnalysisView.Flow,
        "saliency" => AnalysisView.Saliency,
        "saliency-bars" => AnalysisView.SaliencyBars,
        "roles" => AnalysisView.Roles,
        "norm" => AnalysisView.Norm,
        "norm-heads" => AnalysisView.NormHeads,
        "sinks" => AnalysisView.Sinks,
        _ => null,
    };

    public static string Name(this AnalysisView view) => Names[(int)view];

    /// <summary>True for the views that show one stack (all but the saliency views, which show the input and output tokens).</summary>
    public static bool PerStack(this AnalysisView view) => view is not (AnalysisView.Saliency or AnalysisView.SaliencyBars);
}

/// <summary>Reads typed analysis results from a capture, or says clearly that they are missing.</summary>
internal static class AnalysisLookup
{
    /// <param name="flags">The <c>attnscope analyze</c> options that compute the missing analysis.</param>
    public static T Require<T>(AttentionCapture capture, T? result, string what, string? stack, string flags) where T : class
    {
        if (result is not null) return result;
        var where = stack is null ? "" : $" of the {stack} stack";
        var have = capture.Analyses.Count == 0 ? "it holds no analyses" : "it holds: " + string.Join(", ", capture.Analyses.Keys);
        throw new AttnScopeException($"the capture has no {what}{where} ({have}); run 'attnscope analyze CAPTURE {flags}' first");
    }
}
