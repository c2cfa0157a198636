using AttnScope.Sources.Transformer;
using AttnScope.Tests.Support;
using Xunit.Abstractions;

namespace AttnScope.Tests.Core;

/// <summary>
/// The core's backward pass through a T5-shaped encoder-decoder — relative-position biases (encoder bidirectional,
/// decoder causal), unscaled scores, RMSNorm without biases, a gated MLP, a tied head on scaled states — against
/// central finite differences of the forward passes (one random direction per tensor), on packed sequences long
/// enough that the log-spaced buckets are used.
/// </summary>
public class RelativeBiasGradientTests(ITestOutputHelper output)
{
    private static TransformerSpec Stack(bool decoder) => new()
    {
        Family = "t5-test", Layers = 2, Hidden = 8, Heads = 2, KvHeads = 2, HeadDim = 3, Intermediate = 10, Vocab = 13, MaxPositions = 64,
        Norm = NormKind.RmsNorm, Placement = NormPlacement.Pre, FinalNorm = true, NormEps = 1e-6f,
        Positions = PositionKind.RelativeBias, RelativeBuckets = 6, RelativeMaxDistance = 7, AttentionScale = 1f,
        Activation = "gelu_new", GatedMlp = true, AttentionBias = false, OutputBias = false, MlpBias = false,
        Causal = decoder, CrossAttention = decoder, LmHead = decoder, TiedHead = decoder, LogitScale = decoder ? 0.35f : 1f,
    };

    private static CoreTensors Random(TransformerSpec s, int seed, float[]? shared = null)
    {
        var rng = new Random(seed);
        float[] R(int n, float sc = 0.5f) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * sc); return a; }
        float[] G(int n) { var a = R(n, 0.1f); for (int i = 0; i < n; i++) a[i] += 1; return a; }
        int d = s.Hidden, q = s.QueryWidth, I = s.Intermediate;
        bool x = s.CrossAttention;
        return new CoreTensors
        {
            TokenEmbeddings = shared ?? R(s.Vocab * d, 1f), RelativeBias = R(s.RelativeBuckets * s.Heads, 1f), FinalNormGain = G(d),
            Layers = Enumerable.Range(0, s.Layers).Select(_ => new CoreLayerTensors
            {
                Query = R(q * d), Key = R(q * d), Value = R(q * d), Output = R(d * q), Norm1Gain = G(d), Norm2Gain = G(d),
                CrossQuery = x ? R(q * d) : null, CrossKey = x ? R(q * d) : null, CrossValue = x ? R(q * d) : null,
                CrossOutput = x ? R(d * q) : null, CrossNormGain = x ? G(d) : null,
                Gate = R(I * d), Up = R(I * d), Down = R(d * I),
            }).ToArray(),
        };
    }

    [Fact]
    public void T5ShapedGradientsMatchFiniteDifferences()
    {
        var encSpec = Stack(false);
        var decSpec = Stack(true);
        var enc = Random(encSpec, 1);
        var dec = Random(decSpec, 2, enc.TokenEmbeddings); // one shared table, as T5 has
        int[] src = [3, 5, 7, 1, 2, 9, 4, 8, 10, 6, 11], srcLens = [8, 3];
        int[] tgt = [2, 6, 8, 2, 11, 12, 5, 4, 9, 1], tgtLens = [7, 3];
        var rng = new Random(7);
        var r = Enumerable.Range(0, tgt.Length * decSpec.Vocab).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        ForwardResult Run(bool record, out ForwardResult encoded)
        {
            encoded = new TransformerModel(encSpec, enc, "enc").Forward(new ForwardInput { Ids = src, Segments = srcLens, Record = record });
            return new TransformerModel(decSpec, dec, "dec").Forward(new ForwardInput
            {
                Ids = tgt, Segments = tgtLens, Memory = encoded.Hidden, MemorySegments = srcLens, Logits = LogitRows.All, Record = record,
            });
        }
        double Objective()
        {
            var logits = Run(false, out _).Logits!.Data;
            double f = 0;
            for (int i = 0; i < r.Length; i++) f += (double)logits[i] * r[i];
            return f;
        }
        var pass = Run(true, out var encoded);
        var decGrads = CoreGradients.For(dec);
        var encGrads = CoreGradients.For(enc);
        var outputs = new BackwardOutputs();
        new TransformerModel(decSpec, dec, "dec").BackwardFromLogits(pass.Tape!, r, decGrads, outputs: outputs);
        new TransformerModel(encSpec, enc, "enc").Backward(encoded.Tape!, outputs.MemoryGradient!, encGrads);
        // the shared table: both stacks' gradients add up (the tied head's share is in the decoder's)
        var sharedGrad = decGrads.Grads.TokenEmbeddings.Zip(encGrads.Grads.TokenEmbeddings, (a, b) => a + b).ToArray();

        var checks = decGrads.Pairs().Where(p => p.Name != "embed.W_E").Select(p => ("decoder " + p.Name, p.Value, p.Grad))
            .Concat(encGrads.Pairs().Where(p => p.Name != "embed.W_E").Select(p => ("encoder " + p.Name, p.Value, p.Grad)))
            .Append(("shared embed.W_E", enc.TokenEmbeddings, sharedGrad)).ToList();
        foreach (var (name, value, grad) in checks)
            FiniteDifferences.AssertDirectional(output, name, value, grad, Objective, rng, 2e-3f, 2e-2);
        Assert.Contains(checks, c => c.Item1 == "encoder rel_pos.W_bias");
        Assert.Contains(checks, c => c.Item1 == "decoder rel_pos.W_bias");
        // the biases' gradients are not zero: the check above would pass trivially otherwise
        Assert.Contains(encGrads.Grads.RelativeBias!, v => MathF.Abs(v) > 1e-3f);
        Assert.Contains(decGrads.Grads.RelativeBias!, v => MathF.Abs(v) > 1e-3f);
    }
}
