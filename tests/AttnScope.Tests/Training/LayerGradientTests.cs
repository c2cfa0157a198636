using AttnScope.Training.Model;
using AttnScope.Training.Model.Layers;

namespace AttnScope.Tests.Training;

/// <summary>Every layer's backward against finite differences (see <see cref="GradientCheck"/> for the precision used).</summary>
public class LayerGradientTests
{
    private static void InitAll(IEnumerable<Parameter> ps, int seed)
    {
        var r = new Random(seed);
        foreach (var p in ps)
        {
            for (int i = 0; i < p.Length; i++) p.Value[i] = (float)(r.NextDouble() - 0.5);
            p.Touch();
            p.ZeroGrad();
        }
    }

    [Fact]
    public void Linear()
    {
        int rows = 5, n = 7, m = 6;
        var layer = new Linear("l", n, m);
        InitAll(layer.Parameters(), 1);
        var x = GradientCheck.Random(rows * n, 2);
        var r = GradientCheck.Random(rows * m, 3);
        double Loss() => GradientCheck.Dot(layer.Forward(x, rows), r, rows * m);
        Loss();
        var dx = (float[])layer.Backward(r).Clone();
        GradientCheck.Check("dx", x, dx, Loss);
        GradientCheck.Check("dW", layer.Weight, Loss);
        GradientCheck.Check("db", layer.Bias!, Loss);
    }

    [Fact]
    public void EmbeddingAndLearnedPositions()
    {
        var emb = new Embedding("e", 9, 8);
        var pos = new PositionalEncoding("p", 6, 8, learned: true);
        InitAll([emb.Table, pos.Table!], 4);
        int[] ids = [3, 1, 3, 8, 0, 2];
        var r = GradientCheck.Random(6 * 8, 5);
        double Loss()
        {
            var y = emb.Forward(ids, 6);
            pos.Forward(y, 2, 3);
            return GradientCheck.Dot(y, r, 48);
        }
        Loss();
        pos.Backward(r);
        emb.Backward(r);
        GradientCheck.Check("dE", emb.Table, Loss, samples: 72);
        GradientCheck.Check("dP", pos.Table!, Loss);
    }

    [Fact]
    public void SinusoidalPositionsAreTheTransformerFormula()
    {
        var pos = new PositionalEncoding("p", 50, 16, learned: false);
        var x = new float[3 * 16];
        pos.Apply(x, 1, 3, firstPosition: 40);
        // position 41, pair i = 3: sin(41 / 10000^(6/16)), cos(...)
        double angle = 41 / Math.Pow(10000, 6.0 / 16);
        Assert.Equal(Math.Sin(angle), x[16 + 6], 5);
        Assert.Equal(Math.Cos(angle), x[16 + 7], 5);
        Assert.Null(pos.Table);
    }

    [Fact]
    public void LayerNorm()
    {
        int rows = 4, d = 10;
        var ln = new LayerNorm("n", d);
        InitAll(ln.Parameters(), 6);
        for (int i = 0; i < d; i++) ln.Gain.Value[i] += 1f;
        var x = GradientCheck.Random(rows * d, 7, 2f);
        var r = GradientCheck.Random(rows * d, 8);
        double Loss() => GradientCheck.Dot(ln.Forward(x, rows), r, rows * d);
        Loss();
        var dx = (float[])ln.Backward(r).Clone();
        GradientCheck.Check("dx", x, dx, Loss);
        GradientCheck.Check("dgain", ln.Gain, Loss);
        GradientCheck.Check("dbias", ln.Shift, Loss);
    }

    [Fact]
    public void FeedForward()
    {
        int rows = 4, d = 6;
        var ff = new FeedForward("f", d, 12);
        InitAll(ff.Parameters(), 9);
        var x = GradientCheck.Random(rows * d, 10);
        var r = GradientCheck.Random(rows * d, 11);
        double Loss() => GradientCheck.Dot(ff.Forward(x, rows), r, rows * d);
        Loss();
        var dx = (float[])ff.Backward(r).Clone();
        // h = 1e-3: a larger step would often carry a hidden unit across the ReLU kink
        GradientCheck.Check("dx", x, dx, Loss, h: 1e-3f);
        GradientCheck.Check("dUp", ff.Up.Weight, Loss, h: 1e-3f);
        GradientCheck.Check("dDown", ff.Down.Weight, Loss, h: 1e-3f);
        GradientCheck.Check("dUpBias", ff.Up.Bias!, Loss, h: 1e-3f);
    }

