using AttnScope.Capture;
using AttnScope.Training.CausalLm;

namespace AttnScope.Tests.CausalLm;

public class RepeatedSegmentCorpusTests
{
    [Fact]
    public void EachSequenceHoldsOneCopiedSegmentAndMarksTheTokensInductionPredicts()
    {
        var corpus = new RepeatedSegmentCorpus(vocab: 64, length: 48, seed: 3);
        var offsets = new HashSet<int>();
        for (int i = 0; i < 200; i++)
        {
            var s = corpus.Sample(step: i / 10, index: i % 10);
            Assert.Equal(48, s.Ids.Length);
            Assert.Equal(47, s.Repeated.Length);
            Assert.Equal(RepeatedSegmentCorpus.Bos, s.Ids[0]);
            Assert.All(s.Ids[1..], id => Assert.InRange(id, 1, 63));
            // the marked targets form one run t = b+1 … b+k−1; find the copy distance from the data alone
            var marked = Enumerable.Range(0, 47).Where(t => s.Repeated[t]).Select(t => t + 1).ToList();
            Assert.InRange(marked.Count, corpus.MinRepeat - 1, corpus.MaxRepeat - 1);
            Assert.Equal(Enumerable.Range(marked[0], marked.Count), marked);
            int b = marked[0] - 1, k = marked.Count + 1;
            var dist = Enumerable.Range(k, b - k + 1).Where(dd => Enumerable.Range(b, k).All(t => s.Ids[t] == s.Ids[t - dd])).ToList();
            Assert.NotEmpty(dist);
            offsets.Add(dist[0]);
        }
        Assert.True(offsets.Count > 10, "the copy distance must vary, or a fixed-offset head could do the copying");
    }

    [Fact]
    public void SequencesDependOnlyOnSeedStepAndIndex()
    {
        var a = new RepeatedSegmentCorpus(64, 48, seed: 1);
        var b = new RepeatedSegmentCorpus(64, 48, seed: 1);
        Assert.Equal(a.Sample(7, 2).Ids, b.Sample(7, 2).Ids);
        Assert.NotEqual(a.Sample(7, 2).Ids, a.Sample(7, 3).Ids);
        Assert.NotEqual(a.Sample(7, 2).Ids, new RepeatedSegmentCorpus(64, 48, seed: 2).Sample(7, 2).Ids);
    }

    [Fact]
    public void SizesThatCannotHoldTwoCopiesAreRefused()
    {
        Assert.Throws<AttnScopeException>(() => new RepeatedSegmentCorpus(2, 48, 0));
        Assert.Throws<AttnScopeException>(() => new RepeatedSegmentCorpus(64, 48, 0, minRepeat: 4, maxRepeat: 24));
        Assert.Throws<AttnScopeException>(() => new RepeatedSegmentCorpus(64, 3, 0));
    }
}
