using AttnScope.Analyses.Heads;
using AttnScope.Capture;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Analyses;

/// <summary>First-token and top-1 key shares per head (<see cref="SinkStatistics"/>), also kept in the head statistics.</summary>
public class SinkStatisticsTests
{
    [Fact]
    public void CausalStacksAverageTheRowsThatSeeMoreThanTheFirstToken()
    {
        // rows: [1 0 0], [.5 .5 0], [.2 .3 .5] — row 0 can only look at token 0 and is left out
        float[] a = [1, 0, 0, .5f, .5f, 0, .2f, .3f, .5f];
        var cap = SyntheticCaptures.Make(SyntheticCaptures.Tokens(3), new FloatTensor([1, 1, 3, 3], a));
        var dec = new AttentionCapture(cap.Metadata, cap.Tokens, [new AttentionStack(AttentionStack.Decoder, new FloatTensor([1, 1, 3, 3], a))]);
        var r = SinkStatistics.Compute(dec, AttentionStack.Decoder);
        Assert.Equal(1, r.FirstRow);
        Assert.Equal(2, r.Rows);
        Assert.Equal((.5f + .2f) / 2, r.FirstTokenShare(0, 0), 1e-6f);
        Assert.Equal((.5f + .5f) / 2, r.TopKeyShare(0, 0), 1e-6f);
        Assert.Equal(r.FirstTokenShare(0, 0), HeadStatistics.Compute(dec, AttentionStack.Decoder).Stat(0, 0, HeadStatNames.FirstTokenShare));
    }

    [Fact]
    public void BidirectionalStacksAverageEveryRow()
    {
        float[] a = [.6f, .4f, .1f, .9f];
        var cap = SyntheticCaptures.Make(SyntheticCaptures.Tokens(2), new FloatTensor([1, 1, 2, 2], a));
        var r = SinkStatistics.Compute(cap, AttentionStack.Encoder);
        Assert.Equal(0, r.FirstRow);
        Assert.Equal((.6f + .1f) / 2, r.FirstTokenShare(0, 0), 1e-6f);
        Assert.Equal((.6f + .9f) / 2, r.TopKeyShare(0, 0), 1e-6f);
    }

    [Fact]
    public void TheSinkHeadOfAGenerationStandsOut()
    {
        var cap = GenerationCaptures.Gpt2Like(layers: 2, heads: 4);
        var s = cap.Stack(AttentionStack.Decoder);
        var r = SinkStatistics.Compute(cap, AttentionStack.Decoder);
        int n = s.Queries;
        for (int l = 0; l < 2; l++)
            for (int h = 0; h < 4; h++)
            {
                // independent: straight from the tensor's indexer
                double first = 0, top = 0;
                for (int i = 1; i < n; i++)
                {
                    first += s.Attention[l, h, i, 0];
                    top += Enumerable.Range(0, n).Max(j => s.Attention[l, h, i, j]);
                }
                Assert.Equal(first / (n - 1), r.FirstTokenShare(l, h), 1e-5);
                Assert.Equal(top / (n - 1), r.TopKeyShare(l, h), 1e-5);
            }
        Assert.True(r.FirstTokenShare(0, 0) >= GenerationCaptures.SinkWeight);
        Assert.True(r.FirstTokenShare(0, 1) < GenerationCaptures.SinkWeight);
    }
}
