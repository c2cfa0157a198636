using AttnScope.Analyses.Flow;
using AttnScope.Analyses.Results;
using AttnScope.Analyses.Rollout;
using AttnScope.Capture;

namespace AttnScope;

/// <summary>
/// Attention analyses over a capture's self-attention stack (<c>encoder</c> or <c>decoder</c>). Each result can be
/// stored into the capture (<see cref="WithRollout"/>, <see cref="WithFlow"/>) so the viewer page shows it.
/// </summary>
public static class Analyze
{
    /// <summary>
    /// Attention rollout (Abnar and Zuidema 2020): each layer's head-fused attention plus the identity (the residual
    /// stream), rows renormalised, multiplied from the first layer up. Row <c>i</c> of the last step says how much
    /// token <c>i</c>'s top-layer state draws on each input token.
    /// </summary>
    /// <param name="capture">The capture.</param>
    /// <param name="fusion">How a layer's heads are combined: mean (the usual choice), max or min.</param>
    /// <param name="discardRatio">The share (0 to less than 1) of each fused matrix's smallest entries set to zero before rollout.</param>
    /// <returns>The joint attention after each layer; <see cref="RolloutResult.Final"/> is the last one, row by row.</returns>
    /// <exception cref="AttnScopeException">The capture holds no self-attention stack.</exception>
    public static RolloutResult Rollout(AttentionCapture capture, HeadFusion fusion = HeadFusion.Mean, float discardRatio = 0f)
    {
        ArgumentNullException.ThrowIfNull(capture);
        return AttentionRollout.Compute(capture, SelfStack(capture), fusion, discardRatio);
    }

    /// <summary>
    /// Attention flow (Abnar and Zuidema 2020): the maximum flow from each top-layer token to each input token through
    /// the layered graph whose edge capacities are the head-averaged attention plus the residual. Each row is
    /// normalised to sum to one; <see cref="FlowResult.Raw"/> keeps the unnormalised flows.
    /// </summary>
    /// <param name="capture">The capture.</param>
    /// <param name="outputLayer">The number of layers the flow runs through (default all).</param>
    /// <exception cref="AttnScopeException">The capture holds no self-attention stack, or the layer is out of range.</exception>
    public static FlowResult Flow(AttentionCapture capture, int? outputLayer = null)
    {
        ArgumentNullException.ThrowIfNull(capture);
        return AttentionFlow.Compute(capture, SelfStack(capture), outputLayer);
    }

    /// <summary>A copy of <paramref name="capture"/> that also holds <paramref name="rollout"/> (saved with it, shown by the viewer).</summary>
    public static AttentionCapture WithRollout(AttentionCapture capture, RolloutResult rollout)
    {
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentNullException.ThrowIfNull(rollout);
        return capture.WithAnalyses([rollout.ToAnalysis()]);
    }

    /// <summary>A copy of <paramref name="capture"/> that also holds <paramref name="flow"/> (saved with it, shown by the viewer).</summary>
    public static AttentionCapture WithFlow(AttentionCapture capture, FlowResult flow)
    {
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentNullException.ThrowIfNull(flow);
        return capture.WithAnalyses(flow.ToAnalyses());
    }

    /// <summary>The capture's self-attention stack: <c>encoder</c> when present, else <c>decoder</c>.</summary>
    internal static string SelfStack(AttentionCapture capture) =>
        capture.Stacks.ContainsKey(AttentionStack.Encoder) ? AttentionStack.Encoder
        : capture.Stacks.ContainsKey(AttentionStack.Decoder) ? AttentionStack.Decoder
        : throw new AttnScopeException("the capture holds neither an encoder nor a decoder attention stack");
}
