using System.Text.Json.Nodes;
using AttnScope.Capture;

namespace AttnScope.Analyses.Results;

/// <summary>
/// Attention flow from the output of every layer: <see cref="Flows"/>[l] is the row-normalised flow from the tokens
/// at the output of layer l (through layers 0..l) to the input tokens, [layers, queries, keys] — so flow can be
/// animated over layers like rollout. With <see cref="Rows"/> set only those output tokens were computed.
/// </summary>
internal sealed record FlowLayersResult(string Stack, FloatTensor Flows, IReadOnlyList<int>? Rows = null)
{
    public int Steps => Flows.Shape[0];

    public CaptureAnalysis ToAnalysis()
    {
        var info = new JsonObject { ["stack"] = Stack, ["fusion"] = "mean", ["residual"] = "(A + I) / 2 per row", ["exact"] = true };
        if (Rows is not null)
        {
            var list = new JsonArray();
            foreach (var r in Rows) list.Add(r);
            info["rows"] = list;
        }
        return new CaptureAnalysis(AnalysisNames.Of(Stack, AnalysisNames.FlowLayers), Flows, info);
    }

    public static FlowLayersResult? From(AttentionCapture capture, string stack)
    {
        if (capture.Analysis(AnalysisNames.Of(stack, AnalysisNames.FlowLayers)) is not { } a) return null;
        ResultChecks.Rank(a, 3);
        var (q, k) = ResultChecks.Axes(capture, stack);
        ResultChecks.Shape(a, q, k);
        if (a.Tensor.Shape[0] < 1) throw new AttnScopeException($"analysis '{a.Name}' holds no layer");
        return new FlowLayersResult(stack, a.Tensor, ResultChecks.Rows(a, q));
    }
}
