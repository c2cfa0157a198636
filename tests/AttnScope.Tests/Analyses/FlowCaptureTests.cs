using AttnScope.Analyses.Attention;
using AttnScope.Analyses.Flow;
using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Analyses;

/// <summary>Attention flow computed from a capture: inputs, normalisation, output layer, errors, storage.</summary>
public class FlowCaptureTests
{
    [Fact]
    public void FlowOfACaptureIsTheMaxFlowOfItsAugmentedLayersWithRowsNormalised()
    {
        var capture = SyntheticCaptures.Realistic(9, layers: 3, heads: 4);
        var result = AttentionFlow.Compute(capture);
        Assert.Equal("encoder", result.Stack);
        Assert.Equal(3, result.OutputLayer);
        Assert.Equal([9, 9], result.Flow.Shape);
        Assert.Equal([9, 9], result.Raw.Shape);

        // Independently: head mean, (A + I) / 2, then Edmonds–Karp on the explicit graph.
        var s = capture.Stack("encoder");
        int n = 9;
        var m = new double[3 * n * n];
        for (int l = 0; l < 3; l++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    double mean = 0;
                    for (int h = 0; h < 4; h++) mean += s.Attention[l, h, i, j];
                    m[(l * n + i) * n + j] = (mean / 4 + (i == j ? 1 : 0)) / 2;
                }
        var reference = new FlowReference(m, 3, n);
        for (int i = 0; i < n; i++)
        {
            double rowSum = 0;
            var want = new double[n];
            for (int j = 0; j < n; j++) rowSum += want[j] = reference.MaxFlow(i, j);
            for (int j = 0; j < n; j++)
            {
                Assert.Equal(want[j], result.Raw.Data[i * n + j], 5);
                Assert.Equal(want[j] / rowSum, result.Flow.Data[i * n + j], 5);
            }
            Assert.Equal(1.0, result.Flow.Data.AsSpan(i * n, n).ToArray().Sum(v => (double)v), 5);
        }
    }

    [Fact]
    public void EveryFlowRowSumsToOne()
    {
        var result = AttentionFlow.Compute(SyntheticCaptures.Encoder(layers: 4, heads: 3, n: 17, seed: 5));
        for (int i = 0; i < 17; i++)
        {
            double sum = 0;
            for (int j = 0; j < 17; j++) sum += result.Flow.Data[i * 17 + j];
            Assert.Equal(1.0, sum, 5);
        }
    }

    [Fact]
    public void OutputLayerOneIsTheFirstLayersAugmentedAttention()
    {
        var capture = SyntheticCaptures.Realistic(6, layers: 3, heads: 2);
        var result = AttentionFlow.Compute(capture, outputLayer: 1);
        Assert.Equal(1, result.OutputLayer);
        var s = capture.Stack("encoder");
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
            {
                double mean = (s.Attention[0, 0, i, j] + s.Attention[0, 1, i, j]) / 2;
                Assert.Equal((mean + (i == j ? 1 : 0)) / 2, result.Raw.Data[i * 6 + j], 5);
            }
        // Two layers differ from one: the choice of output layer is honoured.
        var two = AttentionFlow.Compute(capture, outputLayer: 2);
        Assert.Equal(2, two.OutputLayer);
        Assert.NotEqual(result.Raw.Data, two.Raw.Data);
    }

    [Fact]
    public void OutputLayerOutOfRangeIsAnError()
    {
        var capture = SyntheticCaptures.Realistic(5, layers: 2, heads: 2);
        var high = Assert.Throws<AttnScopeException>(() => AttentionFlow.Compute(capture, outputLayer: 3));
        Assert.Contains("1..2", high.Message);
        Assert.Throws<AttnScopeException>(() => AttentionFlow.Compute(capture, outputLayer: 0));
    }

    [Fact]
    public void CrossAttentionAndMissingStacksAreErrors()
    {
        int n = 4, m = 3;
        var meta = new CaptureMetadata { ModelId = "synthetic", Architecture = "marian", Source = "managed" };
        var capture = new AttentionCapture(meta, SyntheticCaptures.Tokens(n),
            [
                new AttentionStack(AttentionStack.Encoder, SyntheticCaptures.RandomAttention(2, 2, n, 1)),
                new AttentionStack(AttentionStack.Decoder, SyntheticCaptures.RandomAttention(2, 2, m, 2)),
                new AttentionStack(AttentionStack.Cross, SyntheticCaptures.RandomAttention(2, 2, m, 3, keys: n)),
            ], SyntheticCaptures.Tokens(m));
        var cross = Assert.Throws<AttnScopeException>(() => AttentionFlow.Compute(capture, "cross"));
        Assert.Contains("cross", cross.Message);
        Assert.Equal([m, m], AttentionFlow.Compute(capture, "decoder").Flow.Shape);
        Assert.Throws<AttnScopeException>(() => AttentionFlow.Compute(SyntheticCaptures.Realistic(4), "decoder"));
    }

    [Fact]
    public void ResultIsStoredInTheCaptureAndReadBack()
    {
        var capture = SyntheticCaptures.Realistic(7, layers: 2, heads: 2);
        var result = AttentionFlow.Compute(capture);
        var back = AttentionCapture.FromBytes(capture.WithAnalyses(result.ToAnalyses()).ToBytes());
        var read = FlowResult.From(back, "encoder");
        Assert.NotNull(read);
        Assert.Equal(2, read.OutputLayer);
        Assert.Equal(result.Flow.Data, read.Flow.Data);
        Assert.Equal(result.Raw.Data, read.Raw.Data);
    }
}
