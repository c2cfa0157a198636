using System.Text.Json.Nodes;
using AttnScope.Capture;

namespace AttnScope.Analyses.Results;

/// <summary>
/// Attention flow (Abnar &amp; Zuidema 2020) of one stack: <see cref="Raw"/>[i, j] is the maximum flow from token i at
/// the output of layer <see cref="OutputLayer"/> (1-based: the output of that many layers) to input token j, in the
/// layered graph whose capacities are the residual-augmented, head-averaged attention. <see cref="Flow"/> is
/// <see cref="Raw"/> with each row normalised to sum 1. Both are [queries, keys].
/// </summary>
public sealed record FlowResult(string Stack, int OutputLayer, FloatTensor Flow, FloatTensor Raw)
{
    public IEnumerable<CaptureAnalysis> ToAnalyses()
    {
        var info = new JsonObject { ["stack"] = Stack, ["output_layer"] = OutputLayer, ["fusion"] = "mean", ["residual"] = "(A + I) / 2 per row", ["exact"] = true };
        yield return new CaptureAnalysis(AnalysisNames.Of(Stack, AnalysisNames.Flow), Flow, info);
        yield return new CaptureAnalysis(AnalysisNames.Of(Stack, AnalysisNames.FlowRaw), Raw, (JsonObject)info.DeepClone());
    }

    public static FlowResult? From(AttentionCapture capture, string stack)
    {
        if (capture.Analysis(AnalysisNames.Of(stack, AnalysisNames.Flow)) is not { } a) return null;
        ResultChecks.Rank(a, 2);
        var raw = capture.Analysis(AnalysisNames.Of(stack, AnalysisNames.FlowRaw))?.Tensor ?? a.Tensor;
        return new FlowResult(stack, (int)ResultChecks.Number(a, "output_layer", 0), a.Tensor, raw);
    }
}