    [Fact]
    public void Dropout()
    {
        var drop = new Dropout(0.3f);
        var x = GradientCheck.Random(40, 12);
        var r = GradientCheck.Random(40, 13);
        double Loss()
        {
            var random = new FastRandom(77);
            return GradientCheck.Dot(drop.Forward(x, 40, ref random, training: true), r, 40);
        }
        Loss();
        var dx = (float[])drop.Backward(r).Clone();
        GradientCheck.Check("dx", x, dx, Loss);
        Assert.Contains(dx, v => v == 0f); // some elements really were dropped
        var eval = new FastRandom(1);
        Assert.Same(x, drop.Forward(x, 40, ref eval, training: false));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void MultiHeadAttention(bool causal, bool cross)
    {
        int batch = 2, tq = 4, tk = cross ? 5 : 4, d = 8;
        var attn = new MultiHeadAttention("a", d, 2);
        InitAll(attn.Parameters(), 14);
        var xq = GradientCheck.Random(batch * tq * d, 15);
        var xkv = cross ? GradientCheck.Random(batch * tk * d, 16) : xq;
        int[] lengths = cross ? [5, 3] : [4, 2];
        var r = GradientCheck.Random(batch * tq * d, 17);
        double Loss() => GradientCheck.Dot(attn.Forward(xq, batch, tq, xkv, tk, lengths, causal), r, batch * tq * d);
        Loss();
        var dMemory = new float[batch * tk * d];
        var dx = (float[])attn.Backward(r, cross ? dMemory : null).Clone();
        GradientCheck.Check("dxq", xq, dx, Loss, samples: 64);
        if (cross) GradientCheck.Check("dmemory", xkv, dMemory, Loss, samples: 80);
        foreach (var p in attn.Parameters())
        {
            if (p == attn.Key.Bias)
            {
                // a key bias adds the same amount to every score of a query: softmax ignores it, its gradient is 0
                Assert.All(p.Grad, g => Assert.True(Math.Abs(g) < 1e-5));
                continue;
            }
            GradientCheck.Check(p.Name, p, Loss);
        }
        // masked keys get no attention and no gradient
        var probs = attn.Probabilities.ToArray();
        int keys = tk;
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < tq; i++)
                for (int j = 0; j < keys; j++)
                {
                    float p = probs[((1 * 2 + h) * tq + i) * keys + j];
                    bool visible = j < lengths[1] && (!causal || j <= i);
                    if (!visible) Assert.Equal(0f, p);
                    else Assert.True(p > 0f);
                }
        if (cross)
            for (int j = lengths[1]; j < tk; j++)
                for (int c = 0; c < d; c++) Assert.Equal(0f, dMemory[(tk + j) * d + c]);
    }

    [Fact]
    public void LabelSmoothedCrossEntropy()
    {
        int rows = 5, v = 7;
        var ce = new LabelSmoothedCrossEntropy(0.2f, padId: 0);
        var z = GradientCheck.Random(rows * v, 18, 3f);
        int[] targets = [3, 0, 6, 1, 2];
        double Loss() => ce.Forward(z, rows, v, targets).Loss;
        var (loss, nll, tokens) = ce.Forward(z, rows, v, targets);
        Assert.Equal(4, tokens);
        var dz = (float[])ce.Backward(1f).Clone();
        GradientCheck.Check("dlogits", z, dz, Loss, samples: 35);
        for (int j = 0; j < v; j++) Assert.Equal(0f, dz[v + j]); // padding row
        // loss by hand for row 0: −Σ q log p with q = 0.8·onehot + 0.2/7
        double max = z.Take(v).Max(), lse = Math.Log(z.Take(v).Sum(a => Math.Exp(a - max))) + max;
        double expected = 0;
        for (int j = 0; j < v; j++) expected -= ((j == 3 ? 0.8 : 0) + 0.2 / v) * (z[j] - lse);
        var one = new LabelSmoothedCrossEntropy(0.2f, 0);
        Assert.Equal(expected, one.Forward(z, 1, v, [3]).Loss, 4);
        Assert.True(nll > 0 && loss > 0);
    }
}
