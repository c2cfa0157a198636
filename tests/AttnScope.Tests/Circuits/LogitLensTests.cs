using AttnScope.Analyses.Circuits;
using AttnScope.Capture;
using AttnScope.Sources.Transformer;
using Xunit;

namespace AttnScope.Tests.Circuits;

public class LogitLensTests
{
    public static readonly TheoryData<string> Models = new() { "tiny-gpt2", "tiny-llama", "tiny-qwen2" };

    /// <summary>Softmax in double, written here independently of the analysis.</summary>
    private static double[] Probabilities(ReadOnlySpan<float> logits)
    {
        double max = double.MinValue;
        foreach (var v in logits) max = Math.Max(max, v);
        var e = new double[logits.Length];
        double z = 0;
        for (int i = 0; i < e.Length; i++) { e[i] = Math.Exp(logits[i] - max); z += e[i]; }
        for (int i = 0; i < e.Length; i++) e[i] /= z;
        return e;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void LastLayerEqualsTheModelsOwnPrediction(string name)
    {
        var model = CircuitModels.Load(name);
        var ids = CircuitModels.Prompt(name);
        int token = ids[3];
        var lens = LogitLens.Run(model, ids, topK: 3, token: token);
        var logits = model.Forward(new ForwardInput { Ids = ids, Logits = LogitRows.All, SkipAttention = true }).Logits!;
        int V = model.Spec.Vocab, last = lens.Rows - 1;
        Assert.Equal(model.Spec.Layers + 1, lens.Rows);
        for (int p = 0; p < ids.Length; p++)
        {
            var row = logits.Data.AsSpan(p * V, V);
            var probs = Probabilities(row);
            var order = Enumerable.Range(0, V).OrderByDescending(i => probs[i]).ThenBy(i => i).ToArray();
            for (int k = 0; k < 3; k++)
            {
                var (id, prob) = lens.Top(last, p, k);
                Assert.Equal(order[k], id);
                Assert.Equal(probs[order[k]], prob, 5);
            }
            Assert.Equal(probs[token], lens.TokenProbs![last * ids.Length + p], 5);
            Assert.Equal(Array.IndexOf(order, token) + 1, lens.TokenRanks![last * ids.Length + p]);
        }
    }

    [Fact]
    public void EmbedRowIsTheUnembeddedNormalisedEmbedding()
    {
        var model = CircuitModels.Load("tiny-gpt2");
        var ids = CircuitModels.Prompt("tiny-gpt2");
        var lens = LogitLens.Run(model, ids, topK: 1);
        // Independent path: GPT-2's residual entering block 0 is wte[id] + wpe[pos]; ln_f; tied head.
        var dir = Core.DecoderGoldenTests.Folder("tiny-gpt2");
        var w = AttnScope.Sources.Models.SafetensorsWeights.Load(Path.Combine(dir, "model.safetensors"));
        string pre = w.Contains("transformer.wte.weight") ? "transformer." : "";
        int d = model.Spec.Hidden, V = model.Spec.Vocab;
        var wte = w.Get(pre + "wte.weight", V, d).Data;
        var wpe = w.Get(pre + "wpe.weight", model.Spec.MaxPositions, d).Data;
        var g = w.Get(pre + "ln_f.weight", d).Data;
        var b = w.Get(pre + "ln_f.bias", d).Data;
        for (int p = 0; p < ids.Length; p++)
        {
            var x = new double[d];
            for (int i = 0; i < d; i++) x[i] = wte[ids[p] * d + i] + wpe[p * d + i];
            double mean = x.Average(), var = x.Select(v => (v - mean) * (v - mean)).Average();
            var y = x.Select((v, i) => (v - mean) / Math.Sqrt(var + model.Spec.NormEps) * g[i] + b[i]).ToArray();
            var logits = new float[V];
            for (int t = 0; t < V; t++) { double s = 0; for (int i = 0; i < d; i++) s += y[i] * wte[t * d + i]; logits[t] = (float)s; }
            var probs = Probabilities(logits);
            int best = Enumerable.Range(0, V).OrderByDescending(i => probs[i]).First();
            var (id, prob) = lens.Top(0, p, 0);
            Assert.Equal(best, id);
            Assert.Equal(probs[best], prob, 4);
        }
    }

    [Fact]
    public void MapAndCaptureEntriesHaveTheDocumentedShapes()
    {
        var model = CircuitModels.Load("tiny-llama");
        var ids = CircuitModels.Prompt("tiny-llama");
        var lens = LogitLens.Run(model, ids, topK: 2, token: 5);
        var map = lens.ToMap(id => $"t{id}");
        Assert.Equal([model.Spec.Layers + 1, ids.Length], map.Values.Shape);
        Assert.Equal("embed", map.RowLabels[0]);
        Assert.Equal($"t{lens.Top(1, 2).Id}", map.CellTexts![1 * ids.Length + 2]);
        Assert.Equal(lens.TokenProbs![ids.Length + 2], map[1, 2]);
        var analyses = lens.ToAnalyses();
        Assert.Equal(["circuits.logit_lens", "circuits.logit_lens_top", "circuits.logit_lens_rank"], analyses.Select(a => a.Name));
        Assert.Equal([model.Spec.Layers + 1, ids.Length, 2, 2], analyses[1].Tensor.Shape);
    }

    [Fact]
    public void BadOptionsAreOneClearLine()
    {
        var model = CircuitModels.Load("tiny-gpt2");
        Assert.Contains("top-k", Assert.Throws<AttnScopeException>(() => LogitLens.Run(model, [1, 2], topK: 0)).Message);
        Assert.Contains("out of range", Assert.Throws<AttnScopeException>(() => LogitLens.Run(model, [1, 2], token: 100000)).Message);
        Assert.Contains("no tokens", Assert.Throws<AttnScopeException>(() => LogitLens.Run(model, [])).Message);
    }
}
