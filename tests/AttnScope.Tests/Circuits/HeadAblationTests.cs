using AttnScope.Analyses.Circuits;
using AttnScope.Capture;
using AttnScope.Sources.Transformer;
using Xunit;

namespace AttnScope.Tests.Circuits;

public class HeadAblationTests
{
    private static float Diff(TransformerModel model, int[] ids, LogitDiff diff)
    {
        var logits = model.Forward(new ForwardInput { Ids = ids, Logits = LogitRows.Last, SkipAttention = true }).Logits!.Data;
        return logits[diff.Target] - logits[diff.Distractor];
    }

    /// <summary>Zero-ablating a head through hook_z equals a model whose W_O columns for that head are zero.</summary>
    [Theory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    public void ZeroAblationEqualsZeroOutputColumns(string name)
    {
        var model = CircuitModels.Load(name);
        var ids = CircuitModels.Prompt(name);
        var diff = CircuitModels.TopVersusBottom(model, ids);
        var r = HeadAblation.Run(model, ids, diff, AblationKind.Zero);
        var s = model.Spec;
        Assert.Equal(Diff(model, ids, diff), r.Baseline, 5);
        foreach (var (l, h) in new[] { (0, 0), (0, s.Heads - 1), (s.Layers - 1, 1) })
        {
            var cut = CircuitModels.Modified(name, (spec, t) =>
            {
                int qw = spec.QueryWidth;
                var wo = t.Layers[l].Output; // a fresh load: changing it in place is safe
                for (int j = 0; j < spec.Hidden; j++) Array.Clear(wo, j * qw + h * spec.HeadDim, spec.HeadDim);
            });
            Assert.Equal(Diff(cut, ids, diff) - r.Baseline, r.Effect(l, h), 4);
        }
    }

    /// <summary>
    /// Mean ablation equals a model whose head's W_O columns are zero and whose output bias carries W_O,h·mean(z_h),
    /// the head's constant output (GPT-2 has an output bias to carry it).
    /// </summary>
    [Fact]
    public void MeanAblationEqualsAConstantHeadOutput()
    {
        const string name = "tiny-gpt2";
        var model = CircuitModels.Load(name);
        var ids = CircuitModels.Prompt(name);
        var diff = CircuitModels.TopVersusBottom(model, ids);
        var r = HeadAblation.Run(model, ids, diff, AblationKind.Mean);
        var s = model.Spec;
        int l = 1, h = 2, dh = s.HeadDim, qw = s.QueryWidth, m = ids.Length;
        var hooks = new HookSet().Record(HookPoints.Z(l));
        model.Forward(new ForwardInput { Ids = ids, Hooks = hooks, SkipAttention = true });
        var z = hooks.Recorded[HookPoints.Z(l)].Data;
        var mean = new double[dh];
        for (int p = 0; p < m; p++) for (int k = 0; k < dh; k++) mean[k] += z[p * qw + h * dh + k] / (double)m;
        var cut = CircuitModels.Modified(name, (spec, t) =>
        {
            var layer = t.Layers[l];
            var wo = layer.Output;
            var bias = layer.OutputBias!;
            for (int j = 0; j < spec.Hidden; j++)
            {
                double add = 0;
                for (int k = 0; k < dh; k++) add += wo[j * qw + h * dh + k] * mean[k];
                bias[j] += (float)add;
                Array.Clear(wo, j * qw + h * dh, dh);
            }
        });
        Assert.Equal(Diff(cut, ids, diff) - r.Baseline, r.Effect(l, h), 3);
        Assert.Equal("ablation_mean", r.ToMap().Kind);
    }
}
