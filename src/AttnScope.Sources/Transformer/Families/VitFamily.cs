using AttnScope.Capture;
using AttnScope.Sources.Models;

namespace AttnScope.Sources.Transformer.Families;

/// <summary>What a ViT / DeiT config says beyond the stack: image and patch size, the distillation token, labels.</summary>
internal sealed record VitConfig
{
    public required string ModelType { get; init; }
    public required int ImageSize { get; init; }
    public required int PatchSize { get; init; }
    public required int Channels { get; init; }
    /// <summary>DeiT: a distillation token after the class token.</summary>
    public required bool Distillation { get; init; }
    /// <summary>Class names by index (id2label), empty when the config has none.</summary>
    public required IReadOnlyList<string> Labels { get; init; }
    public int Grid => ImageSize / PatchSize;
    /// <summary>[CLS] (and [DIST]) before the patches.</summary>
    public int SpecialTokens => Distillation ? 2 : 1;
    public int Tokens => SpecialTokens + Grid * Grid;
}

/// <summary>The patch embedding and classifier tensors of a ViT / DeiT, beside the core's.</summary>
internal sealed class VitTensors
{
    /// <summary>[hidden, channels·patch·patch]: the patch convolution as a linear map over a flattened patch (channel, row, column).</summary>
    public required float[] PatchWeight { get; init; }
    public required float[] PatchBias { get; init; }
    public required float[] ClassToken { get; init; }
    public float[]? DistillationToken { get; init; }
    /// <summary>Classifier heads (weight [labels, hidden], bias, the token they read); DeiT's teacher model averages two.</summary>
    public required IReadOnlyList<(float[] Weight, float[] Bias, int Token)> Classifiers { get; init; }
}

/// <summary>
/// ViT and DeiT (Hugging Face's <c>vit</c> / <c>deit</c>): pre-norm LayerNorm blocks (layernorm_before / _after),
/// bidirectional attention, GELU MLP, a final layernorm, learned positions over [CLS] ([DIST]) and the patches. The
/// family computes the patch embeddings and the class and distillation tokens and hands them to the core as input
/// rows; the core adds the positions. Weight names are Hugging Face's, with or without the <c>vit.</c> / <c>deit.</c>
/// prefix; classifier heads (<c>classifier</c>, or DeiT's <c>cls_classifier</c> + <c>distillation_classifier</c>) are optional.
/// </summary>
internal static class VitFamily
{
    public static readonly string[] ModelTypes = ["vit", "deit"];

    public static (TransformerSpec Spec, VitConfig Vit) ReadConfig(ConfigJson c)
    {
        string type = c.String("model_type") ?? throw new AttnScopeException($"{c.Origin} has no model_type");
        if (!ModelTypes.Contains(type)) throw new AttnScopeException($"{c.Origin}: model_type '{type}' is not a vision family AttnScope runs (vit, deit)");
        int d = c.Required("hidden_size"), heads = c.Required("num_attention_heads");
        if (heads <= 0 || d % heads != 0) throw new AttnScopeException($"{c.Origin}: hidden_size {d} is not divisible by num_attention_heads {heads}");
        int image = c.Int("image_size", 224), patch = c.Int("patch_size", 16), channels = c.Int("num_channels", 3);
        if (patch is < 1 or > 1024 || image is < 1 or > 16384 || image % patch != 0)
            throw new AttnScopeException($"{c.Origin}: image_size {image} must be a positive multiple of patch_size {patch} (patch 1…1024, image at most 16384)");
        if (channels != 3) throw new AttnScopeException($"{c.Origin}: num_channels {channels} is not supported (RGB images: 3)");
        bool dist = type == "deit";
        int grid = image / patch;
        if ((long)grid * grid + 2 > TransformerSpec.MaxPositionLimit) throw new AttnScopeException($"{c.Origin}: {grid}×{grid} patches are too many");
        var labels = new List<string>();
        if (c.Object("id2label") is { } map)
            for (int i = 0; i < 100_000 && map.String(i.ToString(System.Globalization.CultureInfo.InvariantCulture)) is { } name; i++) labels.Add(name);
        var vit = new VitConfig { ModelType = type, ImageSize = image, PatchSize = patch, Channels = channels, Distillation = dist, Labels = labels };
        var spec = new TransformerSpec
        {
            Family = type,
            Layers = c.Required("num_hidden_layers"), Hidden = d, Heads = heads, KvHeads = heads, HeadDim = d / heads,
            Intermediate = c.Required("intermediate_size"), Vocab = 1, MaxPositions = vit.Tokens,
            Norm = NormKind.LayerNorm, Placement = NormPlacement.Pre, NormEps = c.Float("layer_norm_eps", 1e-12f), FinalNorm = true,
            Positions = PositionKind.Learned, Causal = false, Activation = c.String("hidden_act") ?? "gelu",
            AttentionBias = c.Bool("qkv_bias", true),
        };
        spec.Validate(c.Origin);
        return (spec, vit);
    }

