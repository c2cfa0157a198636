using AttnScope.Analyses.Circuits;
using AttnScope.Capture;
using AttnScope.Sources.Transformer;
using Xunit;

namespace AttnScope.Tests.Circuits;

public class DirectLogitAttributionTests
{
    public static readonly TheoryData<string> Models = new() { "tiny-gpt2", "tiny-llama", "tiny-qwen2", "tiny-mistral" };

    [Theory]
    [MemberData(nameof(Models))]
    public void ComponentsSumToTheModelsLogitDifference(string name)
    {
        var model = CircuitModels.Load(name);
        var ids = CircuitModels.Prompt(name);
        var diff = CircuitModels.TopVersusBottom(model, ids);
        var r = DirectLogitAttribution.Run(model, ids, diff);
        var logits = model.Forward(new ForwardInput { Ids = ids, Logits = LogitRows.Last, SkipAttention = true }).Logits!.Data;
        float expected = logits[diff.Target] - logits[diff.Distractor];
        Assert.Equal(expected, r.ModelLogitDiff, 4);
        Assert.True(Math.Abs(r.Total - expected) <= 1e-4 * Math.Max(1, Math.Abs(expected)), $"sum {r.Total} vs logit difference {expected}");
        // heads matter: the attribution is not all in the embeddings
        Assert.Contains(r.HeadValues, v => Math.Abs(v) > 1e-3);
    }

    /// <summary>
    /// Each layer's heads plus its output bias equal the attribution of the layer's whole attention output, taken
    /// here from hook_attn_out and projected independently (checks the per-head W_O slices).
    /// </summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void HeadsOfALayerAddUpToItsAttentionOutput(string name)
    {
        var model = CircuitModels.Load(name);
        var ids = CircuitModels.Prompt(name);
        var diff = CircuitModels.TopVersusBottom(model, ids);
        var r = DirectLogitAttribution.Run(model, ids, diff, position: ids.Length - 2);
        var s = model.Spec;
        int d = s.Hidden, pos = ids.Length - 2;
        var hooks = new HookSet().Record("blocks.*.hook_attn_out", HookPoints.ResidPost(s.Layers - 1));
        model.Forward(new ForwardInput { Ids = ids, Hooks = hooks, SkipAttention = true });
        var final = hooks.Recorded[HookPoints.ResidPost(s.Layers - 1)].Data.AsSpan(pos * d, d).ToArray();
        var dirAndGain = Direction(model, diff);
        bool ln = s.Norm == NormKind.LayerNorm;
        double scale = Math.Sqrt(final.Select(x => Sq(x - (ln ? final.Average() : 0))).Average() + s.NormEps);
        for (int l = 0; l < s.Layers; l++)
        {
            var c = hooks.Recorded[HookPoints.AttnOut(l)].Data.AsSpan(pos * d, d).ToArray();
            double mean = ln ? c.Average(x => (double)x) : 0;
            double expected = 0;
            for (int i = 0; i < d; i++) expected += (c[i] - mean) * dirAndGain[i];
            expected /= scale;
            double got = Enumerable.Range(0, s.Heads).Sum(h => (double)r.Head(l, h)) + r.AttentionBias[l];
            Assert.True(Math.Abs(got - expected) <= 1e-4 * Math.Max(1, Math.Abs(expected)), $"layer {l}: heads {got} vs attn_out {expected}");
        }
    }

