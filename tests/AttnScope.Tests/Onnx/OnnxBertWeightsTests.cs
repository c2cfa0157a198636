using AttnScope.Capture;
using AttnScope.Sources.Models;
using AttnScope.Sources.Onnx;
using Xunit;

namespace AttnScope.Tests.Onnx;

[Collection("minilm-onnx")]
public class OnnxBertWeightsTests(MiniLmOnnxFixture fx)
{
    [Fact]
    public void ParsesTheEmbeddedModel()
    {
        var m = fx.Model;
        Assert.True(m.IrVersion > 0);
        Assert.Contains(m.OpsetImports, o => o.Domain == "" && o.Version > 0);
        Assert.Equal(["input_ids", "attention_mask", "token_type_ids"], m.Graph.Inputs.Select(i => i.Name));
        Assert.All(m.Graph.Inputs, i => Assert.Equal(OnnxDataType.Int64, i.ElemType));
        Assert.Equal("last_hidden_state", m.Graph.Outputs[0].Name);
        Assert.Equal(6, m.Graph.Nodes.Count(n => n.Is("Softmax")));
    }

    [Fact]
    public void RecoversEveryLayerWeight()
    {
        var w = fx.Weights;
        OnnxBertWeights.CheckComplete(w, 6);
        w.Get("embeddings.word_embeddings.weight", 30522, 384);
        w.Get("embeddings.position_embeddings.weight", 512, 384);
        w.Get("embeddings.token_type_embeddings.weight", 2, 384);
        w.Get("embeddings.LayerNorm.weight", 384);
        for (int l = 0; l < 6; l++)
        {
            foreach (var p in new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense" })
            {
                w.Get($"encoder.layer.{l}.{p}.weight", 384, 384);
                w.Get($"encoder.layer.{l}.{p}.bias", 384);
            }
            w.Get($"encoder.layer.{l}.intermediate.dense.weight", 1536, 384);
            w.Get($"encoder.layer.{l}.output.dense.weight", 384, 1536);
            w.Get($"encoder.layer.{l}.output.LayerNorm.bias", 384);
        }
        w.Get("pooler.dense.weight", 384, 384);
        Assert.DoesNotContain(w.Names, n => n.StartsWith("bert.", StringComparison.Ordinal) || char.IsDigit(n[0]));
    }

    [Fact]
    public void LoadReturnsCheckedWeightsAndConfig()
    {
        var (weights, config) = OnnxBertWeights.Load(fx.OnnxPath);
        Assert.Equal(OnnxBertWeights.InferredOrigin, config.Origin);
        OnnxBertWeights.CheckComplete(weights, EmbeddedMiniLm.Config);
        // A weight whose pairing failed is named.
        var partial = new WeightStore("partial");
        foreach (var n in weights.Names.Where(n => n != "encoder.layer.3.attention.self.key.weight")) partial.Add(n, weights.Get(n));
        var msg = Assert.Throws<AttnScopeException>(() => OnnxBertWeights.CheckComplete(partial, config)).Message;
        Assert.Contains("encoder.layer.3.attention.self.key.weight", msg);
    }

    [Fact]
    public void InferredConfigMatchesMiniLm()
    {
        var cfg = OnnxBertWeights.ResolveConfig(fx.Model);
        var known = EmbeddedMiniLm.Config;
        Assert.Equal(OnnxBertWeights.InferredOrigin, cfg.Origin);
        Assert.Equal("inferred from the ONNX graph", cfg.Origin);
        Assert.Equal(known.NumLayers, cfg.NumLayers);
        Assert.Equal(known.NumHeads, cfg.NumHeads);
        Assert.Equal(known.HiddenSize, cfg.HiddenSize);
        Assert.Equal(known.IntermediateSize, cfg.IntermediateSize);
        Assert.Equal(known.VocabSize, cfg.VocabSize);
        Assert.Equal(known.MaxPositions, cfg.MaxPositions);
        Assert.Equal(known.TypeVocabSize, cfg.TypeVocabSize);
        Assert.Equal(known.LayerNormEps, cfg.LayerNormEps);
        Assert.Equal(known.HiddenAct, cfg.HiddenAct);
        Assert.Equal(12, cfg.NumHeads);
        Assert.Equal(1e-12f, cfg.LayerNormEps);
    }

    [Fact]
    public void ConfigJsonWinsWhenGiven()
    {
        var dir = Directory.CreateTempSubdirectory("attnscope-onnx-");
        try
        {
            var path = Path.Combine(dir.FullName, "config.json");
            File.WriteAllText(path, """{"model_type":"bert","hidden_size":384,"num_attention_heads":12,"num_hidden_layers":6,"intermediate_size":1536,"vocab_size":30522,"layer_norm_eps":1e-12}""");
            var cfg = OnnxBertWeights.ResolveConfig(fx.Model, path);
            Assert.Equal(path, cfg.Origin);
            Assert.Equal(12, cfg.NumHeads);
            File.WriteAllText(path, """{"model_type":"bert","hidden_size":768,"num_attention_heads":12,"num_hidden_layers":6,"intermediate_size":1536,"vocab_size":30522}""");
            Assert.Contains("does not match", Assert.Throws<AttnScopeException>(() => OnnxBertWeights.ResolveConfig(fx.Model, path)).Message);
            Assert.Throws<AttnScopeException>(() => OnnxBertWeights.ResolveConfig(fx.Model, Path.Combine(dir.FullName, "missing.json")));
        }
        finally { dir.Delete(true); }
    }

    /// <summary>
    /// Independent of the recovery: for each linear layer of layer 0, ONNX Runtime computes x and y = x·W + b with
    /// x and y exposed as graph outputs; the recovered [out, in] weight and the bias must reproduce y.
    /// </summary>
    [Fact]
    public void RecoveredWeightsReproduceOrtLinearOutputs()
    {
        var g = fx.Model.Graph;
        var linears = new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense" };
        var pairs = new List<(string Linear, string X, string Y)>();
        foreach (var lin in linears)
        {
            var bias = $"encoder.layer.0.{lin}.bias";
            var add = g.Nodes.Single(n => n.OpType == "Add" && n.Inputs.Contains(bias));
            var matmulOut = add.Inputs.Single(i => i != bias);
            var matmul = g.Nodes.Single(n => n.Outputs.Contains(matmulOut));
            Assert.Equal("MatMul", matmul.OpType);
            pairs.Add((lin, matmul.Inputs[0], add.Outputs[0]));
        }
        var bytes = OnnxModelEditor.AddOutputs(fx.Model, pairs.SelectMany(p => new[] { p.X, p.Y }).Distinct().Select(n => (n, OnnxDataType.Float)));
        int[] ids = [101, 7592, 2088, 102];
        var outs = MiniLmOnnxFixture.RunPlain(bytes, ids, pairs.SelectMany(p => new[] { p.X, p.Y }).Distinct().ToArray());
        foreach (var (lin, xName, yName) in pairs)
        {
            var w = fx.Weights.Get($"encoder.layer.0.{lin}.weight");
            var b = fx.Weights.Get($"encoder.layer.0.{lin}.bias");
            int outF = w.Shape[0], inF = w.Shape[1];
            var (xShape, x) = outs[xName];
            var (yShape, y) = outs[yName];
            Assert.Equal(inF, xShape[^1]);
            Assert.Equal(outF, yShape[^1]);
            double maxErr = 0;
            for (int t = 0; t < ids.Length; t++)
                for (int o = 0; o < outF; o++)
                {
                    double acc = b.Data[o];
                    for (int i = 0; i < inF; i++) acc += (double)w.Data[o * inF + i] * x[t * inF + i];
                    maxErr = Math.Max(maxErr, Math.Abs(acc - y[t * outF + o]) / Math.Max(1, Math.Abs(acc)));
                }
            Assert.True(maxErr < 1e-5, $"{lin}: max error {maxErr}");
        }
    }
}
