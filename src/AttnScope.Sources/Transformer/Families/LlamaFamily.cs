using AttnScope.Capture;
using AttnScope.Sources.Models;

namespace AttnScope.Sources.Transformer.Families;

/// <summary>
/// Llama and its close relatives — Mistral (sliding window), Qwen2 (biased Q/K/V), SmolLM (a Llama) — over the
/// core: pre-norm RMSNorm blocks, rotary positions (with linear or Llama-3 frequency scaling), causal grouped-query
/// attention, a SwiGLU MLP, a final norm, an untied or tied head.
/// </summary>
internal sealed class LlamaFamily : IModelFamily
{
    public string Name => "llama";
    public IReadOnlyList<string> ModelTypes { get; } = ["llama", "mistral", "qwen2"];

    public TransformerSpec ReadConfig(ConfigJson c)
    {
        string type = c.String("model_type") ?? "llama";
        int d = c.Required("hidden_size"), heads = c.Required("num_attention_heads");
        if (heads <= 0) throw new AttnScopeException($"{c.Origin}: num_attention_heads {heads} must be positive");
        int headDim = c.IntOrNull("head_dim") ?? (d % heads == 0 ? d / heads : throw new AttnScopeException($"{c.Origin}: hidden_size {d} is not divisible by num_attention_heads {heads} and there is no head_dim"));
        int? window = type switch
        {
            "mistral" => c.IntOrNull("sliding_window"),
            "qwen2" => c.Bool("use_sliding_window", false) ? c.IntOrNull("sliding_window") : null,
            _ => null,
        };
        if (type == "qwen2" && window is not null && c.Int("max_window_layers", 0) < c.Required("num_hidden_layers"))
            throw new AttnScopeException($"{c.Origin}: sliding windows on only some layers (max_window_layers) are not supported");
        bool qkvBias = type == "qwen2" || c.Bool("attention_bias", false);
        return new TransformerSpec
        {
            Family = type,
            Layers = c.Required("num_hidden_layers"), Hidden = d, Heads = heads, KvHeads = c.Int("num_key_value_heads", heads),
            HeadDim = headDim, Intermediate = c.Required("intermediate_size"), Vocab = c.Required("vocab_size"),
            MaxPositions = c.Int("max_position_embeddings", 2048),
            Norm = NormKind.RmsNorm, Placement = NormPlacement.Pre, NormEps = c.Float("rms_norm_eps", 1e-6f), FinalNorm = true,
            Positions = PositionKind.Rotary, Rope = ReadRope(c, headDim), Causal = true, SlidingWindow = window,
            Activation = c.String("hidden_act") ?? "silu", GatedMlp = true,
            AttentionBias = qkvBias, OutputBias = type != "qwen2" && c.Bool("attention_bias", false), MlpBias = c.Bool("mlp_bias", false),
            LmHead = true, TiedHead = c.Bool("tie_word_embeddings", false),
            BosId = c.TokenId("bos_token_id"), EosId = c.TokenId("eos_token_id"),
        };
    }

    private static RopeSpec ReadRope(ConfigJson c, int headDim)
    {
        float partial = c.Float("partial_rotary_factor", 1f);
        var rope = new RopeSpec { Theta = c.Float("rope_theta", 10000f), RotaryDim = (int)(headDim * partial) };
        var scaling = c.Object("rope_scaling");
        if (scaling is null) return rope;
        string kind = scaling.String("rope_type") ?? scaling.String("type") ?? "default";
        return rope with
        {
            Scaling = kind,
            Factor = scaling.Float("factor", 1f),
            LowFreqFactor = scaling.Float("low_freq_factor", 1f),
            HighFreqFactor = scaling.Float("high_freq_factor", 4f),
            OriginalMaxPositions = scaling.Int("original_max_position_embeddings", 8192),
        };
    }

    public CoreTensors MapWeights(TransformerSpec s, WeightStore w)
    {
        int d = s.Hidden, q = s.QueryWidth, kv = s.KvWidth, inter = s.Intermediate;
        float[] Get(string name, params int[] shape) => w.Get(name, shape).Data;
        float[]? Opt(string name, params int[] shape) => w.Contains(name) ? w.Get(name, shape).Data : null;
        var layers = new CoreLayerTensors[s.Layers];
        for (int l = 0; l < s.Layers; l++)
        {
            string p = $"model.layers.{l}.";
            layers[l] = new CoreLayerTensors
            {
                Query = Get(p + "self_attn.q_proj.weight", q, d), QueryBias = s.AttentionBias ? Get(p + "self_attn.q_proj.bias", q) : null,
                Key = Get(p + "self_attn.k_proj.weight", kv, d), KeyBias = s.AttentionBias ? Get(p + "self_attn.k_proj.bias", kv) : null,
                Value = Get(p + "self_attn.v_proj.weight", kv, d), ValueBias = s.AttentionBias ? Get(p + "self_attn.v_proj.bias", kv) : null,
                Output = Get(p + "self_attn.o_proj.weight", d, q), OutputBias = s.OutputBias ? Get(p + "self_attn.o_proj.bias", d) : null,
                Norm1Gain = Get(p + "input_layernorm.weight", d), Norm2Gain = Get(p + "post_attention_layernorm.weight", d),
                Gate = Get(p + "mlp.gate_proj.weight", inter, d), GateBias = s.MlpBias ? Opt(p + "mlp.gate_proj.bias", inter) : null,
                Up = Get(p + "mlp.up_proj.weight", inter, d), UpBias = s.MlpBias ? Opt(p + "mlp.up_proj.bias", inter) : null,
                Down = Get(p + "mlp.down_proj.weight", d, inter), DownBias = s.MlpBias ? Opt(p + "mlp.down_proj.bias", d) : null,
            };
        }
        float[]? head = null;
        if (!s.TiedHead) head = Get("lm_head.weight", s.Vocab, d);
        return new CoreTensors
        {
            TokenEmbeddings = Get("model.embed_tokens.weight", s.Vocab, d), Layers = layers,
            FinalNormGain = Get("model.norm.weight", d), Unembedding = head,
        };
    }
}
