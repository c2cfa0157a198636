using AttnScope.Capture;
using AttnScope.Sources.Models;

namespace AttnScope.Sources.Transformer.Families;

/// <summary>An encoder-decoder over the core: two stacks, the decoder's blocks cross-attending to the encoder's output.</summary>
internal sealed class EncoderDecoderModel
{
    public required TransformerModel Encoder { get; init; }
    public required TransformerModel Decoder { get; init; }
    /// <summary>The token the decoder starts from.</summary>
    public required int DecoderStartId { get; init; }
    public int? EosId { get; init; }

    /// <summary>The encoder's output for source ids (and, when asked, its self-attention).</summary>
    public ForwardResult Encode(int[] sourceIds, bool captureQkv = false) =>
        Encoder.Forward(new ForwardInput { Ids = sourceIds, CaptureQkv = captureQkv });

    /// <summary>Teacher-forced decoder pass over <paramref name="decoderIds"/> reading <paramref name="memory"/>.</summary>
    public ForwardResult Decode(int[] decoderIds, FloatTensor memory, LogitRows logits = LogitRows.All, bool captureQkv = false) =>
        Decoder.Forward(new ForwardInput { Ids = decoderIds, Memory = memory, Logits = logits, CaptureQkv = captureQkv });

    /// <summary>Greedy decoding from the start token: the produced ids (ending at EOS when it comes). Runs on a key/value
    /// cache (<see cref="IncrementalDecoder"/>): the same numbers as re-reading each prefix, bit for bit.</summary>
    public int[] Greedy(int[] sourceIds, int maxNew, bool stopAtEos = true)
    {
        maxNew = Math.Min(maxNew, Decoder.Spec.MaxPositions - 1);
        if (maxNew < 1) return [];
        var steps = new IncrementalDecoder(Encoder, Decoder, sourceIds, 1, maxNew);
        var ids = new List<int>();
        int next = DecoderStartId;
        for (int step = 0; step < maxNew; step++)
        {
            var logits = steps.Step([next]);
            int best = 0;
            for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
            ids.Add(best);
            if (stopAtEos && best == EosId) break;
            next = best;
        }
        return [.. ids];
    }

    /// <summary>
    /// Beam search from the start token with length normalization: a hypothesis of n tokens (counting the EOS
    /// that ends it) with total log-probability log p scores <c>log p / n^α</c> (α = <paramref name="lengthPenalty"/>;
    /// 0 ranks by plain log-probability, larger α favours longer outputs). Each step extends every live hypothesis
    /// by every token and keeps the best <c>beam − finished</c> continuations by log-probability; one ending in EOS
    /// is set aside as finished. Stops when <paramref name="beam"/> have finished, none is live, or
    /// <paramref name="maxNew"/> tokens were produced; then the live hypotheses join the finished ones (unfinished)
    /// and the best score wins (ties: the earlier found). Tokens in <paramref name="banned"/> are never produced
    /// (Marian bans its pad token, which is also the decoder start). Each live hypothesis keeps a key/value cache
    /// (<see cref="IncrementalDecoder"/>; survivors take over their parent's): every step feeds one token per
    /// hypothesis, and the numbers are those of the teacher-forced pass a capture records, bit for bit.
    /// </summary>
    /// <remarks><paramref name="useCache"/> false re-reads every prefix in full at every step instead (what a capture's
    /// teacher-forced pass does): the same hypotheses and scores, for tests and the benchmark's baseline.</remarks>
    public BeamResult Beam(int[] sourceIds, int beam, double lengthPenalty, int maxNew, IReadOnlyCollection<int>? banned = null, bool useCache = true)
    {
        if (beam < 1) throw new AttnScopeException($"beam size {beam} must be at least 1");
        if (double.IsNaN(lengthPenalty) || double.IsInfinity(lengthPenalty)) throw new AttnScopeException("the length penalty must be a finite number");
        if (maxNew < 1) throw new AttnScopeException($"at most {maxNew} new tokens: nothing to translate");
        maxNew = Math.Min(maxNew, Decoder.Spec.MaxPositions - 1);
        int vocab = Decoder.Spec.Vocab;
        var steps = useCache ? new IncrementalDecoder(Encoder, Decoder, sourceIds, beam, maxNew) : null;
        var memory = useCache ? null : Encode(sourceIds).Hidden;
        var reread = useCache ? null : new float[beam * vocab];
        var live = new List<(int[] Ids, double LogP)> { ([], 0) };
        var feed = new int[beam];
        feed[0] = DecoderStartId;
        var finished = new List<BeamHypothesis>();
        double Score(double logp, int length) => length == 0 ? logp : logp / Math.Pow(length, lengthPenalty);
        for (int step = 0; step < maxNew && live.Count > 0 && finished.Count < beam; step++)
        {
            int width = beam - finished.Count;
            ReadOnlySpan<float> logits;
            if (steps is not null) logits = steps.Step(feed.AsSpan(0, live.Count));
            else
            {
                for (int b = 0; b < live.Count; b++)
                    Decode([DecoderStartId, .. live[b].Ids], memory!, LogitRows.Last).Logits!.Data.CopyTo(reread!, b * vocab);
                logits = reread.AsSpan(0, live.Count * vocab);
            }
            // the best `width` continuations by log-probability (ties: lower hypothesis, then lower token), kept sorted
            var top = new List<(double LogP, int From, int Token)>(width + 1);
            for (int b = 0; b < live.Count; b++)
            {
                var row = logits.Slice(b * vocab, vocab);
                double log = LogNormalizer(row), prior = live[b].LogP;
                for (int t = 0; t < vocab; t++)
                {
                    double lp = prior + (row[t] - log);
                    if (double.IsNegativeInfinity(lp) || top.Count == width && lp <= top[^1].LogP) continue; // equal: the earlier one wins
                    if (banned is not null && banned.Contains(t)) continue;
                    int at = top.Count;
                    while (at > 0 && top[at - 1].LogP < lp) at--;
                    top.Insert(at, (lp, b, t));
                    if (top.Count > width) top.RemoveAt(width);
                }
            }
            var next = new List<(int[] Ids, double LogP)>();
            var parents = new List<int>();
            foreach (var (logp, b, token) in top)
            {
                if (EosId is int eos && token == eos) finished.Add(new BeamHypothesis(live[b].Ids, logp, Score(logp, live[b].Ids.Length + 1), true));
                else
                {
                    feed[next.Count] = token;
                    next.Add(([.. live[b].Ids, token], logp));
                    parents.Add(b);
                }
            }
            live = next;
            if (live.Count > 0) steps?.Reorder(parents.ToArray());
        }
        var all = finished.Concat(live.Select(h => new BeamHypothesis(h.Ids, h.LogP, Score(h.LogP, h.Ids.Length), false))).ToList();
        if (all.Count == 0) throw new AttnScopeException("beam search found no hypothesis (every token is banned)");
        var best = all[0];
        foreach (var h in all) if (h.Score > best.Score) best = h;
        return new BeamResult(best, all);
    }

