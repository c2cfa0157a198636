using System.Text.RegularExpressions;
using AttnScope.Capture;
using AttnScope.Sources.Models;

namespace AttnScope.Sources.Onnx;

/// <summary>
/// Recovers Hugging Face BERT weights from an ONNX export. Named initializers (embeddings, LayerNorms, biases) are
/// taken as they are; the anonymous MatMul weights PyTorch's exporter leaves behind (e.g. initializer "927") are
/// named by following the graph: a MatMul whose output feeds an Add with a bias <c>X.bias</c> has weight
/// <c>X.weight</c>, transposed from ONNX's [in, out] to PyTorch's [out, in].
/// </summary>
internal static partial class OnnxBertWeights
{
    public const string InferredOrigin = "inferred from the ONNX graph";

    /// <summary>The weight names every BERT layer must have (relative to <c>encoder.layer.{i}.</c>).</summary>
    public static readonly string[] LayerWeightNames =
    [
        "attention.self.query.weight", "attention.self.query.bias",
        "attention.self.key.weight", "attention.self.key.bias",
        "attention.self.value.weight", "attention.self.value.bias",
        "attention.output.dense.weight", "attention.output.dense.bias",
        "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
        "intermediate.dense.weight", "intermediate.dense.bias",
        "output.dense.weight", "output.dense.bias",
        "output.LayerNorm.weight", "output.LayerNorm.bias",
    ];

    public static readonly string[] EmbeddingWeightNames =
    [
        "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
        "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
    ];

    [GeneratedRegex(@"^encoder\.layer\.(\d+)\.")]
    private static partial Regex LayerIndexRegex();

    /// <summary>Loads a model file and recovers its weights.</summary>
    public static WeightStore Recover(string onnxPath) => Recover(OnnxModel.Load(onnxPath));

    /// <summary>
    /// Recovers all float weights in Hugging Face naming (no <c>bert.</c> prefix), linear weights as [out, in].
    /// Does not check completeness; see <see cref="CheckComplete(WeightStore, BertConfig)"/>.
    /// </summary>
    public static WeightStore Recover(OnnxModel model)
    {
        var g = model.Graph;
        var store = new WeightStore($"ONNX model {model.Source}");
        foreach (var t in g.Initializers)
        {
            if (!IsMeaningfulName(t.Name) || !IsFloat(t.DataType)) continue;
            store.Add(t.Name, t.ToFloatTensor());
        }
        foreach (var node in g.Nodes)
        {
            if (node.Is("MatMul") && node.Inputs.Count == 2)
            {
                var (weight, _) = ConstantInitializer(g, node.Inputs[1]);
                if (weight is null || weight.Dims.Length != 2 || !IsFloat(weight.DataType) || IsMeaningfulName(weight.Name)) continue;
                var bias = FindBiasAfter(g, node.Outputs[0]);
                if (bias is null) continue;
                var name = WeightStore.NormalizeName(bias[..^".bias".Length] + ".weight");
                if (store.Contains(name)) continue;
                store.Add(name, Transpose(weight.ToFloatTensor()));
            }
            else if (node.Is("Gemm") && node.Inputs.Count >= 3)
            {
                var (weight, _) = ConstantInitializer(g, node.Inputs[1]);
                var (biasT, biasName) = ConstantInitializer(g, node.Inputs[2]);
                if (weight is null || weight.Dims.Length != 2 || IsMeaningfulName(weight.Name) || biasT is null) continue;
                if (biasName is null || !biasName.EndsWith(".bias", StringComparison.Ordinal)) continue;
                if (node.IntAttribute("transA") is 1) continue;
                var name = WeightStore.NormalizeName(biasName[..^".bias".Length] + ".weight");
                if (store.Contains(name)) continue;
                var w = weight.ToFloatTensor();
                store.Add(name, node.IntAttribute("transB") is 1 ? w : Transpose(w));
            }
        }
        return store;
    }

