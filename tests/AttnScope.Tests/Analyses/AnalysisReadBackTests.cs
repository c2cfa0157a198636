using AttnScope.Analyses.Flow;
using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Analyses;

/// <summary>
/// Analyses read back from a capture are checked against its tokens and stacks: a file whose analysis tensors do
/// not fit (hand-edited, or from another capture) gets a clear error instead of an index error in a view.
/// </summary>
public class AnalysisReadBackTests
{
    private static AttentionCapture With(AttentionCapture cap, string name, int[] shape) =>
        cap.WithAnalyses([new CaptureAnalysis(name, new FloatTensor(shape))]);

    [Fact]
    public void Analyses_whose_shape_does_not_fit_the_tokens_are_refused_with_the_name()
    {
        var cap = SyntheticCaptures.Encoder(2, 3, 5);
        Assert.Contains("encoder.rollout", Assert.Throws<AttnScopeException>(() => RolloutResult.From(With(cap, "encoder.rollout", [1, 4, 4]), "encoder")).Message);
        Assert.Contains("encoder.flow", Assert.Throws<AttnScopeException>(() => FlowResult.From(With(cap, "encoder.flow", [5, 6]), "encoder")).Message);
        Assert.Contains("2 layers × 3 heads", Assert.Throws<AttnScopeException>(() => HeadStatsResult.From(With(cap, "encoder.head_stats", [2, 2, 1]), "encoder")).Message);
        Assert.Contains("not the shape", Assert.Throws<AttnScopeException>(() => NormAttentionResult.From(With(cap, "encoder.norm", [2, 3, 5, 4]), "encoder")).Message);
        Assert.Contains("saliency.source", Assert.Throws<AttnScopeException>(() => SaliencyResult.From(With(cap, "saliency.source", [4]))).Message);
        var withRelevance = With(With(cap, "saliency.source", [5]), "encoder.relevance", [5, 4]);
        Assert.Contains("encoder.relevance", Assert.Throws<AttnScopeException>(() => SaliencyResult.From(withRelevance)).Message);
    }

    [Fact]
    public void Flow_from_some_output_tokens_only_matches_those_rows_of_the_full_flow()
    {
        var cap = SyntheticCaptures.Realistic(9, layers: 3, heads: 2);
        var full = AttentionFlow.Compute(cap);
        int calls = 0;
        var part = AttentionFlow.Compute(cap, rows: [4, 0, 4], progress: (done, all) => { Interlocked.Increment(ref calls); Assert.Equal(2, all); });
        Assert.Equal([0, 4], part.Rows);
        Assert.Equal(2, calls);
        for (int i = 0; i < 9; i++)
            for (int j = 0; j < 9; j++)
                Assert.Equal(i is 0 or 4 ? full.Raw.Data[i * 9 + j] : 0f, part.Raw.Data[i * 9 + j]);
        var back = FlowResult.From(cap.WithAnalyses(part.ToAnalyses()), "encoder")!;
        Assert.Equal([0, 4], back.Rows);
        Assert.Contains("flow row 9", Assert.Throws<AttnScopeException>(() => AttentionFlow.Compute(cap, rows: [9])).Message);
    }
}

/// <summary>Flow from the output of every layer, for animating flow over layers.</summary>
public class FlowLayersTests
{
    [Fact]
    public void Each_frame_is_the_flow_through_that_many_layers()
    {
        var cap = SyntheticCaptures.Realistic(7, layers: 3, heads: 2);
        var (layers, top) = AttentionFlow.ComputeLayers(cap);
        Assert.Equal([3, 7, 7], layers.Flows.Shape);
        for (int l = 0; l < 3; l++)
            Assert.Equal(AttentionFlow.Compute(cap, outputLayer: l + 1).Flow.Data, layers.Flows.Slice(l).ToArray());
        Assert.Equal(AttentionFlow.Compute(cap).Raw.Data, top.Raw.Data);
        var back = FlowLayersResult.From(cap.WithAnalyses([layers.ToAnalysis()]), "encoder")!;
        Assert.Equal(layers.Flows.Data, back.Flows.Data);
    }
}
