using AttnScope.Capture;
using AttnScope.Sources.Transformer;
using AttnScope.Tests.Support;
using Xunit.Abstractions;

namespace AttnScope.Tests.Core;

/// <summary>
/// The core's backward pass through an encoder-decoder: the decoder's cross-attention, ∂f/∂memory handed to the
/// encoder's backward, packed sequences and training-mode dropout, against central finite differences of the
/// forward passes (one random direction per tensor). Packed passes are also checked against one pass per sequence.
/// </summary>
public class CrossAttentionGradientTests(ITestOutputHelper output)
{
    internal static TransformerSpec Stack(bool decoder, bool pre, PositionKind positions = PositionKind.Sinusoidal, string activation = "gelu") => new()
    {
        Family = "test", Layers = 2, Hidden = 8, Heads = 2, KvHeads = 2, HeadDim = 4, Intermediate = 12, Vocab = 13, MaxPositions = 16,
        Norm = NormKind.LayerNorm, Placement = pre ? NormPlacement.Pre : NormPlacement.Post, FinalNorm = pre, EmbeddingScale = MathF.Sqrt(8),
        Positions = positions, Activation = activation, Causal = decoder, CrossAttention = decoder, LmHead = decoder,
    };

    internal static CoreTensors Random(TransformerSpec s, int seed)
    {
        var rng = new Random(seed);
        float[] R(int n, float sc = 0.4f) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * sc); return a; }
        float[] G(int n) { var a = R(n, 0.1f); for (int i = 0; i < n; i++) a[i] += 1; return a; }
        int d = s.Hidden, q = s.QueryWidth, I = s.Intermediate;
        bool x = s.CrossAttention;
        return new CoreTensors
        {
            TokenEmbeddings = R(s.Vocab * d), PositionEmbeddings = s.Positions == PositionKind.Learned ? R(s.MaxPositions * d) : null,
            FinalNormGain = s.FinalNorm ? G(d) : null, FinalNormBias = s.FinalNorm ? R(d, 0.1f) : null,
            Unembedding = s.LmHead ? R(s.Vocab * d) : null,
            Layers = Enumerable.Range(0, s.Layers).Select(_ => new CoreLayerTensors
            {
                Query = R(q * d), Key = R(q * d), Value = R(q * d), QueryBias = R(q, 0.1f), KeyBias = R(q, 0.1f), ValueBias = R(q, 0.1f),
                Output = R(d * q), OutputBias = R(d, 0.1f), Norm1Gain = G(d), Norm1Bias = R(d, 0.1f), Norm2Gain = G(d), Norm2Bias = R(d, 0.1f),
                CrossQuery = x ? R(q * d) : null, CrossKey = x ? R(q * d) : null, CrossValue = x ? R(q * d) : null,
                CrossQueryBias = x ? R(q, 0.1f) : null, CrossKeyBias = x ? R(q, 0.1f) : null, CrossValueBias = x ? R(q, 0.1f) : null,
                CrossOutput = x ? R(d * q) : null, CrossOutputBias = x ? R(d, 0.1f) : null, CrossNormGain = x ? G(d) : null, CrossNormBias = x ? R(d, 0.1f) : null,
                Up = R(I * d), UpBias = R(I, 0.1f), Down = R(d * I), DownBias = R(d, 0.1f),
            }).ToArray(),
        };
    }

    private sealed record Setup(TransformerSpec EncSpec, CoreTensors Enc, TransformerSpec DecSpec, CoreTensors Dec, int[] Src, int[] SrcLens, int[] Tgt, int[] TgtLens, float Dropout);

    private static ForwardResult Run(Setup u, bool record, out ForwardResult encoded)
    {
        var encoder = new TransformerModel(u.EncSpec, u.Enc, "enc");
        var decoder = new TransformerModel(u.DecSpec, u.Dec, "dec");
        encoded = encoder.Forward(new ForwardInput { Ids = u.Src, Segments = u.SrcLens, Record = record, Dropout = u.Dropout, DropoutSeed = 11 });
        return decoder.Forward(new ForwardInput
        {
            Ids = u.Tgt, Segments = u.TgtLens, Memory = encoded.Hidden, MemorySegments = u.SrcLens, Logits = LogitRows.All,
            Record = record, Dropout = u.Dropout, DropoutSeed = 12,
        });
    }

    [Theory]
    [InlineData(true, 0f)]
    [InlineData(false, 0f)]
    [InlineData(true, 0.3f)]
    [InlineData(false, 0.2f)]
    public void EncoderDecoderGradientsMatchFiniteDifferences(bool pre, float dropout)
    {
        var enc = Stack(false, pre, PositionKind.Learned);
        var dec = Stack(true, pre);
        var u = new Setup(enc, Random(enc, 1), dec, Random(dec, 2), [3, 5, 7, 1, 2, 9, 4], [4, 3], [2, 6, 8, 2, 11, 12, 5, 4], [3, 5], dropout);
        var rng = new Random(7);
        var r = Enumerable.Range(0, u.Tgt.Length * dec.Vocab).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        double Objective()
        {
            var logits = Run(u, false, out _).Logits!.Data;
            double f = 0;
            for (int i = 0; i < r.Length; i++) f += (double)logits[i] * r[i];
            return f;
        }

        var pass = Run(u, true, out var encoded);
        var decGrads = CoreGradients.For(u.Dec);
        var encGrads = CoreGradients.For(u.Enc);
        var outputs = new BackwardOutputs();
        new TransformerModel(dec, u.Dec, "dec").BackwardFromLogits(pass.Tape!, r, decGrads, outputs: outputs);
        Assert.Equal(encoded.Hidden.Data.Length, outputs.MemoryGradient!.Length);
        new TransformerModel(enc, u.Enc, "enc").Backward(encoded.Tape!, outputs.MemoryGradient, encGrads);

        int n = 0;
        foreach (var (name, value, grad) in decGrads.Pairs().Select(p => ("decoder " + p.Name, p.Value, p.Grad))
                     .Concat(encGrads.Pairs().Select(p => ("encoder " + p.Name, p.Value, p.Grad))))
        {
            FiniteDifferences.AssertDirectional(output, name, value, grad, Objective, rng, 2e-3f, 2e-2);
            n++;
        }
        Assert.True(n >= 40, $"{n} tensors checked");
        Assert.Contains(decGrads.Pairs(), p => p.Name == "blocks.1.cross_attn.W_K");
    }

    [Fact]
    public void PackedSequencesEqualOnePassPerSequence()
    {
        var enc = Stack(false, true);
        var dec = Stack(true, true);
        var u = new Setup(enc, Random(enc, 3), dec, Random(dec, 4), [3, 5, 7, 1, 2, 9, 4, 6], [4, 1, 3], [2, 6, 8, 2, 11, 12, 5, 4, 9], [3, 4, 2], 0f);
        var packed = Run(u, true, out var encoded);
        var tape = packed.Tape!;
        var encoder = new TransformerModel(enc, u.Enc, "enc");
        var decoder = new TransformerModel(dec, u.Dec, "dec");
        int d = dec.Hidden, v = dec.Vocab;
        for (int i = 0, s0 = 0, t0 = 0; i < u.SrcLens.Length; s0 += u.SrcLens[i], t0 += u.TgtLens[i], i++)
        {
            var e = encoder.Forward(new ForwardInput { Ids = u.Src[s0..(s0 + u.SrcLens[i])] });
            for (int k = 0; k < e.Hidden.Data.Length; k++) Assert.Equal(e.Hidden.Data[k], encoded.Hidden.Data[s0 * d + k], 4);
            var one = decoder.Forward(new ForwardInput { Ids = u.Tgt[t0..(t0 + u.TgtLens[i])], Memory = e.Hidden, Logits = LogitRows.All });
            for (int k = 0; k < one.Logits!.Data.Length; k++) Assert.Equal(one.Logits.Data[k], packed.Logits!.Data[t0 * v + k], 4);
            // the recorded cross-attention block of sequence i is that sequence's own cross-attention
            int n = u.TgtLens[i], src = u.SrcLens[i];
            long off = tape.Segments.CrossOff![i];
            for (int k = 0; k < 2 * n * src; k++) Assert.Equal(one.CrossAttention!.Data[k], tape.CrossAttention![off + k], 5);
        }
        Assert.Null(packed.Attention);
    }

    [Fact]
    public void DropoutIsDeterministicWithItsSeedAndOffAtZero()
    {
        var dec = Stack(true, true);
        var enc = Stack(false, true);
        var u = new Setup(enc, Random(enc, 5), dec, Random(dec, 6), [3, 5, 7], [3], [2, 6, 8], [3], 0.5f);
        var a = Run(u, false, out _).Logits!.Data;
        var b = Run(u, false, out _).Logits!.Data;
        Assert.Equal(a, b);
        var plain = Run(u with { Dropout = 0f }, false, out _).Logits!.Data;
        Assert.NotEqual(a, plain);
        var model = new TransformerModel(dec, u.Dec, "dec");
        var memory = new TransformerModel(enc, u.Enc, "enc").Forward(new ForwardInput { Ids = u.Src }).Hidden;
        var inference = model.Forward(new ForwardInput { Ids = u.Tgt, Memory = memory, Logits = LogitRows.All }).Logits!.Data;
        Assert.Equal(plain, inference);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ARecordedPassOverAnEarlierTapeGivesTheSameGradients(bool pre)
    {
        var enc = Stack(false, pre, PositionKind.Learned);
        var dec = Stack(true, pre);
        var encT = Random(enc, 8);
        var decT = Random(dec, 9);
        var encoder = new TransformerModel(enc, encT, "enc");
        var decoder = new TransformerModel(dec, decT, "dec");
        (CoreGradients, CoreGradients, CoreTape, CoreTape) Step(int[] src, int[] srcLens, int[] tgt, int[] tgtLens, CoreTape? encReuse, CoreTape? decReuse)
        {
            var e = encoder.Forward(new ForwardInput { Ids = src, Segments = srcLens, Record = true, Dropout = 0.2f, DropoutSeed = 3, Reuse = encReuse });
            var o = decoder.Forward(new ForwardInput
            {
                Ids = tgt, Segments = tgtLens, Memory = e.Hidden, MemorySegments = srcLens, Logits = LogitRows.All, Record = true,
                Dropout = 0.2f, DropoutSeed = 4, Reuse = decReuse,
            });
            var r = new float[o.Logits!.Data.Length];
            for (int i = 0; i < r.Length; i++) r[i] = (i % 7) * 0.1f - 0.3f;
            var ge = CoreGradients.For(encT);
            var gd = CoreGradients.For(decT);
            var outputs = new BackwardOutputs();
            decoder.BackwardFromLogits(o.Tape!, r, gd, outputs: outputs);
            encoder.Backward(e.Tape!, outputs.MemoryGradient!, ge);
            return (ge, gd, e.Tape!, o.Tape!);
        }
        // a longer batch first, then a shorter one and a longer one over its arrays
        var (_, _, te, td) = Step([3, 5, 7, 1, 2, 9, 4, 6, 2], [5, 4], [2, 6, 8, 2, 11, 12, 5, 4, 9, 1], [6, 4], null, null);
        foreach (var (src, srcLens, tgt, tgtLens) in new[] { (new[] { 4, 2, 8 }, new[] { 3 }, new[] { 2, 9 }, new[] { 2 }),
                     (new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 }, new[] { 6, 5 }, new[] { 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 2 }, new[] { 7, 5 }) })
        {
            var fresh = Step(src, srcLens, tgt, tgtLens, null, null);
            var reused = Step(src, srcLens, tgt, tgtLens, te, td);
            foreach (var (a, b) in fresh.Item1.Pairs().Zip(reused.Item1.Pairs()).Concat(fresh.Item2.Pairs().Zip(reused.Item2.Pairs())))
                Assert.True(a.Grad.AsSpan().SequenceEqual(b.Grad), $"{a.Name} differs over a reused tape");
            (te, td) = (reused.Item3, reused.Item4);
        }
    }

    [Fact]
    public void BadPackingIsOneClearLine()
    {
        var dec = Stack(true, true);
        var model = new TransformerModel(dec, Random(dec, 1), "dec");
        var memory = new FloatTensor([4, 8]);
        Assert.Contains("add up", Assert.Throws<AttnScopeException>(() => model.Forward(new ForwardInput { Ids = [1, 2, 3], Segments = [1, 1], Memory = memory, MemorySegments = [2, 2] })).Message);
        Assert.Contains("encoder output", Assert.Throws<AttnScopeException>(() => model.Forward(new ForwardInput { Ids = [1, 2, 3], Segments = [1, 2], Memory = memory })).Message);
        Assert.Contains("add up", Assert.Throws<AttnScopeException>(() => model.Forward(new ForwardInput { Ids = [1, 2, 3], Segments = [1, 2], Memory = memory, MemorySegments = [1, 2] })).Message);
        Assert.Contains("dropout", Assert.Throws<AttnScopeException>(() => model.Forward(new ForwardInput { Ids = [1], Memory = memory, Dropout = 1f })).Message);
    }
}