    /// <summary>log Σ exp(logits) in double precision (the row's maximum taken out first).</summary>
    public static double LogNormalizer(ReadOnlySpan<float> logits)
    {
        double max = double.NegativeInfinity;
        foreach (float x in logits) max = Math.Max(max, x);
        double sum = 0;
        foreach (float x in logits) sum += Math.Exp(x - max);
        return max + Math.Log(sum);
    }
}

/// <summary>A hypothesis of <see cref="EncoderDecoderModel.Beam"/>: produced ids (without start and EOS), total
/// log-probability (the EOS included when finished), length-normalized score, and whether EOS ended it.</summary>
internal sealed record BeamHypothesis(int[] Ids, double LogProbability, double Score, bool Finished);

/// <summary>The winner of a beam search and every hypothesis it compared.</summary>
internal sealed record BeamResult(BeamHypothesis Best, IReadOnlyList<BeamHypothesis> Compared);

/// <summary>
/// Marian (opus-mt) translation models: post-norm encoder and decoder, sinusoidal positions (sin half, cos half),
/// embeddings scaled by √d and shared with the head, SiLU ("swish") MLPs, a final logits bias. Weights in Hugging
/// Face's names (<c>model.encoder.layers.{l}.self_attn.q_proj.weight</c>, …).
/// </summary>
internal static class MarianFamily
{
    public const string ModelType = "marian";

    /// <summary>The encoder's or the decoder's spec of a Marian config.</summary>
    internal static TransformerSpec Stack(ConfigJson c, bool decoder)
    {
        int d = c.Required("d_model");
        int heads = c.Required(decoder ? "decoder_attention_heads" : "encoder_attention_heads");
        if (heads <= 0 || d % heads != 0) throw new AttnScopeException($"{c.Origin}: d_model {d} is not divisible by {heads} heads");
        if (c.Bool("normalize_before", false)) throw new AttnScopeException($"{c.Origin}: pre-norm Marian variants (normalize_before) are not supported");
        string act = c.String("activation_function") ?? "swish";
        return new TransformerSpec
        {
            Family = ModelType,
            Layers = c.Required(decoder ? "decoder_layers" : "encoder_layers"), Hidden = d, Heads = heads, KvHeads = heads, HeadDim = d / heads,
            Intermediate = c.Required(decoder ? "decoder_ffn_dim" : "encoder_ffn_dim"), Vocab = c.Required("vocab_size"),
            MaxPositions = c.Int("max_position_embeddings", 512),
            Norm = NormKind.LayerNorm, Placement = NormPlacement.Post, NormEps = 1e-5f,
            EmbeddingScale = c.Bool("scale_embedding", false) ? MathF.Sqrt(d) : 1f,
            Positions = PositionKind.Sinusoidal, Sinusoids = SinusoidLayout.Halves,
            Causal = decoder, CrossAttention = decoder,
            Activation = act switch { "swish" or "silu" => "silu", "gelu" => "gelu", "relu" => "relu", _ => act },
            LmHead = decoder, TiedHead = decoder,
            EosId = c.TokenId("eos_token_id"),
        };
    }

