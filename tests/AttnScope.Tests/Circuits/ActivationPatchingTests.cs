using AttnScope.Analyses.Circuits;
using AttnScope.Capture;
using Xunit;

namespace AttnScope.Tests.Circuits;

public class ActivationPatchingTests
{
    /// <summary>Clean: the golden prompt; corrupted: three tokens changed (same length).</summary>
    private static (int[] Clean, int[] Corrupted) Prompts(string name)
    {
        var clean = CircuitModels.Prompt(name);
        var corrupted = (int[])clean.Clone();
        corrupted[1] = (corrupted[1] + 7) % 250;
        corrupted[4] = (corrupted[4] + 11) % 250;
        corrupted[^2] = (corrupted[^2] + 13) % 250;
        return (clean, corrupted);
    }

    [Theory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    public void WholeResidualFromCleanRecoversOneAtEveryLayer(string name)
    {
        var model = CircuitModels.Load(name);
        var (clean, corrupted) = Prompts(name);
        var diff = CircuitModels.TopVersusBottom(model, clean);
        var source = ActivationPatching.Record(model, clean);
        var cleanDiff = ActivationPatching.Patched(model, clean, source, diff, []);
        var corruptDiff = ActivationPatching.Patched(model, corrupted, source, diff, []);
        for (int l = 0; l < model.Spec.Layers; l++)
        {
            float patched = ActivationPatching.Patched(model, corrupted, source, diff,
                Enumerable.Range(0, clean.Length).Select(p => PatchSite.ResidPre(l, p)));
            Assert.Equal(1f, ActivationPatching.Recovery(patched, cleanDiff, corruptDiff), 4);
            float all = ActivationPatching.Patched(model, corrupted, source, diff, [PatchSite.ResidPre(l)]);
            Assert.Equal(patched, all);
        }
    }

    /// <summary>
    /// With the MLPs silenced (down projection and its bias zero) the last position's final residual is its own
    /// embedding (the same token in both prompts) plus the heads' outputs, so patching every head of every layer
    /// from the clean run restores the clean logit difference.
    /// </summary>
    [Theory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    public void EveryHeadFromCleanRecoversOneWithoutMlps(string name)
    {
        var model = CircuitModels.Modified(name, (spec, t) =>
        {
            foreach (var layer in t.Layers) { Array.Clear(layer.Down!); if (layer.DownBias is { } b) Array.Clear(b); }
        });
        var (clean, corrupted) = Prompts(name);
        Assert.Equal(clean[^1], corrupted[^1]);
        var diff = CircuitModels.TopVersusBottom(model, clean);
        var source = ActivationPatching.Record(model, clean);
        var cleanDiff = ActivationPatching.Patched(model, clean, source, diff, []);
        var corruptDiff = ActivationPatching.Patched(model, corrupted, source, diff, []);
        var everyHead = from l in Enumerable.Range(0, model.Spec.Layers) from h in Enumerable.Range(0, model.Spec.Heads) select PatchSite.HeadZ(l, h);
        float patched = ActivationPatching.Patched(model, corrupted, source, diff, everyHead);
        Assert.Equal(1f, ActivationPatching.Recovery(patched, cleanDiff, corruptDiff), 4);
    }

    [Theory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    public void PatchesFromTheCorruptedRunItselfRecoverZero(string name)
    {
        var model = CircuitModels.Load(name);
        var (clean, corrupted) = Prompts(name);
        var diff = CircuitModels.TopVersusBottom(model, clean);
        var heads = ActivationPatching.Heads(model, clean, corrupted, diff, sourceIds: corrupted);
        var resid = ActivationPatching.ResidPre(model, clean, corrupted, diff, sourceIds: corrupted);
        Assert.All(heads.Values.Data, v => Assert.Equal(0f, v, 5));
        Assert.All(resid.Values.Data, v => Assert.Equal(0f, v, 5));
    }

    [Theory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    public void CleanPatchMapsHaveTheExpectedStructure(string name)
    {
        var model = CircuitModels.Load(name);
        var (clean, corrupted) = Prompts(name);
        var diff = CircuitModels.TopVersusBottom(model, clean);
        var resid = ActivationPatching.ResidPre(model, clean, corrupted, diff);
        int m = clean.Length;
        Assert.Equal([model.Spec.Layers, m], resid.Values.Shape);
        // Entering layer 0, a position whose token is unchanged carries the same residual: no effect.
        for (int p = 0; p < m; p++)
            if (clean[p] == corrupted[p]) Assert.Equal(0f, resid[0, p], 5);
        // The last position entering the last layer: everything the last position reads at that layer except the
        // keys/values of earlier positions; some positions must matter.
        Assert.Contains(resid.Values.Data, v => Math.Abs(v) > 1e-3);
        var heads = ActivationPatching.Heads(model, clean, corrupted, diff);
        Assert.Equal([model.Spec.Layers, model.Spec.Heads], heads.Values.Shape);
        Assert.All(heads.Values.Data, v => Assert.True(float.IsFinite(v)));
        var map = heads.ToMap();
        Assert.Equal("patch_heads", map.Kind);
        Assert.True(map.Signed);
        Assert.Contains("(patched − corrupted)/(clean − corrupted)", map.Metric);
    }

    [Fact]
    public void BadPromptsAreOneClearLine()
    {
        var model = CircuitModels.Load("tiny-gpt2");
        var ids = CircuitModels.Prompt("tiny-gpt2");
        var diff = CircuitModels.TopVersusBottom(model, ids);
        Assert.Contains("same token length", Assert.Throws<AttnScopeException>(() => ActivationPatching.Heads(model, ids, ids[..^1], diff)).Message);
        Assert.Contains("undefined", Assert.Throws<AttnScopeException>(() => ActivationPatching.Heads(model, ids, ids, diff)).Message);
        var source = ActivationPatching.Record(model, ids);
        Assert.Contains("out of range", Assert.Throws<AttnScopeException>(() => ActivationPatching.Patched(model, ids, source, diff, [PatchSite.HeadZ(0, 99)])).Message);
    }
}
