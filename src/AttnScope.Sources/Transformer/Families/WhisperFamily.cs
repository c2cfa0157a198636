using AttnScope.Capture;
using AttnScope.Sources.Models;

namespace AttnScope.Sources.Transformer.Families;

/// <summary>What a Whisper config says beyond the two stacks: mel bands, encoder frames, the decoder's start token.</summary>
internal sealed record WhisperConfig
{
    public required int MelBins { get; init; }
    /// <summary>Encoder positions (1500 for every released Whisper): the encoder reads 2× as many mel frames.</summary>
    public required int SourcePositions { get; init; }
    public required int DecoderStartId { get; init; }
    public int? EosId { get; init; }
    /// <summary>Mel frames the encoder reads (2 × <see cref="SourcePositions"/>; 3000 = 30 s).</summary>
    public int MelFrames => 2 * SourcePositions;
    /// <summary>Audio samples at 16 kHz that make <see cref="MelFrames"/> (480000 = 30 s for real Whisper).</summary>
    public int Samples => MelFrames * Audio.LogMel.Hop;
}

/// <summary>The encoder's two convolutions, beside the core's tensors: weight [out, in, 3] as PyTorch's Conv1d stores them.</summary>
internal sealed class WhisperConvTensors
{
    public required float[] Conv1Weight { get; init; }
    public required float[] Conv1Bias { get; init; }
    public required float[] Conv2Weight { get; init; }
    public required float[] Conv2Bias { get; init; }
}

/// <summary>
/// Whisper (Hugging Face's <c>whisper</c>): an encoder over log-mel frames — two Conv1d (kernel 3, padding 1; the second
/// stride 2) each followed by GELU, plus the sinusoidal <c>embed_positions</c>, pre-LN blocks, a final layer_norm — and a
/// decoder — token embeddings plus learned positions, causal self-attention, cross-attention, pre-LN, a final layer_norm,
/// the head tied to the token embeddings. k_proj has no bias. The convolutions are the family's (im2col products in
/// <c>WhisperModel</c>); their rows enter the core as input rows, which adds the positions and runs the blocks.
/// </summary>
internal static class WhisperFamily
{
    public const string ModelType = "whisper";

    public static (TransformerSpec Encoder, TransformerSpec Decoder, WhisperConfig Whisper) ReadConfig(ConfigJson c)
    {
        if (c.String("model_type") != ModelType) throw new AttnScopeException($"{c.Origin}: model_type is not '{ModelType}'");
        int d = c.Required("d_model");
        TransformerSpec Stack(bool decoder)
        {
            int heads = c.Required(decoder ? "decoder_attention_heads" : "encoder_attention_heads");
            if (heads <= 0 || d % heads != 0) throw new AttnScopeException($"{c.Origin}: d_model {d} is not divisible by {heads} heads");
            string act = c.String("activation_function") ?? "gelu";
            return new TransformerSpec
            {
                Family = ModelType,
                Layers = c.Required(decoder ? "decoder_layers" : "encoder_layers"), Hidden = d, Heads = heads, KvHeads = heads, HeadDim = d / heads,
                Intermediate = c.Required(decoder ? "decoder_ffn_dim" : "encoder_ffn_dim"),
                Vocab = decoder ? c.Required("vocab_size") : 1,
                MaxPositions = decoder ? c.Int("max_target_positions", 448) : c.Int("max_source_positions", 1500),
                Norm = NormKind.LayerNorm, Placement = NormPlacement.Pre, NormEps = 1e-5f, FinalNorm = true,
                EmbeddingScale = decoder && c.Bool("scale_embedding", false) ? MathF.Sqrt(d) : 1f,
                Positions = PositionKind.Learned,
                Causal = decoder, CrossAttention = decoder,
                Activation = act,
                LmHead = decoder, TiedHead = decoder,
                EosId = decoder ? c.TokenId("eos_token_id") : null,
            };
        }
        var enc = Stack(false);
        var dec = Stack(true);
        enc.Validate(c.Origin);
        dec.Validate(c.Origin);
        int mels = c.Int("num_mel_bins", 80);
        if (mels is < 1 or > 512) throw new AttnScopeException($"{c.Origin}: num_mel_bins {mels} (1…512)");
        var whisper = new WhisperConfig
        {
            MelBins = mels, SourcePositions = enc.MaxPositions,
            DecoderStartId = c.TokenId("decoder_start_token_id") ?? throw new AttnScopeException($"{c.Origin} has no decoder_start_token_id"),
            EosId = c.TokenId("eos_token_id"),
        };
        if (whisper.DecoderStartId >= dec.Vocab) throw new AttnScopeException($"{c.Origin}: decoder_start_token_id {whisper.DecoderStartId} is outside the vocabulary of {dec.Vocab}");
        return (enc, dec, whisper);
    }

    /// <summary>Whisper's encoder positions: [length, channels], sin in the first half, cos in the second, timescales
    /// exp(−i·ln(10000)/(channels/2 − 1)) (the checkpoints store this table as <c>embed_positions.weight</c>).</summary>
    public static float[] Sinusoids(int length, int channels)
    {
        if (channels < 4 || channels % 2 != 0) throw new AttnScopeException($"sinusoidal positions need an even width of at least 4 (got {channels})");
        int half = channels / 2;
        double inc = Math.Log(10000) / (half - 1);
        var table = new float[(long)length * channels];
        for (int p = 0; p < length; p++)
            for (int i = 0; i < half; i++)
            {
                // float32 as the reference computes it: inv = exp(-inc·i) in float32, then p·inv in float32.
                float inv = MathF.Exp((float)(-inc * i));
                float a = p * inv;
                table[(long)p * channels + i] = MathF.Sin(a);
                table[(long)p * channels + half + i] = MathF.Cos(a);
            }
        return table;
    }

