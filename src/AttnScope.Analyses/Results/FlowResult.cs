using System.Text.Json.Nodes;
using AttnScope.Capture;

namespace AttnScope.Analyses.Results;

/// <summary>
/// Attention flow (Abnar &amp; Zuidema 2020) of one stack: <see cref="Raw"/>[i, j] is the maximum flow from token i at
/// the output of layer <see cref="OutputLayer"/> (1-based: the output of that many layers) to input token j, in the
/// layered graph whose capacities are the residual-augmented, head-averaged attention. <see cref="Flow"/> is
/// <see cref="Raw"/> with each row normalised to sum 1. Both are [queries, keys]. When <see cref="Rows"/> is set only those
/// output tokens were computed and the other rows are zero.
/// </summary>
/// <param name="Stack">The stack the flow ran through, e.g. <c>encoder</c>.</param>
/// <param name="OutputLayer">The number of layers the flow runs through (1-based output layer).</param>
/// <param name="Flow">The flows with each row normalised to sum 1, [queries, keys].</param>
/// <param name="Raw">The unnormalised maximum flows, [queries, keys].</param>
/// <param name="Rows">The output tokens computed, when not all; the other rows are zero.</param>
public sealed record FlowResult(string Stack, int OutputLayer, FloatTensor Flow, FloatTensor Raw, IReadOnlyList<int>? Rows = null)
{
    /// <summary>The result as the two analyses a capture keeps (<c>{stack}.flow</c> and <c>{stack}.flow_raw</c>); <c>AttnScope.Analyze.WithFlow</c> stores them.</summary>
    public IEnumerable<CaptureAnalysis> ToAnalyses()
    {
        var info = new JsonObject { ["stack"] = Stack, ["output_layer"] = OutputLayer, ["fusion"] = "mean", ["residual"] = "(A + I) / 2 per row", ["exact"] = true };
        if (Rows is not null)
        {
            var list = new JsonArray();
            foreach (var r in Rows) list.Add(r);
            info["rows"] = list;
        }
        yield return new CaptureAnalysis(AnalysisNames.Of(Stack, AnalysisNames.Flow), Flow, info);
        yield return new CaptureAnalysis(AnalysisNames.Of(Stack, AnalysisNames.FlowRaw), Raw, (JsonObject)info.DeepClone());
    }

    /// <summary>The flow stored in <paramref name="capture"/> for <paramref name="stack"/>, or null when it holds none.</summary>
    /// <param name="capture">The capture.</param>
    /// <param name="stack">The stack's name, e.g. <c>encoder</c>.</param>
    /// <exception cref="AttnScopeException">The stored analysis does not fit the capture (wrong shape, bad metadata).</exception>
    public static FlowResult? From(AttentionCapture capture, string stack)
    {
        if (capture.Analysis(AnalysisNames.Of(stack, AnalysisNames.Flow)) is not { } a) return null;
        var (q, k) = ResultChecks.Axes(capture, stack);
        ResultChecks.Rank(a, 2);
        ResultChecks.Shape(a, q, k);
        var rawAnalysis = capture.Analysis(AnalysisNames.Of(stack, AnalysisNames.FlowRaw));
        if (rawAnalysis is not null)
        {
            ResultChecks.Rank(rawAnalysis, 2);
            ResultChecks.Shape(rawAnalysis, q, k);
        }
        var rows = ResultChecks.Rows(a, q);
        int layers = capture.Stacks.TryGetValue(stack, out var s) ? s.Layers : int.MaxValue;
        return new FlowResult(stack, ResultChecks.Integer(a, "output_layer", 0, 0, layers), a.Tensor, rawAnalysis?.Tensor ?? a.Tensor, rows);
    }
}
