using System.Text.Json.Nodes;
using AttnScope.Capture;

namespace AttnScope.Analyses.Results;

/// <summary>
/// Norm-based attention (Kobayashi et al. 2020) of one stack: <see cref="Norms"/>[l, h, i, j] = ‖α_ij f(x_j)‖ with
/// f(x_j) the value vector of key j in head h (<see cref="Vectors"/> = <c>value</c>) or the value vector carried through
/// that head's slice of the output projection (<c>value_output</c>). Same shape as the attention, [L, H, Q, K].
/// </summary>
internal sealed record NormAttentionResult(string Stack, string Vectors, FloatTensor Norms)
{
    public CaptureAnalysis ToAnalysis() => new(AnalysisNames.Of(Stack, AnalysisNames.Norm), Norms,
        new JsonObject { ["stack"] = Stack, ["vectors"] = Vectors });

    public static NormAttentionResult? From(AttentionCapture capture, string stack)
    {
        if (capture.Analysis(AnalysisNames.Of(stack, AnalysisNames.Norm)) is not { } a) return null;
        ResultChecks.Rank(a, 4);
        if (!capture.Stacks.TryGetValue(stack, out var s) || !s.Attention.Shape.SequenceEqual(a.Tensor.Shape))
            throw new AttnScopeException($"analysis '{a.Name}' has shape {a.Tensor.ShapeText}, which is not the shape of the capture's {stack} attention");
        return new NormAttentionResult(stack, ResultChecks.String(a, "vectors", "value"), a.Tensor);
    }
}
