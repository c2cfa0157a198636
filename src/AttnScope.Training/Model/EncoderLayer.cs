using AttnScope.Training.Model.Layers;

namespace AttnScope.Training.Model;

/// <summary>Encoder layer: self-attention over the unpadded source, then the feed-forward block, each residual.</summary>
public sealed class EncoderLayer
{
    public ResidualBlock AttentionBlock { get; }
    public MultiHeadAttention SelfAttention { get; }
    public ResidualBlock FeedForwardBlock { get; }
    public FeedForward FeedForward { get; }

    public EncoderLayer(string name, TransformerConfig c)
    {
        AttentionBlock = new ResidualBlock(name + ".norm1", c.Dim, c.Dropout, c.PreNorm);
        SelfAttention = new MultiHeadAttention(name + ".attn", c.Dim, c.Heads);
        FeedForwardBlock = new ResidualBlock(name + ".norm2", c.Dim, c.Dropout, c.PreNorm);
        FeedForward = new FeedForward(name + ".ff", c.Dim, c.FeedForward);
    }

    public IEnumerable<Parameter> Parameters() =>
        AttentionBlock.Norm.Parameters().Concat(SelfAttention.Parameters()).Concat(FeedForwardBlock.Norm.Parameters()).Concat(FeedForward.Parameters());

    public float[] Forward(float[] x, int batch, int length, int[] lengths, ref FastRandom random, bool training)
    {
        int rows = batch * length;
        var a = AttentionBlock.Enter(x, rows);
        var s = SelfAttention.Forward(a, batch, length, a, length, lengths, causal: false);
        var x1 = AttentionBlock.Exit(s, ref random, training);
        var b = FeedForwardBlock.Enter(x1, rows);
        var f = FeedForward.Forward(b, rows);
        return FeedForwardBlock.Exit(f, ref random, training);
    }

    public float[] Backward(float[] dy)
    {
        var df = FeedForwardBlock.BackwardExit(dy);
        var dx1 = FeedForwardBlock.BackwardEnter(FeedForward.Backward(df));
        var ds = AttentionBlock.BackwardExit(dx1);
        return AttentionBlock.BackwardEnter(SelfAttention.Backward(ds));
    }
}
