using AttnScope.Analyses.Circuits;
using AttnScope.Capture;
using AttnScope.Sources.Transformer;
using Xunit;

namespace AttnScope.Tests.Circuits;

/// <summary>
/// The head detector checked on hand-built attention patterns whose scores follow from the definitions by hand,
/// on the repeated-random-token prompt [BOS] r r with |r| = S.
/// </summary>
public class HeadDetectorTests
{
    private const int S = 4, N = 2 * S + 1;
    private static readonly int[] Tokens = [99, 10, 11, 12, 13, 10, 11, 12, 13];

    /// <summary>A perfect induction head: query i of the second copy attends to i − S + 1 (the token after the
    /// earlier occurrence of its own token); every other query attends to BOS.</summary>
    private static float[] PerfectInduction()
    {
        var a = new float[N * N];
        for (int i = 0; i < N; i++) a[i * N + (i > S ? i - S + 1 : 0)] = 1;
        return a;
    }

    private static float[] Uniform()
    {
        var a = new float[N * N];
        for (int i = 0; i < N; i++) for (int j = 0; j <= i; j++) a[i * N + j] = 1f / (i + 1);
        return a;
    }

    [Fact]
    public void DetectionPatternsFollowTheDefinitions()
    {
        var prev = HeadDetector.Pattern(DetectedHead.PreviousToken, Tokens);
        var dup = HeadDetector.Pattern(DetectedHead.DuplicateToken, Tokens);
        var ind = HeadDetector.Pattern(DetectedHead.Induction, Tokens);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
            {
                Assert.Equal(j == i - 1 ? 1f : 0f, prev[i * N + j]);
                Assert.Equal(i > S && j == i - S ? 1f : 0f, dup[i * N + j]);
                Assert.Equal(i > S && j == i - S + 1 ? 1f : 0f, ind[i * N + j]);
            }
    }

    [Fact]
    public void PerfectInductionPatternScoresOne()
    {
        var p = HeadDetector.Pattern(DetectedHead.Induction, Tokens);
        var a = PerfectInduction();
        Assert.Equal(1f, HeadDetector.Score(a, p, N, DetectionMeasure.Mul, excludeBos: true), 6);
        Assert.Equal(1f, HeadDetector.Score(a, p, N, DetectionMeasure.Abs, excludeBos: true), 6);
        // With BOS kept, the S + 1 queries that look at BOS count: S of the 2S + 1 rows hit the pattern.
        Assert.Equal((float)S / N, HeadDetector.Score(a, p, N, DetectionMeasure.Mul), 6);
        // abs: each BOS row misses by |1 − 0| = 1, n = 2S + 1.
        Assert.Equal(1f - (float)(S + 1) / N, HeadDetector.Score(a, p, N, DetectionMeasure.Abs), 6);
    }

    [Fact]
    public void UniformAttentionScoresLow()
    {
        var p = HeadDetector.Pattern(DetectedHead.Induction, Tokens);
        // Row i of the second copy gives 1/(i+1) to its single induction key; all rows sum to 1.
        double expected = 0;
        for (int i = S + 1; i < N; i++) expected += 1.0 / (i + 1);
        expected /= N;
        float score = HeadDetector.Score(Uniform(), p, N);
        Assert.Equal(expected, score, 6);
        Assert.True(score < 0.1f);
        // the previous-token pattern on uniform attention: rows 1..n−1 give 1/(i+1) to i − 1
        var prev = HeadDetector.Pattern(DetectedHead.PreviousToken, Tokens);
        double ep = 0;
        for (int i = 1; i < N; i++) ep += 1.0 / (i + 1);
        Assert.Equal(ep / N, HeadDetector.Score(Uniform(), prev, N), 6);
    }

    [Fact]
    public void ExcludingTheCurrentTokenRenormalisesOverTheRest()
    {
        // every row: half on itself, half on the previous token (row 0: all on itself)
        var a = new float[N * N];
        a[0] = 1;
        for (int i = 1; i < N; i++) { a[i * N + i] = 0.5f; a[i * N + i - 1] = 0.5f; }
        var prev = HeadDetector.Pattern(DetectedHead.PreviousToken, Tokens);
        Assert.Equal(0.5f * (N - 1) / N, HeadDetector.Score(a, prev, N), 6);
        Assert.Equal(1f, HeadDetector.Score(a, prev, N, excludeCurrent: true), 6);
    }

    [Fact]
    public void RepeatedTokensAreDeterministicWithBos()
    {
        var spec = CircuitModels.Load("tiny-llama").Spec;
        var a = HeadDetector.RepeatedTokens(spec, 10, batch: 3, seed: 7);
        var b = HeadDetector.RepeatedTokens(spec, 10, batch: 3, seed: 7);
        Assert.Equal(a, b);
        Assert.NotEqual(a[0], HeadDetector.RepeatedTokens(spec, 10, seed: 8)[0]);
        foreach (var ids in a)
        {
            Assert.Equal(21, ids.Length);
            Assert.Equal(spec.BosId, ids[0]);
            Assert.Equal(ids[1..11], ids[11..]);
            Assert.Equal(10, ids[1..11].Distinct().Count());
            Assert.DoesNotContain(spec.BosId!.Value, ids[1..]);
            Assert.DoesNotContain(spec.EosId!.Value, ids);
        }
        Assert.Throws<AttnScopeException>(() => HeadDetector.RepeatedTokens(spec, 100));
    }

    [Fact]
    public void DetectScoresEveryHeadFromTheModelsAttention()
    {
        var model = CircuitModels.Load("tiny-gpt2");
        var prompts = HeadDetector.RepeatedTokens(model.Spec, 8, batch: 2, seed: 1);
        var r = HeadDetector.Detect(model, prompts, DetectedHead.Induction);
        Assert.Equal([model.Spec.Layers, model.Spec.Heads], r.Scores.Shape);
        // independent: the same score from the forward pass's attention, prompt by prompt
        var pattern0 = HeadDetector.Pattern(DetectedHead.Induction, prompts[0]);
        var pattern1 = HeadDetector.Pattern(DetectedHead.Induction, prompts[1]);
        var a0 = model.Forward(new ForwardInput { Ids = prompts[0] }).Attention!;
        var a1 = model.Forward(new ForwardInput { Ids = prompts[1] }).Attention!;
        int n = prompts[0].Length;
        for (int l = 0; l < model.Spec.Layers; l++)
            for (int h = 0; h < model.Spec.Heads; h++)
            {
                double s = 0;
                foreach (var (att, pat) in new[] { (a0, pattern0), (a1, pattern1) })
                {
                    var head = att.Slice(l, h);
                    double num = 0, den = 0;
                    for (int i = 0; i < n * n; i++) { num += head[i] * pat[i]; den += head[i]; }
                    s += num / den;
                }
                Assert.Equal(s / 2, r.Score(l, h), 5);
            }
        var map = r.ToMap();
        Assert.Equal("induction_head", map.Kind);
        Assert.Contains("detect_head", map.Metric);
    }
}
