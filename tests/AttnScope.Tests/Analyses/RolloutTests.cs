using AttnScope.Analyses.Results;
using AttnScope.Analyses.Rollout;
using AttnScope.Capture;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Analyses;

/// <summary>
/// Rollout against its closed form: J_L = Â_L ⋯ Â_start with Â = (fuse_h(A) + I) / row sums, evaluated here in
/// double precision with plain nested loops (written independently of the library's vectorised product), and against
/// numbers worked out by hand.
/// </summary>
public class RolloutTests
{
    private static double[,] Fused(AttentionStack s, int l, HeadFusion fusion)
    {
        int n = s.Queries;
        var m = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double acc = fusion switch { HeadFusion.Max => double.MinValue, HeadFusion.Min => double.MaxValue, _ => 0 };
                for (int h = 0; h < s.Heads; h++)
                {
                    double v = s.Attention[l, h, i, j];
                    acc = fusion switch { HeadFusion.Max => Math.Max(acc, v), HeadFusion.Min => Math.Min(acc, v), _ => acc + v / s.Heads };
                }
                m[i, j] = acc;
            }
        for (int i = 0; i < n; i++)
        {
            m[i, i] += 1;
            double sum = 0;
            for (int j = 0; j < n; j++) sum += m[i, j];
            for (int j = 0; j < n; j++) m[i, j] /= sum;
        }
        return m;
    }

    private static double[,] Mul(double[,] a, double[,] b)
    {
        int n = a.GetLength(0);
        var c = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                for (int k = 0; k < n; k++) c[i, j] += a[i, k] * b[k, j];
        return c;
    }

    [Theory]
    [InlineData(HeadFusion.Mean, 0)]
    [InlineData(HeadFusion.Max, 0)]
    [InlineData(HeadFusion.Min, 1)]
    [InlineData(HeadFusion.Mean, 2)]
    public void Matches_the_closed_form_product_after_every_layer(HeadFusion fusion, int start)
    {
        var cap = SyntheticCaptures.Encoder(layers: 4, heads: 3, n: 7, seed: 5);
        var s = cap.Stack(AttentionStack.Encoder);
        var r = AttentionRollout.Compute(cap, fusion: fusion, startLayer: start);
        Assert.Equal(4 - start, r.Steps);
        double[,]? expected = null;
        for (int l = start; l < 4; l++)
        {
            var a = Fused(s, l, fusion);
            expected = expected is null ? a : Mul(a, expected);
            var got = r.Joint.Slice(l - start);
            for (int i = 0; i < 7; i++)
                for (int j = 0; j < 7; j++)
                    Assert.Equal(expected[i, j], got[i * 7 + j], 1e-6);
        }
    }

    [Fact]
    public void Two_tokens_two_layers_by_hand()
    {
        // Layer 0: both heads [[0.5, 0.5], [0, 1]] → Â0 = [[0.75, 0.25], [0, 1]].
        // Layer 1: heads [[1, 0], [1, 0]] and [[0, 1], [0, 1]] → mean [[0.5, 0.5], [0.5, 0.5]] → Â1 = [[0.75, 0.25], [0.25, 0.75]].
        // J1 = Â1 · Â0 = [[0.5625, 0.4375], [0.1875, 0.8125]].
        var t = new FloatTensor([2, 2, 2, 2], [0.5f, 0.5f, 0f, 1f, 0.5f, 0.5f, 0f, 1f, 1f, 0f, 1f, 0f, 0f, 1f, 0f, 1f]);
        var cap = SyntheticCaptures.Make(SyntheticCaptures.Tokens(2), t);
        var r = AttentionRollout.Compute(cap);
        Assert.Equal([0.75f, 0.25f, 0f, 1f], r.Joint.Slice(0).ToArray());
        var final = r.Final.ToArray();
        float[] expected = [0.5625f, 0.4375f, 0.1875f, 0.8125f];
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], final[i], 1e-6f);
    }

    [Theory]
    [InlineData(HeadFusion.Mean, 0f)]
    [InlineData(HeadFusion.Max, 0.5f)]
    [InlineData(HeadFusion.Min, 0.9f)]
    public void Every_row_of_every_step_sums_to_one(HeadFusion fusion, float discard)
    {
        var cap = SyntheticCaptures.Realistic(40, layers: 5, heads: 4);
        var r = AttentionRollout.Compute(cap, fusion: fusion, discardRatio: discard);
        for (int step = 0; step < r.Steps; step++)
        {
            var m = r.Joint.Slice(step);
            for (int i = 0; i < 40; i++)
            {
                double sum = 0;
                for (int j = 0; j < 40; j++) { sum += m[i * 40 + j]; Assert.True(m[i * 40 + j] >= 0); }
                Assert.Equal(1.0, sum, 1e-5);
            }
        }
    }

    [Fact]
    public void Discard_ratio_zeroes_the_lowest_weights_of_each_row_but_never_the_diagonal()
    {
        // One layer: row i's weights grow with j, so a ratio of 0.5 on 6 tokens drops keys 0..2 (never i itself).
        var t = new FloatTensor([1, 1, 6, 6]);
        for (int i = 0; i < 6; i++)
        {
            float sum = 0;
            for (int j = 0; j < 6; j++) sum += j + 1;
            for (int j = 0; j < 6; j++) t[0, 0, i, j] = (j + 1) / sum;
        }
        var cap = SyntheticCaptures.Make(SyntheticCaptures.Tokens(6), t);
        var m = AttentionRollout.Compute(cap, discardRatio: 0.5f).Final;
        // Three of six weights go per row: the three smallest (keys 0, 1, 2); a row never drops its own diagonal, so
        // rows 0..2 keep their own key and drop only the other two.
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
            {
                bool dropped = j < 3 && j != i;
                if (dropped) Assert.Equal(0f, m[i * 6 + j]);
                else Assert.True(m[i * 6 + j] > 0, $"row {i} key {j} should be kept");
            }
    }

    [Fact]
    public void Cross_stack_start_layer_and_ratio_errors_are_clear()
    {
        var tr = Web.DecodingStepCaptures.Translation();
        Assert.Contains("cross", Assert.Throws<AttnScopeException>(() => AttentionRollout.Compute(tr, AttentionStack.Cross)).Message);
        var cap = SyntheticCaptures.Encoder(2, 2, 4);
        Assert.Contains("start layer 2", Assert.Throws<AttnScopeException>(() => AttentionRollout.Compute(cap, startLayer: 2)).Message);
        Assert.Contains("discard ratio", Assert.Throws<AttnScopeException>(() => AttentionRollout.Compute(cap, discardRatio: 1f)).Message);
        Assert.Contains("no 'decoder'", Assert.Throws<AttnScopeException>(() => AttentionRollout.Compute(cap, AttentionStack.Decoder)).Message);
    }

    [Fact]
    public void Decoder_stack_of_a_translation_capture_rolls_out()
    {
        var tr = Web.DecodingStepCaptures.Translation();
        var r = AttentionRollout.Compute(tr, AttentionStack.Decoder);
        Assert.Equal([2, 5, 5], r.Joint.Shape);
    }

    [Fact]
    public void Saved_into_the_capture_and_read_back()
    {
        using var dir = new TempDir();
        var cap = SyntheticCaptures.Encoder(3, 2, 5);
        var r = AttentionRollout.Compute(cap, fusion: HeadFusion.Max, discardRatio: 0.2f, startLayer: 1);
        var path = dir.File("c.safetensors");
        cap.WithAnalyses([r.ToAnalysis()]).Save(path);
        var back = RolloutResult.From(AttentionCapture.Load(path), AttentionStack.Encoder)!;
        Assert.Equal(HeadFusion.Max, back.Fusion);
        Assert.Equal(0.2f, back.DiscardRatio, 1e-6f);
        Assert.Equal(1, back.StartLayer);
        Assert.Equal(r.Joint.Data, back.Joint.Data);
        Assert.Null(RolloutResult.From(cap, AttentionStack.Encoder));
    }
}

/// <summary>Results read back from a capture that was never saved (info values are CLR numbers, not parsed JSON).</summary>
public class InMemoryResultTests
{
    [Fact]
    public void Rollout_and_flow_read_back_from_an_unsaved_capture()
    {
        var cap = SyntheticCaptures.Encoder(3, 2, 5);
        var r = AttentionRollout.Compute(cap, fusion: HeadFusion.Min, discardRatio: 0.2f, startLayer: 1);
        var f = AttnScope.Analyses.Flow.AttentionFlow.Compute(cap, outputLayer: 2);
        var with = cap.WithAnalyses([r.ToAnalysis(), .. f.ToAnalyses()]);
        var back = RolloutResult.From(with, AttentionStack.Encoder)!;
        Assert.Equal((HeadFusion.Min, 0.2f, 1), (back.Fusion, back.DiscardRatio, back.StartLayer));
        Assert.Equal(2, FlowResult.From(with, AttentionStack.Encoder)!.OutputLayer);
    }
}
