using System.Text.Json.Nodes;
using AttnScope.Capture;

namespace AttnScope.Analyses.Results;

/// <summary>
/// Attention rollout of one stack: <see cref="Joint"/> is [steps, queries, keys] where step i is the joint attention
/// after layer <see cref="StartLayer"/> + i (so the last step is the rollout through the top layer). Rows sum to 1.
/// </summary>
/// <param name="Stack">The stack the rollout ran over, e.g. <c>encoder</c>.</param>
/// <param name="Fusion">How each layer's heads were combined.</param>
/// <param name="DiscardRatio">The share of each fused matrix's smallest entries set to zero.</param>
/// <param name="StartLayer">The first layer of the rollout, from 0.</param>
/// <param name="Joint">The joint attention after each layer, [steps, queries, keys].</param>
public sealed record RolloutResult(string Stack, HeadFusion Fusion, float DiscardRatio, int StartLayer, FloatTensor Joint)
{
    /// <summary>The number of rollout steps (layers from <see cref="StartLayer"/> to the top).</summary>
    public int Steps => Joint.Shape[0];
    /// <summary>The rollout through the last layer, [queries, keys].</summary>
    public ReadOnlySpan<float> Final => Joint.Slice(Steps - 1);

    /// <summary>The result as the analysis a capture keeps (<c>{stack}.rollout</c>); <c>AttnScope.Analyze.WithRollout</c> stores it.</summary>
    public CaptureAnalysis ToAnalysis() => new(AnalysisNames.Of(Stack, AnalysisNames.Rollout), Joint, new JsonObject
    {
        ["stack"] = Stack,
        ["fusion"] = Fusion.Name(),
        ["discard_ratio"] = DiscardRatio,
        ["start_layer"] = StartLayer,
        ["residual"] = "(A + I) / 2 per row",
    });

    /// <summary>The rollout stored in <paramref name="capture"/> for <paramref name="stack"/>, or null when it holds none.</summary>
    /// <param name="capture">The capture.</param>
    /// <param name="stack">The stack's name, e.g. <c>encoder</c>.</param>
    /// <exception cref="AttnScopeException">The stored analysis does not fit the capture (wrong shape, bad metadata).</exception>
    public static RolloutResult? From(AttentionCapture capture, string stack)
    {
        if (capture.Analysis(AnalysisNames.Of(stack, AnalysisNames.Rollout)) is not { } a) return null;
        ResultChecks.Rank(a, 3);
        var (q, k) = ResultChecks.Axes(capture, stack);
        ResultChecks.Shape(a, q, k);
        int steps = a.Tensor.Shape[0];
        if (steps < 1) throw new AttnScopeException($"analysis '{a.Name}' holds no rollout step");
        // step i is the joint attention after layer start + i: the steps end at the stack's top layer
        int lastStart = capture.Stacks.TryGetValue(stack, out var s) ? s.Layers - steps : int.MaxValue - steps;
        if (lastStart < 0) throw new AttnScopeException($"analysis '{a.Name}' has {steps} steps but {stack} has {s!.Layers} layers");
        return new RolloutResult(stack, HeadFusionNames.Parse(ResultChecks.String(a, "fusion", "mean")),
            (float)ResultChecks.Number(a, "discard_ratio", 0), ResultChecks.Integer(a, "start_layer", 0, 0, lastStart), a.Tensor);
    }
}
