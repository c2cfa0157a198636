using AttnScope.Training.Model.Layers;

namespace AttnScope.Training.Model;

/// <summary>Decoder layer: causal self-attention, cross-attention over the encoder memory, feed-forward; each residual.</summary>
public sealed class DecoderLayer
{
    public ResidualBlock SelfBlock { get; }
    public MultiHeadAttention SelfAttention { get; }
    public ResidualBlock CrossBlock { get; }
    public MultiHeadAttention CrossAttention { get; }
    public ResidualBlock FeedForwardBlock { get; }
    public FeedForward FeedForward { get; }

    public DecoderLayer(string name, TransformerConfig c)
    {
        SelfBlock = new ResidualBlock(name + ".norm1", c.Dim, c.Dropout, c.PreNorm);
        SelfAttention = new MultiHeadAttention(name + ".self", c.Dim, c.Heads);
        CrossBlock = new ResidualBlock(name + ".norm2", c.Dim, c.Dropout, c.PreNorm);
        CrossAttention = new MultiHeadAttention(name + ".cross", c.Dim, c.Heads);
        FeedForwardBlock = new ResidualBlock(name + ".norm3", c.Dim, c.Dropout, c.PreNorm);
        FeedForward = new FeedForward(name + ".ff", c.Dim, c.FeedForward);
    }

    public IEnumerable<Parameter> Parameters() =>
        SelfBlock.Norm.Parameters().Concat(SelfAttention.Parameters())
            .Concat(CrossBlock.Norm.Parameters()).Concat(CrossAttention.Parameters())
            .Concat(FeedForwardBlock.Norm.Parameters()).Concat(FeedForward.Parameters());

    public float[] Forward(float[] y, int batch, int targetLength, int[] targetLengths, float[] memory, int sourceLength,
        int[] sourceLengths, ref FastRandom random, bool training)
    {
        int rows = batch * targetLength;
        var a = SelfBlock.Enter(y, rows);
        var s = SelfAttention.Forward(a, batch, targetLength, a, targetLength, targetLengths, causal: true);
        var y1 = SelfBlock.Exit(s, ref random, training);
        var b = CrossBlock.Enter(y1, rows);
        var c = CrossAttention.Forward(b, batch, targetLength, memory, sourceLength, sourceLengths, causal: false);
        var y2 = CrossBlock.Exit(c, ref random, training);
        var e = FeedForwardBlock.Enter(y2, rows);
        var f = FeedForward.Forward(e, rows);
        return FeedForwardBlock.Exit(f, ref random, training);
    }

    /// <summary>Returns the gradient for the layer input; the memory gradient is added into <paramref name="dMemory"/>.</summary>
    public float[] Backward(float[] dy, float[] dMemory)
    {
        var df = FeedForwardBlock.BackwardExit(dy);
        var dy2 = FeedForwardBlock.BackwardEnter(FeedForward.Backward(df));
        var dc = CrossBlock.BackwardExit(dy2);
        var dy1 = CrossBlock.BackwardEnter(CrossAttention.Backward(dc, dMemory));
        var ds = SelfBlock.BackwardExit(dy1);
        return SelfBlock.BackwardEnter(SelfAttention.Backward(ds));
    }
}