    /// <summary>The shared embedding table's name in a Marian file.</summary>
    public const string SharedName = "model.shared.weight";

    /// <summary><c>final_logits_bias</c> (a fixed buffer) when the file has it, checked against the vocabulary.</summary>
    internal static float[]? FinalLogitsBias(WeightStore w, int vocab)
    {
        float[]? bias = w.Contains("final_logits_bias") ? w.Get("final_logits_bias").Data : null;
        if (bias is not null && bias.Length != vocab) throw new AttnScopeException($"weights from {w.Origin}: final_logits_bias has {bias.Length} values, expected {vocab}");
        return bias;
    }

    /// <summary>
    /// The core's tensors of one Marian stack (<paramref name="stack"/> = <c>model.encoder</c> or <c>model.decoder</c>)
    /// under Hugging Face's names, read through <paramref name="get"/> (a weight file, or trainable parameters).
    /// </summary>
    internal static CoreTensors Tensors(TransformerSpec s, string stack, float[] shared, Func<string, int[], float[]> get, float[]? logitsBias = null)
    {
        int d = s.Hidden, ff = s.Intermediate;
        bool cross = s.CrossAttention;
        CoreLayerTensors Layer(int l)
        {
            string p = $"{stack}.layers.{l}.";
            float[]? X(string n, params int[] shape) => cross ? get(p + n, shape) : null;
            return new CoreLayerTensors
            {
                Query = get(p + "self_attn.q_proj.weight", [d, d]), QueryBias = get(p + "self_attn.q_proj.bias", [d]),
                Key = get(p + "self_attn.k_proj.weight", [d, d]), KeyBias = get(p + "self_attn.k_proj.bias", [d]),
                Value = get(p + "self_attn.v_proj.weight", [d, d]), ValueBias = get(p + "self_attn.v_proj.bias", [d]),
                Output = get(p + "self_attn.out_proj.weight", [d, d]), OutputBias = get(p + "self_attn.out_proj.bias", [d]),
                Norm1Gain = get(p + "self_attn_layer_norm.weight", [d]), Norm1Bias = get(p + "self_attn_layer_norm.bias", [d]),
                CrossQuery = X("encoder_attn.q_proj.weight", d, d), CrossQueryBias = X("encoder_attn.q_proj.bias", d),
                CrossKey = X("encoder_attn.k_proj.weight", d, d), CrossKeyBias = X("encoder_attn.k_proj.bias", d),
                CrossValue = X("encoder_attn.v_proj.weight", d, d), CrossValueBias = X("encoder_attn.v_proj.bias", d),
                CrossOutput = X("encoder_attn.out_proj.weight", d, d), CrossOutputBias = X("encoder_attn.out_proj.bias", d),
                CrossNormGain = X("encoder_attn_layer_norm.weight", d), CrossNormBias = X("encoder_attn_layer_norm.bias", d),
                Up = get(p + "fc1.weight", [ff, d]), UpBias = get(p + "fc1.bias", [ff]),
                Down = get(p + "fc2.weight", [d, ff]), DownBias = get(p + "fc2.bias", [d]),
                Norm2Gain = get(p + "final_layer_norm.weight", [d]), Norm2Bias = get(p + "final_layer_norm.bias", [d]),
            };
        }
        return new CoreTensors { TokenEmbeddings = shared, UnembeddingBias = logitsBias, Layers = Enumerable.Range(0, s.Layers).Select(Layer).ToArray() };
    }

    public static EncoderDecoderModel Load(string configPath, WeightStore w)
    {
        var c = ConfigJson.Parse(ModelFamilies.ReadConfigText(configPath), configPath);
        if (c.String("model_type") != ModelType) throw new AttnScopeException($"{configPath}: model_type is not '{ModelType}'");
        var enc = Stack(c, decoder: false);
        var dec = Stack(c, decoder: true);
        enc.Validate(configPath);
        dec.Validate(configPath);
        float[] Get(string name, int[] shape) => w.Get(name, shape).Data;
        int d = enc.Hidden, v = enc.Vocab;
        var shared = Get(w.Contains(SharedName) ? SharedName : "model.encoder.embed_tokens.weight", [v, d]);
        var encoder = new TransformerModel(enc, Tensors(enc, "model.encoder", shared, Get), w.Origin);
        var decoder = new TransformerModel(dec, Tensors(dec, "model.decoder", shared, Get, FinalLogitsBias(w, v)), w.Origin);
        return new EncoderDecoderModel
        {
            Encoder = encoder, Decoder = decoder,
            DecoderStartId = c.TokenId("decoder_start_token_id") ?? c.TokenId("pad_token_id") ?? throw new AttnScopeException($"{configPath} has no decoder_start_token_id or pad_token_id"),
            EosId = c.TokenId("eos_token_id"),
        };
    }
}