    public static (CoreTensors Encoder, CoreTensors Decoder, WhisperConvTensors Convs) MapWeights(TransformerSpec enc, TransformerSpec dec, WhisperConfig wc, WeightStore w)
    {
        int d = enc.Hidden;
        // WhisperForConditionalGeneration names start with model.; a bare WhisperModel's do not.
        string pre = w.Contains("model.encoder.conv1.weight") ? "model." : "";
        float[] Get(string name, params int[] shape)
        {
            var data = w.Get(name, shape).Data;
            int bad = Array.FindIndex(data, x => !float.IsFinite(x));
            if (bad >= 0) throw new AttnScopeException($"weights from {w.Origin}: '{name}' holds {data[bad]} (element {bad}); the model cannot be run");
            return data;
        }
        float[]? Optional(string name, int n) => w.Contains(name) ? Get(name, n) : null;
        CoreLayerTensors Layer(string p, TransformerSpec s)
        {
            int I = s.Intermediate;
            bool x = s.CrossAttention;
            return new CoreLayerTensors
            {
                Query = Get(p + "self_attn.q_proj.weight", d, d), QueryBias = Optional(p + "self_attn.q_proj.bias", d),
                Key = Get(p + "self_attn.k_proj.weight", d, d), KeyBias = Optional(p + "self_attn.k_proj.bias", d),
                Value = Get(p + "self_attn.v_proj.weight", d, d), ValueBias = Optional(p + "self_attn.v_proj.bias", d),
                Output = Get(p + "self_attn.out_proj.weight", d, d), OutputBias = Optional(p + "self_attn.out_proj.bias", d),
                Norm1Gain = Get(p + "self_attn_layer_norm.weight", d), Norm1Bias = Get(p + "self_attn_layer_norm.bias", d),
                CrossQuery = x ? Get(p + "encoder_attn.q_proj.weight", d, d) : null,
                CrossQueryBias = x ? Optional(p + "encoder_attn.q_proj.bias", d) : null,
                CrossKey = x ? Get(p + "encoder_attn.k_proj.weight", d, d) : null,
                CrossKeyBias = x ? Optional(p + "encoder_attn.k_proj.bias", d) : null,
                CrossValue = x ? Get(p + "encoder_attn.v_proj.weight", d, d) : null,
                CrossValueBias = x ? Optional(p + "encoder_attn.v_proj.bias", d) : null,
                CrossOutput = x ? Get(p + "encoder_attn.out_proj.weight", d, d) : null,
                CrossOutputBias = x ? Optional(p + "encoder_attn.out_proj.bias", d) : null,
                CrossNormGain = x ? Get(p + "encoder_attn_layer_norm.weight", d) : null,
                CrossNormBias = x ? Get(p + "encoder_attn_layer_norm.bias", d) : null,
                Up = Get(p + "fc1.weight", I, d), UpBias = Optional(p + "fc1.bias", I),
                Down = Get(p + "fc2.weight", d, I), DownBias = Optional(p + "fc2.bias", d),
                Norm2Gain = Get(p + "final_layer_norm.weight", d), Norm2Bias = Get(p + "final_layer_norm.bias", d),
            };
        }
        var encPos = w.Contains(pre + "encoder.embed_positions.weight")
            ? Get(pre + "encoder.embed_positions.weight", enc.MaxPositions, d)
            : Sinusoids(enc.MaxPositions, d);
        var encoder = new CoreTensors
        {
            TokenEmbeddings = new float[d], PositionEmbeddings = encPos,
            Layers = Enumerable.Range(0, enc.Layers).Select(l => Layer($"{pre}encoder.layers.{l}.", enc)).ToArray(),
            FinalNormGain = Get(pre + "encoder.layer_norm.weight", d), FinalNormBias = Get(pre + "encoder.layer_norm.bias", d),
        };
        var decoder = new CoreTensors
        {
            TokenEmbeddings = Get(pre + "decoder.embed_tokens.weight", dec.Vocab, d),
            PositionEmbeddings = Get(pre + "decoder.embed_positions.weight", dec.MaxPositions, d),
            Layers = Enumerable.Range(0, dec.Layers).Select(l => Layer($"{pre}decoder.layers.{l}.", dec)).ToArray(),
            FinalNormGain = Get(pre + "decoder.layer_norm.weight", d), FinalNormBias = Get(pre + "decoder.layer_norm.bias", d),
        };
        var convs = new WhisperConvTensors
        {
            Conv1Weight = Get(pre + "encoder.conv1.weight", d, wc.MelBins, 3), Conv1Bias = Get(pre + "encoder.conv1.bias", d),
            Conv2Weight = Get(pre + "encoder.conv2.weight", d, d, 3), Conv2Bias = Get(pre + "encoder.conv2.bias", d),
        };
        return (encoder, decoder, convs);
    }
}
