using AttnScope.Analyses.Relevance;

namespace AttnScope.Tests.Analyses;

/// <summary>The Chefer et al. update rules on small matrices worked out by hand.</summary>
public class RelevanceRulesTests
{
    private static void Close(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-12, $"[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void WeightedAttentionIsTheHeadMeanOfThePositivePartOfGradientTimesAttention()
    {
        // 2 heads, 1×2: products head 0 = [0.5·2, 0.5·(−1)] = [1, −0.5] → [1, 0]; head 1 = [0.2·3, 0.8·1] = [0.6, 0.8].
        double[] a = [0.5, 0.5, 0.2, 0.8];
        double[] g = [2, -1, 3, 1];
        Close([0.8, 0.4], RelevanceRules.WeightedAttention(a, g, heads: 2, queries: 1, keys: 2));
    }

    [Fact]
    public void SelfRuleStartsFromTheIdentityAndComposesLayersAsProductsOfIPlusA()
    {
        var r = RelevanceRules.Identity(2);
        Close([1, 0, 0, 1], r);
        double[] a1 = [0.5, 0.5, 0, 1], a2 = [1, 0, 0.25, 0.75];
        RelevanceRules.ApplySelf(r, 2, 2, a1);
        Close([1.5, 0.5, 0, 2], r); // I + A1
        RelevanceRules.ApplySelf(r, 2, 2, a2);
        // (I + A2)(I + A1) = [[2, 0], [0.25, 1.75]]·[[1.5, 0.5], [0, 2]] = [[3, 1], [0.375, 3.625]]
        Close([3, 1, 0.375, 3.625], r);
    }

    [Fact]
    public void SelfRuleOnARectangularRelevanceMultipliesFromTheLeft()
    {
        double[] rts = [1, 2, 3, 4, 5, 6]; // [2, 3]
        RelevanceRules.ApplySelf(rts, 2, 3, [0, 1, 1, 0]);
        Close([1 + 4, 2 + 5, 3 + 6, 4 + 1, 5 + 2, 6 + 3], rts);
    }

    [Fact]
    public void NormalizationScalesTheRowsOfRMinusIToOneAndPutsTheIdentityBack()
    {
        // R − I = [[0, 0, 0], [1, 1, 2], [0, 3, 1]] → rows [0…], [¼, ¼, ½], [0, ¾, ¼]; plus I.
        double[] r = [1, 0, 0, 1, 2, 2, 0, 3, 2];
        Close([1, 0, 0, 0.25, 1.25, 0.5, 0, 0.75, 1.25], RelevanceRules.Normalized(r, 3));
    }

    [Fact]
    public void CrossRuleAddsTransposedTargetRelevanceTimesAttentionTimesSourceRelevance()
    {
        double[] rts = new double[6];
        double[] abar = [1, 2, 3, 4, 5, 6]; // [t=2, s=3]
        // With R^tt = R^ss = I the rule adds Ā itself.
        RelevanceRules.ApplyCross(rts, RelevanceRules.Identity(2), RelevanceRules.Identity(3), abar, 2, 3);
        Close(abar, rts);

        // R^tt = [[1, 0], [0.5, 1.5]]: R − I = [[0, 0], [0.5, 0.5]], already normalised, so R̄^tt = R^tt and
        // (R̄^tt)ᵀ = [[1, 0.5], [0, 1.5]]; (R̄^tt)ᵀ·Ā = [[3, 4.5, 6], [6, 7.5, 9]]. R^ss = I.
        var fresh = new double[6];
        RelevanceRules.ApplyCross(fresh, [1, 0, 0.5, 1.5], RelevanceRules.Identity(3), abar, 2, 3);
        Close([3, 4.5, 6, 6, 7.5, 9], fresh);

        // R^ss = [[1, 0, 0], [0, 1, 0], [2, 0, 3]]: R − I row 2 = [2, 0, 2] → [½, 0, ½]; R̄^ss row 2 = [½, 0, 1½].
        // Ā·R̄^ss = [[1 + 1.5, 2, 4.5], [4 + 3, 5, 9]] with R^tt = I.
        var third = new double[6];
        RelevanceRules.ApplyCross(third, RelevanceRules.Identity(2), [1, 0, 0, 0, 1, 0, 2, 0, 3], abar, 2, 3);
        Close([2.5, 2, 4.5, 7, 5, 9], third);
    }

    [Fact]
    public void MismatchedShapesAreRefused()
    {
        Assert.Throws<ArgumentException>(() => RelevanceRules.WeightedAttention(new double[4], new double[3], 1, 2, 2));
        Assert.Throws<ArgumentException>(() => RelevanceRules.ApplySelf(new double[4], 2, 2, new double[3]));
        Assert.Throws<ArgumentException>(() => RelevanceRules.Normalized(new double[5], 2));
        Assert.Throws<ArgumentException>(() => RelevanceRules.ApplyCross(new double[6], new double[4], new double[9], new double[5], 2, 3));
    }
}