    /// <summary>Maps the weights: the core's tensors (a one-row zero token table stands in for the vocabulary) and the vision ones.</summary>
    public static (CoreTensors Core, VitTensors Vision) MapWeights(TransformerSpec s, VitConfig v, WeightStore w)
    {
        string prefix = w.Contains(v.ModelType + ".embeddings.cls_token") ? v.ModelType + "." : "";
        int d = s.Hidden, inter = s.Intermediate, p = v.PatchSize;
        float[] Get(string name, params int[] shape)
        {
            var data = w.Get(prefix + name, shape).Data;
            int bad = Array.FindIndex(data, x => !float.IsFinite(x));
            if (bad >= 0) throw new AttnScopeException($"weights from {w.Origin}: '{prefix + name}' holds {data[bad]} (element {bad}); the model cannot be run");
            return data;
        }
        float[]? Bias(string name, int n) => s.AttentionBias ? Get(name, n) : null;
        var layers = new CoreLayerTensors[s.Layers];
        for (int l = 0; l < s.Layers; l++)
        {
            string q = $"encoder.layer.{l}.";
            layers[l] = new CoreLayerTensors
            {
                Query = Get(q + "attention.attention.query.weight", d, d), QueryBias = Bias(q + "attention.attention.query.bias", d),
                Key = Get(q + "attention.attention.key.weight", d, d), KeyBias = Bias(q + "attention.attention.key.bias", d),
                Value = Get(q + "attention.attention.value.weight", d, d), ValueBias = Bias(q + "attention.attention.value.bias", d),
                Output = Get(q + "attention.output.dense.weight", d, d), OutputBias = Get(q + "attention.output.dense.bias", d),
                Norm1Gain = Get(q + "layernorm_before.weight", d), Norm1Bias = Get(q + "layernorm_before.bias", d),
                Norm2Gain = Get(q + "layernorm_after.weight", d), Norm2Bias = Get(q + "layernorm_after.bias", d),
                Up = Get(q + "intermediate.dense.weight", inter, d), UpBias = Get(q + "intermediate.dense.bias", inter),
                Down = Get(q + "output.dense.weight", d, inter), DownBias = Get(q + "output.dense.bias", d),
            };
        }
        var core = new CoreTensors
        {
            TokenEmbeddings = new float[d],
            PositionEmbeddings = Get("embeddings.position_embeddings", 1, v.Tokens, d),
            Layers = layers, FinalNormGain = Get("layernorm.weight", d), FinalNormBias = Get("layernorm.bias", d),
        };
        var heads = new List<(float[], float[], int)>();
        int labels = v.Labels.Count;
        (float[], float[], int)? Head(string name, int token)
        {
            if (!w.Contains(name + ".weight")) return null;
            var t = w.Get(name + ".weight");
            if (t.Rank != 2 || t.Shape[1] != d || (labels > 0 && t.Shape[0] != labels))
                throw new AttnScopeException($"weights from {w.Origin}: '{name}.weight' has shape {t.ShapeText}, expected [{(labels > 0 ? labels : "labels")}, {d}]");
            return (t.Data, w.Get(name + ".bias", t.Shape[0]).Data, token);
        }
        if (Head("classifier", 0) is { } single) heads.Add(single);
        else if (v.Distillation && Head("cls_classifier", 0) is { } a && Head("distillation_classifier", 1) is { } b) { heads.Add(a); heads.Add(b); }
        var vision = new VitTensors
        {
            PatchWeight = Get("embeddings.patch_embeddings.projection.weight", d, v.Channels, p, p),
            PatchBias = Get("embeddings.patch_embeddings.projection.bias", d),
            ClassToken = Get("embeddings.cls_token", 1, 1, d),
            DistillationToken = v.Distillation ? Get("embeddings.distillation_token", 1, 1, d) : null,
            Classifiers = heads,
        };
        return (core, vision);
    }
}
