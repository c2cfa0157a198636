using AttnScope.Sources.Transformer;
using Xunit.Abstractions;

namespace AttnScope.Tests.Core;

/// <summary>
/// The core's backward pass against central finite differences of its own forward pass: for every tensor, the
/// directional derivative along a random direction (one number per tensor, so float32 noise stays far below the
/// signal). The forward pass is checked independently (PyTorch goldens, ONNX Runtime), so agreement here proves
/// the gradients.
/// </summary>
public class CoreGradientTests(ITestOutputHelper output)
{
    public static readonly TheoryData<string> Variants = new() { "llama", "gpt2", "bert", "attn-only", "mistral" };

    private static TransformerSpec Spec(string variant) => variant switch
    {
        "llama" => TransformerCoreTests.Spec(),
        "mistral" => TransformerCoreTests.Spec(window: 3),
        "gpt2" => TransformerCoreTests.Spec(kvHeads: 4, positions: PositionKind.Learned, gated: false, norm: NormKind.LayerNorm) with { Rope = null, TiedHead = true },
        "attn-only" => TransformerCoreTests.Spec(kvHeads: 4, positions: PositionKind.Learned, gated: false, norm: NormKind.LayerNorm) with { Rope = null, Mlp = false },
        "bert" => TransformerCoreTests.Spec(kvHeads: 4, positions: PositionKind.Learned, gated: false, norm: NormKind.LayerNorm, causal: false) with
        {
            Rope = null, Placement = NormPlacement.Post, FinalNorm = false, EmbeddingNorm = true, TypeVocab = 2, Activation = "gelu",
        },
        _ => throw new ArgumentException(variant),
    };

    private static CoreTensors Tensors(TransformerSpec s, int seed)
    {
        var t = TransformerCoreTests.Random(s, seed);
        var rng = new Random(seed + 1);
        float[] R(long n, float sc) { var a = new float[n]; for (long i = 0; i < n; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * sc); return a; }
        float[] Ones(int n) { var a = R(n, 0.1f); for (int i = 0; i < n; i++) a[i] += 1; return a; }
        return new CoreTensors
        {
            TokenEmbeddings = t.TokenEmbeddings, PositionEmbeddings = t.PositionEmbeddings,
            TypeEmbeddings = s.TypeVocab > 0 ? R(s.TypeVocab * s.Hidden, 0.5f) : null,
            EmbeddingNormGain = s.EmbeddingNorm ? Ones(s.Hidden) : null, EmbeddingNormBias = s.EmbeddingNorm ? R(s.Hidden, 0.1f) : null,
            FinalNormGain = s.FinalNorm ? t.FinalNormGain : null, FinalNormBias = s.FinalNorm ? t.FinalNormBias : null,
            Unembedding = s.TiedHead ? null : t.Unembedding,
            Layers = t.Layers.Select(l => s.Mlp ? l : new CoreLayerTensors
            {
                Query = l.Query, Key = l.Key, Value = l.Value, QueryBias = l.QueryBias, KeyBias = l.KeyBias, ValueBias = l.ValueBias,
                Output = l.Output, OutputBias = l.OutputBias, Norm1Gain = l.Norm1Gain, Norm1Bias = l.Norm1Bias,
            }).ToArray(),
        };
    }

    /// <summary>f = Σ logits ⊙ R: every logit and every path matters.</summary>
    private static double Objective(TransformerSpec s, CoreTensors t, int[] ids, int[]? types, float[] r)
    {
        var out_ = new TransformerModel(s, t, "t").Forward(new ForwardInput { Ids = ids, TypeIds = types, Logits = LogitRows.All, SkipAttention = true });
        double f = 0;
        for (int i = 0; i < r.Length; i++) f += (double)out_.Logits!.Data[i] * r[i];
        return f;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void EveryTensorsGradientMatchesFiniteDifferences(string variant)
    {
        var s = Spec(variant);
        var t = Tensors(s, 21);
        var rng = new Random(5);
        int n = 9;
        var ids = Enumerable.Range(0, n).Select(_ => rng.Next(s.Vocab)).ToArray();
        int[]? types = s.TypeVocab > 0 ? Enumerable.Range(0, n).Select(i => i < 4 ? 0 : 1).ToArray() : null;
        var r = Enumerable.Range(0, n * s.Vocab).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

        var model = new TransformerModel(s, t, "t");
        var pass = model.Forward(new ForwardInput { Ids = ids, TypeIds = types, Logits = LogitRows.All, Record = true });
        var grads = CoreGradients.For(t);
        model.BackwardFromLogits(pass.Tape!, r, grads);

        int checkedTensors = 0;
        foreach (var (name, value, grad) in grads.Pairs())
        {
            var dir = value.Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            double analytic = 0;
            for (int i = 0; i < dir.Length; i++) analytic += (double)grad[i] * dir[i];
            const float eps = 2e-3f;
            var saved = (float[])value.Clone();
            for (int i = 0; i < value.Length; i++) value[i] = saved[i] + eps * dir[i];
            double up = Objective(s, t, ids, types, r);
            for (int i = 0; i < value.Length; i++) value[i] = saved[i] - eps * dir[i];
            double down = Objective(s, t, ids, types, r);
            saved.CopyTo(value, 0);
            double numeric = (up - down) / (2 * eps);
            double err = Math.Abs(numeric - analytic) / Math.Max(1.0, Math.Abs(numeric));
            output.WriteLine($"{name}: analytic {analytic:G6}, numeric {numeric:G6}, error {err:E1}");
            Assert.True(err < 2e-2, $"{name}: analytic {analytic} vs numeric {numeric}");
            checkedTensors++;
        }
        Assert.True(checkedTensors >= 10);
    }
}
