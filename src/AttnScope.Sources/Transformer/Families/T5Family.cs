using AttnScope.Capture;
using AttnScope.Sources.Models;

namespace AttnScope.Sources.Transformer.Families;

/// <summary>
/// T5 encoder-decoders (t5, t5 v1.1 / flan-t5, mt5) over the core: pre-norm RMSNorm blocks without biases, no
/// position embeddings but learned relative-position biases on the self-attention scores (one [buckets, heads] table per
/// stack, held by block 0 and shared by all blocks; none on the cross-attention), scores not scaled by 1/√d (T5 folds
/// that into its initialisation), a final norm per stack, one shared embedding table, and a head tied to it with the
/// hidden state scaled by d_model^−½ (t5) or its own untied head (v1.1). The MLP is <c>feed_forward_proj</c>:
/// <c>relu</c> (wi, wo) or <c>gated-gelu</c> (gelu_new(wi_0 x)·wi_1 x, then wo), or another <c>gated-ACT</c>.
/// Weights in Hugging Face's names (<c>encoder.block.{l}.layer.0.SelfAttention.q.weight</c>, …).
/// </summary>
internal static class T5Family
{
    public static readonly string[] ModelTypes = ["t5", "mt5"];

    public static bool IsT5(string? modelType) => modelType is not null && ModelTypes.Contains(modelType);

    /// <summary>The MLP of <c>feed_forward_proj</c>: the core's activation name and whether it is gated.</summary>
    internal static (string Activation, bool Gated) FeedForward(ConfigJson c)
    {
        string proj = c.String("feed_forward_proj") ?? "relu";
        bool gated = proj.StartsWith("gated-", StringComparison.Ordinal);
        string act = gated ? proj["gated-".Length..] : proj;
        // Hugging Face's T5 reads "gated-gelu" as the tanh approximation (gelu_new), as the original checkpoints were trained
        if (proj == "gated-gelu") act = "gelu_new";
        act = act switch { "swish" => "silu", _ => act };
        if (act is not ("relu" or "gelu" or "gelu_new" or "gelu_pytorch_tanh" or "silu"))
            throw new AttnScopeException($"{c.Origin}: feed_forward_proj '{proj}' is not supported (relu, gated-gelu, gated-silu, gated-relu, gelu)");
        return (act, gated);
    }

    /// <summary>The encoder's or the decoder's spec of a T5 config.</summary>
    internal static TransformerSpec Stack(ConfigJson c, bool decoder)
    {
        int d = c.Required("d_model"), heads = c.Required("num_heads"), dkv = c.Required("d_kv");
        int encoderLayers = c.Required("num_layers");
        var (act, gated) = FeedForward(c);
        bool tied = c.Bool("tie_word_embeddings", true);
        return new TransformerSpec
        {
            Family = "t5",
            Layers = decoder ? c.Int("num_decoder_layers", encoderLayers) : encoderLayers,
            Hidden = d, Heads = heads, KvHeads = heads, HeadDim = dkv,
            Intermediate = c.Required("d_ff"), Vocab = c.Required("vocab_size"),
            // relative positions set no length limit; n_positions only names the pre-training length
            MaxPositions = Math.Max(c.Int("n_positions", 512), 8192),
            Norm = NormKind.RmsNorm, Placement = NormPlacement.Pre, NormEps = c.Float("layer_norm_epsilon", 1e-6f), FinalNorm = true,
            Positions = PositionKind.RelativeBias,
            RelativeBuckets = c.Int("relative_attention_num_buckets", 32), RelativeMaxDistance = c.Int("relative_attention_max_distance", 128),
            AttentionScale = 1f,
            AttentionBias = false, OutputBias = false, MlpBias = false,
            Activation = act, GatedMlp = gated,
            Causal = decoder, CrossAttention = decoder,
            LmHead = decoder, TiedHead = decoder && tied,
            LogitScale = decoder && tied ? 1f / MathF.Sqrt(d) : 1f,
            EosId = c.TokenId("eos_token_id"),
        };
    }