    /// <summary>
    /// Everything the managed engine needs from an ONNX file: the recovered weights (checked complete and shaped
    /// as the config says) and the config, from <paramref name="configJsonPath"/> when given, else inferred from
    /// the graph. <see cref="BertConfig.Origin"/> says which was used.
    /// </summary>
    public static (WeightStore Weights, BertConfig Config) Load(string onnxPath, string? configJsonPath = null)
    {
        var model = OnnxModel.Load(onnxPath);
        var config = ResolveConfig(model, configJsonPath);
        var weights = Recover(model);
        CheckComplete(weights, config);
        return (weights, config);
    }

    /// <summary>Checks that every BERT weight is present with the shape <paramref name="config"/> implies.</summary>
    public static void CheckComplete(WeightStore store, BertConfig config)
    {
        CheckComplete(store, config.NumLayers);
        int h = config.HiddenSize, i = config.IntermediateSize;
        store.Get("embeddings.word_embeddings.weight", config.VocabSize, h);
        store.Get("embeddings.position_embeddings.weight", config.MaxPositions, h);
        for (int l = 0; l < config.NumLayers; l++)
        {
            var p = $"encoder.layer.{l}.";
            foreach (var lin in new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense" })
            {
                store.Get(p + lin + ".weight", h, h);
                store.Get(p + lin + ".bias", h);
            }
            store.Get(p + "intermediate.dense.weight", i, h);
            store.Get(p + "intermediate.dense.bias", i);
            store.Get(p + "output.dense.weight", h, i);
            store.Get(p + "output.dense.bias", h);
            foreach (var ln in new[] { "attention.output.LayerNorm", "output.LayerNorm" })
            {
                store.Get(p + ln + ".weight", h);
                store.Get(p + ln + ".bias", h);
            }
        }
    }

    /// <summary>Throws naming every missing BERT weight (e.g. when a MatMul could not be paired with its bias).</summary>
    public static void CheckComplete(WeightStore store, int numLayers)
    {
        var missing = new List<string>();
        foreach (var n in EmbeddingWeightNames) if (!store.Contains(n)) missing.Add(n);
        for (int l = 0; l < numLayers; l++)
            foreach (var n in LayerWeightNames)
                if (!store.Contains($"encoder.layer.{l}.{n}")) missing.Add($"encoder.layer.{l}.{n}");
        if (missing.Count > 0)
        {
            var shown = string.Join(", ", missing.Take(6)) + (missing.Count > 6 ? $" and {missing.Count - 6} more" : "");
            throw new AttnScopeException($"weights from {store.Origin} are incomplete: not found {shown} (a linear weight is found via a MatMul whose output is added to the named bias)");
        }
    }

    /// <summary>Number of layers, from the highest <c>encoder.layer.N.</c> name.</summary>
    public static int CountLayers(IEnumerable<string> names)
    {
        int max = -1;
        foreach (var n in names)
        {
            var m = LayerIndexRegex().Match(WeightStore.NormalizeName(n));
            if (m.Success && int.TryParse(m.Groups[1].Value, out int i)) max = Math.Max(max, i);
        }
        return max + 1;
    }

    /// <summary>
    /// The model config: read from <paramref name="configJsonPath"/> when given (Origin = that path), otherwise
    /// inferred from the graph (Origin = <see cref="InferredOrigin"/>). With <paramref name="lookNextToModel"/>, a
    /// config.json beside the model file is used when no path is given.
    /// </summary>
    public static BertConfig ResolveConfig(OnnxModel model, string? configJsonPath = null, bool lookNextToModel = false)
    {
        if (configJsonPath is null && lookNextToModel && File.Exists(model.Source))
        {
            var beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model.Source))!, "config.json");
            if (File.Exists(beside)) configJsonPath = beside;
        }
        if (configJsonPath is null) return InferConfig(model);
        string json;
        try { json = File.ReadAllText(configJsonPath); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AttnScopeException($"cannot read config '{configJsonPath}': {e.Message}");
        }
        var cfg = BertConfig.FromJson(json, configJsonPath);
        var word = model.Graph.Initializers.FirstOrDefault(t => WeightStore.NormalizeName(t.Name) == "embeddings.word_embeddings.weight");
        if (word is { Dims.Length: 2 } && (word.Dims[1] != cfg.HiddenSize || word.Dims[0] != cfg.VocabSize))
            throw new AttnScopeException($"{configJsonPath} does not match the ONNX model: hidden_size {cfg.HiddenSize}, vocab_size {cfg.VocabSize}, but the word embeddings are {word.DimsText}");
        return cfg;
    }

    /// <summary>Infers a <see cref="BertConfig"/> from initializer shapes and the graph.</summary>
    public static BertConfig InferConfig(OnnxModel model)
    {
        var g = model.Graph;
        var byName = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        foreach (var t in g.Initializers)
            if (IsMeaningfulName(t.Name)) byName.TryAdd(WeightStore.NormalizeName(t.Name), t);

        OnnxTensor Need(string name, int rank)
        {
            if (!byName.TryGetValue(name, out var t))
                throw new AttnScopeException($"cannot infer the model config from the ONNX graph: no initializer '{name}' (pass a config.json)");
            if (t.Dims.Length != rank)
                throw new AttnScopeException($"cannot infer the model config from the ONNX graph: '{name}' has shape {t.DimsText}, expected rank {rank}");
            return t;
        }

        var word = Need("embeddings.word_embeddings.weight", 2);
        var pos = Need("embeddings.position_embeddings.weight", 2);
        byName.TryGetValue("embeddings.token_type_embeddings.weight", out var type);
        int hidden = (int)word.Dims[1];
        int layers = CountLayers(byName.Keys);
        if (layers == 0) throw new AttnScopeException("cannot infer the model config from the ONNX graph: no 'encoder.layer.N.' initializers found (pass a config.json)");
        var inter = Need("encoder.layer.0.intermediate.dense.bias", 1);
        int heads = InferHeadCount(g, hidden);
        var biasAdd = FindAddOfBias(g, "encoder.layer.0.intermediate.dense.bias");
        var cfg = new BertConfig
        {
            ModelType = "bert",
            HiddenSize = hidden,
            VocabSize = (int)word.Dims[0],
            MaxPositions = (int)pos.Dims[0],
            TypeVocabSize = type is { Dims.Length: 2 } ? (int)type.Dims[0] : 0,
            NumLayers = layers,
            IntermediateSize = (int)inter.Dims[0],
            NumHeads = heads,
            LayerNormEps = InferLayerNormEps(g),
            HiddenAct = biasAdd is null ? "gelu" : InferActivation(g, biasAdd),
            Origin = InferredOrigin,
        };
        cfg.Validate();
        return cfg;
    }

    // ---- graph helpers ----

    /// <summary>A name a person gave (a dotted module path), not an exporter's number or "onnx::MatMul_123".</summary>
    internal static bool IsMeaningfulName(string name) =>
        name.Contains('.') && !name.StartsWith("onnx::", StringComparison.Ordinal) && !name.All(c => char.IsDigit(c) || c == '.');

    private static bool IsFloat(OnnxDataType t) => t is OnnxDataType.Float or OnnxDataType.Float16 or OnnxDataType.BFloat16 or OnnxDataType.Double;

    /// <summary>The initializer behind a value, following Identity/Cast; also its own name.</summary>
    internal static (OnnxTensor? Tensor, string? Name) ConstantInitializer(OnnxGraph g, string value)
    {
        for (int guard = 0; guard < 16; guard++)
        {
            if (g.Initializer(value) is { } t) return (t, t.Name);
            var p = g.Producer(value);
            if (p is null || !(p.Is("Identity") || p.Is("Cast")) || p.Inputs.Count == 0) return (null, null);
            value = p.Inputs[0];
        }
        return (null, null);
    }

    /// <summary>Values equal to <paramref name="value"/> downstream through Identity/Cast (including itself).</summary>
    private static IEnumerable<string> Aliases(OnnxGraph g, string value)
    {
        yield return value;
        var frontier = new List<string> { value };
        for (int depth = 0; depth < 4 && frontier.Count > 0; depth++)
        {
            var next = new List<string>();
            foreach (var v in frontier)
                foreach (var c in g.Consumers(v))
                    if ((c.Is("Identity") || c.Is("Cast")) && c.Outputs.Count > 0)
                    {
                        next.Add(c.Outputs[0]);
                    }
            foreach (var v in next) yield return v;
            frontier = next;
        }
    }

    /// <summary>The name of a named <c>*.bias</c> initializer added to <paramref name="value"/>, or null.</summary>
    private static string? FindBiasAfter(OnnxGraph g, string value)
    {
        foreach (var v in Aliases(g, value))
            foreach (var add in g.Consumers(v))
            {
                if (!add.Is("Add") || add.Inputs.Count != 2) continue;
                var other = add.Inputs[0] == v ? add.Inputs[1] : add.Inputs[0];
                var (t, name) = ConstantInitializer(g, other);
                if (t is not null && name is not null && IsMeaningfulName(name) && name.EndsWith(".bias", StringComparison.Ordinal) && t.Dims.Length == 1)
                    return name;
            }
        return null;
    }

    private static OnnxNode? FindAddOfBias(OnnxGraph g, string biasName)
    {
        foreach (var t in g.Initializers)
        {
            if (WeightStore.NormalizeName(t.Name) != biasName) continue;
            foreach (var v in Aliases(g, t.Name))
                foreach (var c in g.Consumers(v))
                    if (c.Is("Add")) return c;
        }
        return null;
    }

    private static FloatTensor Transpose(FloatTensor w)
    {
        int rows = w.Shape[0], cols = w.Shape[1];
        var t = new FloatTensor([cols, rows]);
        var src = w.Data;
        var dst = t.Data;
        for (int r = 0; r < rows; r++)
        {
            int ro = r * cols;
            for (int c = 0; c < cols; c++) dst[c * rows + r] = src[ro + c];
        }
        return t;
    }

    /// <summary>
    /// Head count from the Reshape that splits a projection into heads: its target shape ends in [heads, head_dim]
    /// with heads × head_dim = hidden. Falls back to the score scale 1/√head_dim (a Div by √d or a Mul by 1/√d
    /// right before the Softmax).
    /// </summary>
    internal static int InferHeadCount(OnnxGraph g, int hidden)
    {
        var votes = new Dictionary<int, int>();
        foreach (var node in g.Nodes)
        {
            if (!node.Is("Reshape") || node.Inputs.Count < 2) continue;
            var tail = TrailingShapeValues(g, node.Inputs[1], 2);
            if (tail is null) continue;
            long h = tail[0], d = tail[1];
            if (h > 1 && d > 0 && h <= hidden && d <= hidden && h * d == hidden) votes[(int)h] = votes.GetValueOrDefault((int)h) + 1;
        }
        if (votes.Count > 0) return votes.MaxBy(kv => kv.Value).Key;

        foreach (var sm in g.Nodes.Where(n => n.Is("Softmax")))
        {
            var scale = FindScoreScale(g, sm);
            if (scale is null) continue;
            double headDim = 1.0 / (scale.Value * scale.Value);
            int dRounded = (int)Math.Round(headDim);
            if (dRounded > 0 && Math.Abs(headDim - dRounded) < 1e-2 && hidden % dRounded == 0) return hidden / dRounded;
        }
        throw new AttnScopeException("cannot infer the number of attention heads from the ONNX graph: no Reshape to [.., heads, head_dim] and no 1/sqrt(head_dim) scale found (pass a config.json)");
    }

    /// <summary>The factor the attention scores are multiplied by before Softmax (1/√d), if found.</summary>
    internal static double? FindScoreScale(OnnxGraph g, OnnxNode softmax)
    {
        var value = softmax.Inputs[0];
        for (int depth = 0; depth < 4; depth++)
        {
            var p = g.Producer(value);
            if (p is null || p.Inputs.Count < 2) return null;
            if (p.Is("Div") || p.Is("Mul"))
            {
                var c = g.ConstantValue(p.Inputs[1]) ?? (p.Is("Mul") ? g.ConstantValue(p.Inputs[0]) : null);
                if (c is not null && c.ElementCount == 1)
                {
                    double v = c.ToFloatArray()[0];
                    if (v == 0) return null;
                    return p.Is("Div") ? 1.0 / v : v;
                }
            }
            if (p.Is("Add") || p.Is("Where")) { value = p.Is("Where") ? p.Inputs.ElementAtOrDefault(1) ?? "" : p.Inputs[0]; continue; }
            return null;
        }
        return null;
    }

    /// <summary>The last <paramref name="count"/> entries of a shape value, when they are constants.</summary>
    private static long[]? TrailingShapeValues(OnnxGraph g, string shapeValue, int count)
    {
        var c = g.ConstantValue(shapeValue);
        if (c is not null)
        {
            if (c.DataType is not (OnnxDataType.Int64 or OnnxDataType.Int32)) return null;
            var v = c.ToInt64Array();
            return v.Length >= count ? v[^count..] : null;
        }
        var p = g.Producer(shapeValue);
        if (p is null || !p.Is("Concat")) return null;
        var tail = new List<long>();
        for (int i = p.Inputs.Count - 1; i >= 0 && tail.Count < count; i--)
        {
            var part = g.ConstantValue(p.Inputs[i]);
            if (part is null || part.DataType is not (OnnxDataType.Int64 or OnnxDataType.Int32)) return null;
            var v = part.ToInt64Array();
            for (int j = v.Length - 1; j >= 0 && tail.Count < count; j--) tail.Insert(0, v[j]);
        }
        return tail.Count == count ? tail.ToArray() : null;
    }

    /// <summary>LayerNorm epsilon: a LayerNormalization node's attribute, or the constant added to the variance.</summary>
    internal static float InferLayerNormEps(OnnxGraph g)
    {
        foreach (var n in g.Nodes)
            if ((n.OpType is "LayerNormalization" or "SkipLayerNormalization"))
                return n.FloatAttribute("epsilon") ?? 1e-5f;
        // Decomposed: ReduceMean(Pow(x - mean, 2)) + eps -> Sqrt -> Div.
        foreach (var n in g.Nodes)
        {
            if (!n.Is("Add") || n.Inputs.Count != 2) continue;
            for (int i = 0; i < 2; i++)
            {
                var p = g.Producer(n.Inputs[i]);
                if (p is null || !p.Is("ReduceMean")) continue;
                var c = g.ConstantValue(n.Inputs[1 - i]);
                if (c is null || c.ElementCount != 1) continue;
                var sqrtOrDiv = g.Consumers(n.Outputs[0]);
                if (!sqrtOrDiv.Any(x => x.Is("Sqrt") || x.Is("Reciprocal") || x.Is("Pow"))) continue;
                return c.ToFloatArray()[0];
            }
        }
        throw new AttnScopeException("cannot infer the LayerNorm epsilon from the ONNX graph: no LayerNormalization node and no ReduceMean + epsilon pattern found (pass a config.json)");
    }

    /// <summary>The activation between the intermediate bias Add and the next MatMul.</summary>
    private static string InferActivation(OnnxGraph g, OnnxNode intermediateAdd)
    {
        var seen = new HashSet<OnnxNode>();
        var queue = new Queue<OnnxNode>();
        queue.Enqueue(intermediateAdd);
        var ops = new HashSet<string>();
        while (queue.Count > 0 && seen.Count < 40)
        {
            var n = queue.Dequeue();
            if (!seen.Add(n)) continue;
            if (n != intermediateAdd && (n.Is("MatMul") || n.Is("Gemm"))) continue;
            ops.Add(n.OpType);
            if (n.OpType is "Gelu" && n.Attribute("approximate") is { } a && a.StringValue == "tanh") ops.Add("Tanh");
            foreach (var o in n.Outputs) foreach (var c in g.Consumers(o)) queue.Enqueue(c);
        }
        if (ops.Contains("Tanh") || ops.Contains("FastGelu")) return "gelu_new";
        if (ops.Contains("Erf") || ops.Contains("Gelu") || ops.Contains("BiasGelu")) return "gelu";
        if (ops.Contains("Relu")) return "relu";
        throw new AttnScopeException($"cannot infer the activation from the ONNX graph (ops after the intermediate layer: {string.Join(", ", ops)}); pass a config.json");
    }
}
