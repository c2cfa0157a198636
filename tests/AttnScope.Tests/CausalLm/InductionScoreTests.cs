using AttnScope.Capture;
using AttnScope.Training.CausalLm;

namespace AttnScope.Tests.CausalLm;

/// <summary>
/// TransformerLens's tutorial scores on hand-built attention patterns whose answer is known without the code:
/// a head that attends to the token after the previous occurrence, a head that attends to the previous token,
/// and uniform causal attention.
/// </summary>
public class InductionScoreTests
{
    private const int S = 7, T = 2 * S + 1;

    /// <summary>Each row q puts all its weight on key f(q) (which must be ≤ q).</summary>
    private static float[] OneHot(Func<int, int> key)
    {
        var p = new float[T * T];
        for (int q = 0; q < T; q++) p[q * T + key(q)] = 1f;
        return p;
    }

    [Fact]
    public void PerfectInductionPatternScoresOne()
    {
        // every query from S − 1 on attends to q − S + 1 (for q in the second copy: the token after the earlier
        // occurrence of the current token); earlier rows rest on BOS
        var p = OneHot(q => q >= S - 1 ? q - S + 1 : 0);
        Assert.Equal(1f, TutorialHeadScores.Induction(p, T, S), 6);
        Assert.True(TutorialHeadScores.PreviousToken(p, T) < 0.2f);
    }

    [Fact]
    public void TheTutorialsMeanAlsoTakesTheTwoRowsBeforeTheSecondCopy()
    {
        // perfect on the S second-copy tokens only; rows S − 1 and S attend to themselves: S of S + 2 diagonal entries
        var p = OneHot(q => q > S ? q - S + 1 : q);
        Assert.Equal((float)S / (S + 2), TutorialHeadScores.Induction(p, T, S), 6);
    }

    [Fact]
    public void PreviousTokenPatternScoresOneOnItsOwnDiagonalOnly()
    {
        var p = OneHot(q => Math.Max(0, q - 1));
        Assert.Equal(1f, TutorialHeadScores.PreviousToken(p, T), 6);
        Assert.Equal(0f, TutorialHeadScores.Induction(p, T, S), 6);
    }

    [Fact]
    public void UniformCausalAttentionScoresSmall()
    {
        var p = new float[T * T];
        for (int q = 0; q < T; q++)
            for (int k = 0; k <= q; k++) p[q * T + k] = 1f / (q + 1);
        double expected = 0;
        for (int q = S - 1; q < T; q++) expected += 1.0 / (q + 1);
        expected /= S + 2;
        float score = TutorialHeadScores.Induction(p, T, S);
        Assert.Equal(expected, score, 5);
        Assert.True(score < 0.15f, $"uniform attention scores {score}");
    }

    [Fact]
    public void DiagonalMeanFollowsTorchDiagonalOffsets()
    {
        // P[q, k] = 100·q + k: the mean of diagonal −2 is the mean of 100q + q − 2 over q = 2 … T − 1
        var p = new float[T * T];
        for (int q = 0; q < T; q++) for (int k = 0; k < T; k++) p[q * T + k] = 100 * q + k;
        double expected = Enumerable.Range(2, T - 2).Average(q => 101.0 * q - 2);
        Assert.Equal(expected, TutorialHeadScores.DiagonalMean(p, T, -2), 3);
    }

    [Fact]
    public void RepeatedTokenTestIsBosThenTwoEqualCopies()
    {
        var batch = TutorialHeadScores.RepeatedTokens(vocab: 20, repeatLength: S, batch: 3, seed: 4);
        Assert.Equal(3, batch.Length);
        foreach (var ids in batch)
        {
            Assert.Equal(T, ids.Length);
            Assert.Equal(RepeatedSegmentCorpus.Bos, ids[0]);
            Assert.Equal(ids[1..(S + 1)], ids[(S + 1)..]);
            Assert.All(ids[1..], id => Assert.InRange(id, 1, 19));
        }
        Assert.NotEqual(batch[0], batch[1]);
        Assert.Equal(batch[2], TutorialHeadScores.RepeatedTokens(20, S, 3, 4)[2]);
    }

    [Fact]
    public void BadShapesAreOneLineErrors()
    {
        Assert.Throws<AttnScopeException>(() => TutorialHeadScores.Induction(new float[10], T, S));
        Assert.Throws<AttnScopeException>(() => TutorialHeadScores.Induction(new float[T * T], T, T + 1));
        Assert.Throws<AttnScopeException>(() => TutorialHeadScores.RepeatedTokens(1, 3, 1, 0));
    }
}
