using AttnScope.Sources.Transformer;
using AttnScope.Training.Model;

namespace AttnScope.Tests.Training;

/// <summary>
/// The translation model as a family of the core: its specs and weight-name map, the sinusoids it adds, dropout
/// in training and not at inference, packed batches equal to one pass per sentence, and the label-smoothed loss.
/// (The backward passes are checked in <see cref="TransformerGradientTests"/> and the core's gradient tests.)
/// </summary>
public class TranslationCoreTests
{
    [Fact]
    public void EveryParameterIsMappedOnceIntoTheCoresTensors()
    {
        foreach (var (pre, shared, learned) in new[] { (true, true, false), (false, false, true) })
        {
            var model = TransformerGradientTests.Tiny(pre, shared, learned);
            var used = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
            void Add(CoreTensors t)
            {
                foreach (var (_, v, _) in CoreGradients.For(t).Pairs()) used.Add(v);
                foreach (var l in t.Layers)
                    foreach (var a in new[] { l.CrossQuery, l.CrossKey, l.CrossValue, l.CrossOutput, l.CrossNormGain, l.CrossQueryBias, l.CrossKeyBias, l.CrossValueBias, l.CrossOutputBias, l.CrossNormBias })
                        if (a is not null) used.Add(a);
            }
            Add(model.EncoderTensors);
            Add(model.DecoderTensors);
            Assert.All(model.Parameters, p => Assert.Contains(p.Value, used));
            Assert.Equal(model.Parameters.Count, used.Count);
            Assert.Equal(shared, model.DecoderSpec.TiedHead);
            Assert.True(model.DecoderSpec.CrossAttention && model.DecoderSpec.Causal && !model.EncoderSpec.Causal);
            Assert.Equal(pre ? NormPlacement.Pre : NormPlacement.Post, model.EncoderSpec.Placement);
        }
    }

    [Fact]
    public void SinusoidalPositionsAreTheTransformerFormula()
    {
        var model = TransformerGradientTests.Tiny(learned: false);
        var hooks = new HookSet().Record(HookPoints.PosEmbed);
        model.EncoderModel.Forward(new ForwardInput { Ids = [4, 5, 6, 7, 8, 9], Hooks = hooks });
        var pos = hooks.Recorded[HookPoints.PosEmbed];
        int d = model.Config.Dim;
        // position 5, pair i = 3: sin(5 / 10000^(6/d)), cos(...)
        double angle = 5 / Math.Pow(10000, 6.0 / d);
        Assert.Equal(Math.Sin(angle), pos.Data[5 * d + 6], 5);
        Assert.Equal(Math.Cos(angle), pos.Data[5 * d + 7], 5);
    }

    [Fact]
    public void DropoutActsInTrainingOnlyAndFollowsTheSeed()
    {
        var model = TransformerGradientTests.Tiny(dropout: 0.3f);
        var batch = TransformerGradientTests.TinyBatch();
        float[] Logits(bool training, ulong seed)
        {
            var random = new FastRandom(seed);
            return (float[])model.ForwardLogits(batch, ref random, training).Clone();
        }
        Assert.Equal(Logits(true, 1), Logits(true, 1));
        Assert.NotEqual(Logits(true, 1), Logits(true, 2));
        Assert.Equal(Logits(false, 1), Logits(false, 2));
        Assert.NotEqual(Logits(true, 1), Logits(false, 1));
    }

    [Fact]
    public void APackedBatchGivesEachSentencesOwnLogits()
    {
        var model = TransformerGradientTests.Tiny(preNorm: false, shared: false, learned: true);
        var pairs = new[] { new EncodedPair([5, 6, 7, 3], [8, 9, 4]), new EncodedPair([4, 10, 3], [6, 5, 7, 8, 10]) };
        var random = new FastRandom(0);
        var packed = (float[])model.ForwardLogits(Batch.Of(pairs, 2, 3), ref random, training: false).Clone();
        int v = model.Config.VocabSize, row = 0;
        foreach (var p in pairs)
        {
            var alone = model.ForwardLogits(Batch.Of([p], 2, 3), ref random, training: false);
            for (int i = 0; i < alone.Length; i++) Assert.Equal(alone[i], packed[row * v + i], 4);
            row += p.Target.Length + 1;
        }
        Assert.Equal(row * v, packed.Length);
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
        Assert.Equal(rows * v, dz.Length);
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
