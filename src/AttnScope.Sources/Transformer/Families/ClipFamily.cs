using AttnScope.Capture;
using AttnScope.Sources.Models;

namespace AttnScope.Sources.Transformer.Families;

/// <summary>What a CLIP config says beyond its two stacks: image and patch size, projection width, the EOS rule.</summary>
internal sealed record ClipConfig
{
    public required int ImageSize { get; init; }
    public required int PatchSize { get; init; }
    public required int ProjectionDim { get; init; }
    /// <summary>The text tower's EOS id; 2 means the original CLIP's rule (pool at the largest input id), as Hugging Face keeps it.</summary>
    public required int EosId { get; init; }
    public int Grid => ImageSize / PatchSize;
    /// <summary>[CLS] then the patches.</summary>
    public int ImageTokens => 1 + Grid * Grid;
}

/// <summary>The CLIP tensors beside the core's: patch convolution, class embedding, post_layernorm, projections, logit scale.</summary>
internal sealed class ClipTensors
{
    /// <summary>[hidden, 3·patch·patch]: the patch convolution (no bias) as a linear map over a flattened patch (channel, row, column).</summary>
    public required float[] PatchWeight { get; init; }
    public required float[] ClassEmbedding { get; init; }
    public required float[] PostNormGain { get; init; }
    public required float[] PostNormBias { get; init; }
    /// <summary>[projection, vision hidden] and [projection, text hidden], no bias.</summary>
    public required float[] VisualProjection { get; init; }
    public required float[] TextProjection { get; init; }
    /// <summary>log of the similarity's temperature: similarity = exp(LogitScale)·cos.</summary>
    public required float LogitScale { get; init; }
}

/// <summary>
/// CLIP (Hugging Face's <c>clip</c>, CLIPModel): two stacks on the core. The vision tower is pre-norm LayerNorm with
/// an embedding norm (<c>pre_layrnorm</c>) after the class embedding, bias-free patch convolution and learned
/// positions, and no final norm (<c>post_layernorm</c> is applied to the class token by the model); the text tower is
/// causal, pre-norm, token + learned positions, <c>final_layer_norm</c> as the core's final norm. Both use the MLP
/// activation of their config (<c>quick_gelu</c> in OpenAI's checkpoints).
/// </summary>
internal static class ClipFamily
{
    public static readonly string[] ModelTypes = ["clip"];

    public static (TransformerSpec Text, TransformerSpec Vision, ClipConfig Clip) ReadConfig(ConfigJson c)
    {
        string type = c.String("model_type") ?? throw new AttnScopeException($"{c.Origin} has no model_type");
        if (!ModelTypes.Contains(type)) throw new AttnScopeException($"{c.Origin}: model_type '{type}' is not CLIP");
        var tc = c.Object("text_config") ?? throw new AttnScopeException($"{c.Origin} has no text_config");
        var vc = c.Object("vision_config") ?? throw new AttnScopeException($"{c.Origin} has no vision_config");
        int image = vc.Int("image_size", 224), patch = vc.Int("patch_size", 32), channels = vc.Int("num_channels", 3);
        if (patch is < 1 or > 1024 || image is < 1 or > 16384 || image % patch != 0)
            throw new AttnScopeException($"{vc.Origin}: image_size {image} must be a positive multiple of patch_size {patch} (patch 1…1024, image at most 16384)");
        if (channels != 3) throw new AttnScopeException($"{vc.Origin}: num_channels {channels} is not supported (RGB images: 3)");
        int grid = image / patch;
        if ((long)grid * grid + 1 > TransformerSpec.MaxPositionLimit) throw new AttnScopeException($"{vc.Origin}: {grid}×{grid} patches are too many");
        int proj = c.IntOrNull("projection_dim") ?? tc.Int("projection_dim", 512);
        if (proj is < 1 or > TransformerSpec.MaxWidth) throw new AttnScopeException($"{c.Origin}: projection_dim {proj} (must be 1..{TransformerSpec.MaxWidth})");
        var clip = new ClipConfig { ImageSize = image, PatchSize = patch, ProjectionDim = proj, EosId = tc.Int("eos_token_id", 2) };
        TransformerSpec Stack(ConfigJson s, string family, bool text)
        {
            int d = s.Required("hidden_size"), heads = s.Required("num_attention_heads");
            if (heads <= 0 || d % heads != 0) throw new AttnScopeException($"{s.Origin}: hidden_size {d} is not divisible by num_attention_heads {heads}");
            var spec = new TransformerSpec
            {
                Family = family, Layers = s.Required("num_hidden_layers"), Hidden = d, Heads = heads, KvHeads = heads, HeadDim = d / heads,
                Intermediate = s.Required("intermediate_size"),
                Vocab = text ? s.Required("vocab_size") : 1,
                MaxPositions = text ? s.Int("max_position_embeddings", 77) : clip.ImageTokens,
                Norm = NormKind.LayerNorm, Placement = NormPlacement.Pre, NormEps = s.Float("layer_norm_eps", 1e-5f),
                EmbeddingNorm = !text, FinalNorm = text,
                Positions = PositionKind.Learned, Causal = text, Activation = s.String("hidden_act") ?? "quick_gelu",
                EosId = text ? clip.EosId : null,
            };
            spec.Validate(s.Origin);
            return spec;
        }
        return (Stack(tc, "clip-text", true), Stack(vc, "clip-vision", false), clip);
    }

