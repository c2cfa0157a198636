namespace AttnScope.Analyses.Results;

/// <summary>
/// Names under which analyses are kept in a capture (tensor <c>analysis.{name}</c>); docs/analyses.md describes
/// each tensor's shape and info. Per-stack analyses are named <c>{stack}.{kind}</c>.
/// </summary>
internal static class AnalysisNames
{
    public const string Rollout = "rollout";
    public const string Flow = "flow";
    public const string FlowRaw = "flow_raw";
    /// <summary>Flow from the output of every layer: [layers, n, n], frame l = flow through layers 0..l.</summary>
    public const string FlowLayers = "flow_layers";
    public const string HeadStats = "head_stats";
    public const string Norm = "norm";
    public const string Relevance = "relevance";
    /// <summary>Per-token saliency for one chosen output: <c>saliency.source</c> (input tokens), <c>saliency.target</c> (output tokens).</summary>
    public const string SaliencySource = "saliency.source";
    public const string SaliencyTarget = "saliency.target";

    public static string Of(string stack, string kind) => stack + "." + kind;
}
