using AttnScope.Analyses.Norms;
using AttnScope.Capture;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Analyses;

/// <summary>Norm-based attention ‖α_ij f(x_j)‖ on hand-made values and output projections.</summary>
public class NormAttentionTests
{
    private static AttentionCapture WithValues(float[] attention, float[] values, int n, int heads, int dh)
    {
        var stack = new AttentionStack(AttentionStack.Encoder, new FloatTensor([1, heads, n, n], attention))
        {
            Value = new FloatTensor([1, heads, n, dh], values),
        };
        return new AttentionCapture(new CaptureMetadata { ModelId = "t" }, SyntheticCaptures.Tokens(n), [stack]);
    }

    [Fact]
    public void Value_norms_scale_the_weights()
    {
        // Two tokens, one head, dh 2: v0 = (3, 4) (norm 5), v1 = (0, 1) (norm 1). Row 0 attends 0.5/0.5, row 1 0.2/0.8.
        var cap = WithValues([0.5f, 0.5f, 0.2f, 0.8f], [3, 4, 0, 1], 2, 1, 2);
        var r = NormAttention.Compute(cap);
        Assert.Equal("value", r.Vectors);
        Assert.Equal([2.5f, 0.5f, 1f, 0.8f], r.Norms.Data);
    }

    [Fact]
    public void Output_projection_uses_each_heads_slice()
    {
        // Two heads of width 1 (d_model 2). W_O = [[1, 2], [0, 3]] (rows = outputs). Head 0's slice is column 0 = (1, 0),
        // head 1's is column 1 = (2, 3). Values: head 0: v0 = 2, v1 = −1; head 1: v0 = 1, v1 = 2.
        // f_0(v) = v·(1, 0) → norms 2, 1; f_1(v) = v·(2, 3) → norms √13, 2√13.
        float[] att = [1, 0, 0.5f, 0.5f, /* head 1 */ 0.25f, 0.75f, 0, 1];
        float[] val = [2, -1, /* head 1 */ 1, 2];
        var r = NormAttention.Compute(WithValues(att, val, 2, 2, 1), outputProjection: [[1, 2, 0, 3]]);
        Assert.Equal("value_output", r.Vectors);
        float s13 = MathF.Sqrt(13);
        float[] expected = [2, 0, 1, 0.5f, 0.25f * s13, 0.75f * 2 * s13, 0, 2 * s13];
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], r.Norms.Data[i], 1e-5f);
    }

    [Fact]
    public void Without_values_or_with_a_wrong_projection_the_error_says_what_to_do()
    {
        var noV = SyntheticCaptures.Encoder(1, 1, 3);
        Assert.Contains("--qkv", Assert.Throws<AttnScopeException>(() => NormAttention.Compute(noV)).Message);
        var cap = SyntheticCaptures.Encoder(2, 2, 3, qkv: true);
        Assert.Contains("the stack has 2", Assert.Throws<AttnScopeException>(() => NormAttention.Compute(cap, outputProjection: [new float[64]])).Message);
        Assert.Contains("expected 8×8", Assert.Throws<AttnScopeException>(() => NormAttention.Compute(cap, outputProjection: [new float[4], new float[4]])).Message);
    }
}