    /// <summary>The core's tensors of one T5 stack under Hugging Face's names, read through <paramref name="get"/>.</summary>
    internal static CoreTensors Tensors(TransformerSpec s, string stack, float[] shared, Func<string, int[], float[]> get, float[]? unembedding = null)
    {
        int d = s.Hidden, inner = s.QueryWidth, ff = s.Intermediate;
        bool decoder = s.CrossAttention;
        CoreLayerTensors Layer(int l)
        {
            string p = $"{stack}.block.{l}.layer.";
            string mlp = p + (decoder ? "2" : "1") + ".";
            string a = p + "0.SelfAttention.";
            string x = p + "1.EncDecAttention.";
            return new CoreLayerTensors
            {
                Query = get(a + "q.weight", [inner, d]), Key = get(a + "k.weight", [inner, d]), Value = get(a + "v.weight", [inner, d]),
                Output = get(a + "o.weight", [d, inner]),
                Norm1Gain = get(p + "0.layer_norm.weight", [d]),
                CrossQuery = decoder ? get(x + "q.weight", [inner, d]) : null,
                CrossKey = decoder ? get(x + "k.weight", [inner, d]) : null,
                CrossValue = decoder ? get(x + "v.weight", [inner, d]) : null,
                CrossOutput = decoder ? get(x + "o.weight", [d, inner]) : null,
                CrossNormGain = decoder ? get(p + "1.layer_norm.weight", [d]) : null,
                Gate = s.GatedMlp ? get(mlp + "DenseReluDense.wi_0.weight", [ff, d]) : null,
                Up = get(mlp + (s.GatedMlp ? "DenseReluDense.wi_1.weight" : "DenseReluDense.wi.weight"), [ff, d]),
                Down = get(mlp + "DenseReluDense.wo.weight", [d, ff]),
                Norm2Gain = get(mlp + "layer_norm.weight", [d]),
            };
        }
        return new CoreTensors
        {
            TokenEmbeddings = shared,
            RelativeBias = get($"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight", [s.RelativeBuckets, s.Heads]),
            Layers = Enumerable.Range(0, s.Layers).Select(Layer).ToArray(),
            FinalNormGain = get($"{stack}.final_layer_norm.weight", [d]),
            Unembedding = unembedding,
        };
    }

    /// <summary>The name of the shared embedding table a file holds (<c>shared.weight</c>, else the encoder's copy).</summary>
    internal static string SharedName(WeightStore w) => w.Contains("shared.weight") ? "shared.weight" : "encoder.embed_tokens.weight";

    public static EncoderDecoderModel Load(string configPath, WeightStore w)
    {
        var c = ConfigJson.Parse(ModelFamilies.ReadConfigText(configPath), configPath);
        if (!IsT5(c.String("model_type"))) throw new AttnScopeException($"{configPath}: model_type is not one of {string.Join(", ", ModelTypes)}");
        var enc = Stack(c, decoder: false);
        var dec = Stack(c, decoder: true);
        enc.Validate(configPath);
        dec.Validate(configPath);
        float[] Get(string name, int[] shape) => w.Get(name, shape).Data;
        var shared = Get(SharedName(w), [enc.Vocab, enc.Hidden]);
        var head = dec.TiedHead ? null : Get("lm_head.weight", [dec.Vocab, dec.Hidden]);
        var encoder = new TransformerModel(enc, Tensors(enc, "encoder", shared, Get), w.Origin);
        var decoder = new TransformerModel(dec, Tensors(dec, "decoder", shared, Get, head), w.Origin);
        return new EncoderDecoderModel
        {
            Encoder = encoder, Decoder = decoder,
            DecoderStartId = c.TokenId("decoder_start_token_id") ?? c.TokenId("pad_token_id") ?? 0,
            EosId = c.TokenId("eos_token_id") ?? 1,
        };
    }
}
