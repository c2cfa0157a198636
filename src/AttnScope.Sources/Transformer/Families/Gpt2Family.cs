using AttnScope.Capture;
using AttnScope.Sources.Models;

namespace AttnScope.Sources.Transformer.Families;

/// <summary>
/// GPT-2 (and DistilGPT-2): pre-norm LayerNorm blocks, learned positions, causal multi-head attention, a tanh-GELU
/// MLP, the head tied to the token embeddings. Checkpoints store linear weights as Conv1D [in, out], with or
/// without the <c>transformer.</c> prefix; the map transposes them into the core's [out, in].
/// </summary>
internal sealed class Gpt2Family : IModelFamily
{
    public string Name => "gpt2";
    public IReadOnlyList<string> ModelTypes { get; } = ["gpt2"];

    public TransformerSpec ReadConfig(ConfigJson c)
    {
        int d = c.Required("n_embd", "hidden_size"), heads = c.Required("n_head", "num_attention_heads");
        if (heads <= 0 || d % heads != 0) throw new AttnScopeException($"{c.Origin}: n_embd {d} is not divisible by n_head {heads}");
        if (c.Bool("scale_attn_by_inverse_layer_idx", false) || c.Bool("reorder_and_upcast_attn", false))
            throw new AttnScopeException($"{c.Origin}: scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported");
        if (!c.Bool("scale_attn_weights", true)) throw new AttnScopeException($"{c.Origin}: scale_attn_weights false is not supported");
        return new TransformerSpec
        {
            Family = Name,
            Layers = c.Required("n_layer", "num_hidden_layers"), Hidden = d, Heads = heads, KvHeads = heads, HeadDim = d / heads,
            Intermediate = c.IntOrNull("n_inner") ?? 4 * d, Vocab = c.Required("vocab_size"),
            MaxPositions = c.Required("n_positions", "max_position_embeddings"),
            Norm = NormKind.LayerNorm, Placement = NormPlacement.Pre, NormEps = c.Float("layer_norm_epsilon", 1e-5f), FinalNorm = true,
            Positions = PositionKind.Learned, Causal = true,
            Activation = c.String("activation_function") ?? "gelu_new",
            LmHead = true, TiedHead = c.Bool("tie_word_embeddings", true),
            BosId = c.TokenId("bos_token_id"), EosId = c.TokenId("eos_token_id"),
        };
    }

    public CoreTensors MapWeights(TransformerSpec s, WeightStore w)
    {
        string prefix = w.Contains("transformer.wte.weight") ? "transformer." : "";
        int d = s.Hidden, inter = s.Intermediate;
        float[] Get(string name, params int[] shape) => w.Get(prefix + name, shape).Data;
        var layers = new CoreLayerTensors[s.Layers];
        for (int l = 0; l < s.Layers; l++)
        {
            string p = $"h.{l}.";
            var qkv = Transpose(Get(p + "attn.c_attn.weight", d, 3 * d), d, 3 * d); // [3d, d]
            var qkvBias = Get(p + "attn.c_attn.bias", 3 * d);
            layers[l] = new CoreLayerTensors
            {
                Query = qkv[..(d * d)], Key = qkv[(d * d)..(2 * d * d)], Value = qkv[(2 * d * d)..],
                QueryBias = qkvBias[..d], KeyBias = qkvBias[d..(2 * d)], ValueBias = qkvBias[(2 * d)..],
                Output = Transpose(Get(p + "attn.c_proj.weight", d, d), d, d), OutputBias = Get(p + "attn.c_proj.bias", d),
                Norm1Gain = Get(p + "ln_1.weight", d), Norm1Bias = Get(p + "ln_1.bias", d),
                Norm2Gain = Get(p + "ln_2.weight", d), Norm2Bias = Get(p + "ln_2.bias", d),
                Up = Transpose(Get(p + "mlp.c_fc.weight", d, inter), d, inter), UpBias = Get(p + "mlp.c_fc.bias", inter),
                Down = Transpose(Get(p + "mlp.c_proj.weight", inter, d), inter, d), DownBias = Get(p + "mlp.c_proj.bias", d),
            };
        }
        float[]? head = null;
        if (!s.TiedHead) head = w.Get("lm_head.weight", s.Vocab, d).Data;
        return new CoreTensors
        {
            TokenEmbeddings = Get("wte.weight", s.Vocab, d), PositionEmbeddings = Get("wpe.weight", s.MaxPositions, d),
            Layers = layers, FinalNormGain = Get("ln_f.weight", d), FinalNormBias = Get("ln_f.bias", d), Unembedding = head,
        };
    }

    /// <summary>[rows, cols] → [cols, rows] (the engine's blocked transpose).</summary>
    internal static unsafe float[] Transpose(float[] a, int rows, int cols)
    {
        var t = new float[a.Length];
        fixed (float* src = a, dst = t) Engine.MatOps.Transpose(src, rows, cols, dst);
        return t;
    }
}