    /// <summary>
    /// One head of the last layer, independently: its output is the change of resid_mid when the model is rebuilt
    /// with that head's W_O columns zero; projected here with the final residual's scale, it equals the head's DLA.
    /// </summary>
    [Theory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-qwen2")]
    public void EachHeadsAttributionIsItsOwnOutput(string name)
    {
        var model = CircuitModels.Load(name);
        var ids = CircuitModels.Prompt(name);
        var diff = CircuitModels.TopVersusBottom(model, ids);
        var r = DirectLogitAttribution.Run(model, ids, diff);
        var s = model.Spec;
        int d = s.Hidden, pos = ids.Length - 1, last = s.Layers - 1;
        float[] Mid(Sources.Transformer.TransformerModel m)
        {
            var hooks = new HookSet().Record(HookPoints.ResidMid(last));
            m.Forward(new ForwardInput { Ids = ids, Hooks = hooks, SkipAttention = true });
            return hooks.Recorded[HookPoints.ResidMid(last)].Data.AsSpan(pos * d, d).ToArray();
        }
        var hooksFinal = new HookSet().Record(HookPoints.ResidPost(last));
        model.Forward(new ForwardInput { Ids = ids, Hooks = hooksFinal, SkipAttention = true });
        var final = hooksFinal.Recorded[HookPoints.ResidPost(last)].Data.AsSpan(pos * d, d).ToArray();
        bool ln = s.Norm == NormKind.LayerNorm;
        double scale = Math.Sqrt(final.Select(x => Sq(x - (ln ? final.Average() : 0))).Average() + s.NormEps);
        var u = Direction(model, diff);
        var full = Mid(model);
        for (int h = 0; h < s.Heads; h++)
        {
            var cut = CircuitModels.Modified(name, (spec, t) =>
            {
                var wo = t.Layers[last].Output;
                for (int j = 0; j < spec.Hidden; j++) Array.Clear(wo, j * spec.QueryWidth + h * spec.HeadDim, spec.HeadDim);
            });
            var without = Mid(cut);
            var o = full.Select((v, i) => (double)v - without[i]).ToArray();
            double mean = ln ? o.Average() : 0;
            double expected = o.Select((v, i) => (v - mean) * u[i]).Sum() / scale;
            Assert.True(Math.Abs(r.Head(last, h) - expected) <= 1e-4 * Math.Max(1, Math.Abs(expected)), $"head {h}: {r.Head(last, h)} vs {expected}");
        }
    }

    private static double Sq(double x) => x * x;

    /// <summary>γ ⊙ (W_U[target] − W_U[distractor]) from the model's public accessors.</summary>
    private static double[] Direction(TransformerModel model, LogitDiff diff)
    {
        int d = model.Spec.Hidden;
        var rows = model.UnembeddingRows;
        var gain = new double[d];
        for (int i = 0; i < d; i++) gain[i] = GainOf(model, i);
        var u = new double[d];
        for (int i = 0; i < d; i++) u[i] = ((double)rows[diff.Target * d + i] - rows[diff.Distractor * d + i]) * gain[i];
        return u;
    }

    /// <summary>γ_i of the final norm probed through <see cref="TransformerModel.ApplyFinalNorm"/>: the difference of the
    /// normalised rows +e_i and −e_i (plus a common offset for LayerNorm) over their pre-norm difference.</summary>
    private static double GainOf(TransformerModel model, int i)
    {
        int d = model.Spec.Hidden;
        // x = e_i − e_j (j ≠ i) has mean 0 and mean square 2/d; normalised: x/√(2/d + ε)·γ (+β)
        int j = (i + 1) % d;
        var a = new float[d]; a[i] = 1; a[j] = -1;
        var b = new float[d]; b[i] = -1; b[j] = 1;
        model.ApplyFinalNorm(a);
        model.ApplyFinalNorm(b);
        double r = Math.Sqrt(2.0 / d + model.Spec.NormEps);
        return (a[i] - b[i]) / 2 * r;
    }

    [Fact]
    public void BadInputIsOneClearLine()
    {
        var model = CircuitModels.Load("tiny-gpt2");
        Assert.Contains("same token", Assert.Throws<AttnScopeException>(() => DirectLogitAttribution.Run(model, [1, 2, 3], new LogitDiff(4, 4))).Message);
        Assert.Contains("position 9", Assert.Throws<AttnScopeException>(() => DirectLogitAttribution.Run(model, [1, 2, 3], new LogitDiff(4, 5), 9)).Message);
    }
}