    /// <summary>Maps CLIPModel's weight names onto the two stacks' core tensors and the CLIP ones; every shape checked.</summary>
    public static (CoreTensors Text, CoreTensors Vision, ClipTensors Clip) MapWeights(TransformerSpec ts, TransformerSpec vs, ClipConfig cc, WeightStore w)
    {
        float[] Get(string name, params int[] shape)
        {
            var data = w.Get(name, shape).Data;
            int bad = Array.FindIndex(data, x => !float.IsFinite(x));
            if (bad >= 0) throw new AttnScopeException($"weights from {w.Origin}: '{name}' holds {data[bad]} (element {bad}); the model cannot be run");
            return data;
        }
        CoreLayerTensors[] Layers(string prefix, TransformerSpec s)
        {
            int d = s.Hidden, inter = s.Intermediate;
            var layers = new CoreLayerTensors[s.Layers];
            for (int l = 0; l < s.Layers; l++)
            {
                string q = $"{prefix}.encoder.layers.{l}.";
                layers[l] = new CoreLayerTensors
                {
                    Query = Get(q + "self_attn.q_proj.weight", d, d), QueryBias = Get(q + "self_attn.q_proj.bias", d),
                    Key = Get(q + "self_attn.k_proj.weight", d, d), KeyBias = Get(q + "self_attn.k_proj.bias", d),
                    Value = Get(q + "self_attn.v_proj.weight", d, d), ValueBias = Get(q + "self_attn.v_proj.bias", d),
                    Output = Get(q + "self_attn.out_proj.weight", d, d), OutputBias = Get(q + "self_attn.out_proj.bias", d),
                    Norm1Gain = Get(q + "layer_norm1.weight", d), Norm1Bias = Get(q + "layer_norm1.bias", d),
                    Norm2Gain = Get(q + "layer_norm2.weight", d), Norm2Bias = Get(q + "layer_norm2.bias", d),
                    Up = Get(q + "mlp.fc1.weight", inter, d), UpBias = Get(q + "mlp.fc1.bias", inter),
                    Down = Get(q + "mlp.fc2.weight", d, inter), DownBias = Get(q + "mlp.fc2.bias", d),
                };
            }
            return layers;
        }
        int dt = ts.Hidden, dv = vs.Hidden, p = cc.PatchSize;
        var text = new CoreTensors
        {
            TokenEmbeddings = Get("text_model.embeddings.token_embedding.weight", ts.Vocab, dt),
            PositionEmbeddings = Get("text_model.embeddings.position_embedding.weight", ts.MaxPositions, dt),
            Layers = Layers("text_model", ts),
            FinalNormGain = Get("text_model.final_layer_norm.weight", dt), FinalNormBias = Get("text_model.final_layer_norm.bias", dt),
        };
        var vision = new CoreTensors
        {
            TokenEmbeddings = new float[dv],
            PositionEmbeddings = Get("vision_model.embeddings.position_embedding.weight", cc.ImageTokens, dv),
            Layers = Layers("vision_model", vs),
            EmbeddingNormGain = Get("vision_model.pre_layrnorm.weight", dv), EmbeddingNormBias = Get("vision_model.pre_layrnorm.bias", dv),
        };
        var scale = w.Get("logit_scale");
        if (scale.Data.Length != 1 || scale.Rank > 1) throw new AttnScopeException($"weights from {w.Origin}: 'logit_scale' has shape {scale.ShapeText}, expected a scalar");
        if (!float.IsFinite(scale.Data[0]) || scale.Data[0] > 80) throw new AttnScopeException($"weights from {w.Origin}: logit_scale {scale.Data[0]} is not a usable log scale");
        var clip = new ClipTensors
        {
            PatchWeight = Get("vision_model.embeddings.patch_embedding.weight", dv, 3, p, p),
            ClassEmbedding = Get("vision_model.embeddings.class_embedding", dv),
            PostNormGain = Get("vision_model.post_layernorm.weight", dv), PostNormBias = Get("vision_model.post_layernorm.bias", dv),
            VisualProjection = Get("visual_projection.weight", cc.ProjectionDim, dv),
            TextProjection = Get("text_projection.weight", cc.ProjectionDim, dt),
            LogitScale = scale.Data[0],
        };
        return (text, vision, clip);
    }
}
