using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Sources.Engine;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;

namespace AttnScope.Sources.Audio;

/// <summary>A greedy transcription with every step's attention (rows = decoder inputs: the prompt, then each produced token).</summary>
internal sealed class WhisperTranscript
{
    /// <summary>Prompt and produced ids.</summary>
    public required int[] Ids { get; init; }
    public required int PromptLength { get; init; }
    /// <summary>[layers, heads, frames, frames].</summary>
    public required FloatTensor EncoderAttention { get; init; }
    /// <summary>[layers, heads, n, n] causal self-attention of the decoder, row t when token t was fed.</summary>
    public required FloatTensor DecoderAttention { get; init; }
    /// <summary>[layers, heads, n, frames] cross-attention of the decoder's row t over the encoder frames.</summary>
    public required FloatTensor CrossAttention { get; init; }
    /// <summary>The encoder's output [frames, hidden].</summary>
    public required FloatTensor Memory { get; init; }
    /// <summary>"eos", "max_new" or "max_positions".</summary>
    public required string StopReason { get; init; }
    public int[] Produced => Ids[PromptLength..];
}

/// <summary>
/// A Whisper speech model on the one Transformer core: the encoder's two convolutions as im2col products (this class),
/// whose rows enter the encoder stack as input rows; the decoder stack cross-attends to the encoder's output. Greedy
/// decoding runs the decoder with the key/value cache (the encoder's keys and values projected once).
/// </summary>
internal sealed class WhisperModel
{
    public TransformerModel Encoder { get; }
    public TransformerModel Decoder { get; }
    public WhisperConfig Config { get; }
    public BpeTextEncoder? Tokenizer { get; }
    /// <summary>Decoder (layer, head) pairs whose cross-attention aligns with time (generation_config.json
    /// alignment_heads), or null: then the heads of the upper half of the layers, as Whisper does by default.</summary>
    public IReadOnlyList<(int Layer, int Head)>? AlignmentHeads { get; init; }
    public string Origin { get; }
    private readonly PackedMatrix _conv1, _conv2;

    public WhisperModel(TransformerModel encoder, TransformerModel decoder, WhisperConfig config, WhisperConvTensors convs, BpeTextEncoder? tokenizer, string origin)
    {
        Encoder = encoder; Decoder = decoder; Config = config; Tokenizer = tokenizer; Origin = origin;
        int d = encoder.Spec.Hidden;
        // [out, in, 3] is [out, in·3] with (channel, tap) as the column: the weight of an im2col row laid out the same way.
        _conv1 = PackedMatrix.FromTransposed(convs.Conv1Weight, d, config.MelBins * 3, convs.Conv1Bias);
        _conv2 = PackedMatrix.FromTransposed(convs.Conv2Weight, d, d * 3, convs.Conv2Bias);
    }

    /// <summary>Whether a folder holds a Whisper model (config.json with model_type whisper).</summary>
    public static bool IsSpeechFolder(string dir)
    {
        var path = Path.Combine(dir, "config.json");
        return Directory.Exists(dir) && File.Exists(path) && ModelFamilies.ModelType(path) == WhisperFamily.ModelType;
    }

    /// <summary>Loads config.json, model.safetensors, the tokenizer (tokenizer.json, or vocab.json + merges.txt, with
    /// tokenizer_config.json's special tokens) when present, and generation_config.json's alignment heads.</summary>
    public static WhisperModel Load(string dir)
    {
        if (!Directory.Exists(dir)) throw new AttnScopeException($"model folder '{dir}' does not exist");
        var configPath = Path.Combine(dir, "config.json");
        if (!File.Exists(configPath)) throw new AttnScopeException($"'{dir}' has no config.json");
        var c = ConfigJson.Parse(ModelFamilies.ReadConfigText(configPath), configPath);
        var (encSpec, decSpec, wc) = WhisperFamily.ReadConfig(c);
        var weightsPath = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(weightsPath)) throw new AttnScopeException($"'{dir}' has no model.safetensors");
        var w = SafetensorsWeights.Load(weightsPath);
        var (enc, dec, convs) = WhisperFamily.MapWeights(encSpec, decSpec, wc, w);
        var tokConfigPath = Path.Combine(dir, "tokenizer_config.json");
        var tokConfig = TokenizerConfig.Read(File.Exists(tokConfigPath) ? tokConfigPath : null);
        BpeTextEncoder? tok = null;
        int max = decSpec.MaxPositions;
        if (File.Exists(Path.Combine(dir, "tokenizer.json"))) tok = BpeTextEncoder.FromTokenizerJson(Path.Combine(dir, "tokenizer.json"), max, tokConfig);
        else if (File.Exists(Path.Combine(dir, "vocab.json")) && File.Exists(Path.Combine(dir, "merges.txt")))
            tok = BpeTextEncoder.FromVocabAndMerges(Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"), max, tokConfig);
        return new WhisperModel(new TransformerModel(encSpec, enc, w.Origin), new TransformerModel(decSpec, dec, w.Origin), wc, convs, tok, dir)
        {
            AlignmentHeads = ReadAlignmentHeads(Path.Combine(dir, "generation_config.json"), decSpec),
        };
    }

    private static List<(int, int)>? ReadAlignmentHeads(string path, TransformerSpec dec)
    {
        if (!File.Exists(path)) return null;
        if (new FileInfo(path).Length > 16 << 20) throw new AttnScopeException($"'{path}' is larger than 16 MiB");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("alignment_heads", out var a) || a.ValueKind != JsonValueKind.Array) return null;
            var heads = new List<(int, int)>();
            foreach (var pair in a.EnumerateArray())
            {
                if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2 || !pair[0].TryGetInt32(out int l) || !pair[1].TryGetInt32(out int h)
                    || l < 0 || l >= dec.Layers || h < 0 || h >= dec.Heads)
                    throw new AttnScopeException($"'{path}': alignment_heads holds {pair.GetRawText()}, not a [layer, head] pair of the decoder ({dec.Layers} layers × {dec.Heads} heads)");
                heads.Add((l, h));
            }
            return heads.Count > 0 ? heads : null;
        }
        catch (JsonException e) { throw new AttnScopeException($"'{path}' is not valid JSON: {e.Message}"); }
    }

    /// <summary>The log-mel features of a clip as this model reads them: resampled to 16 kHz, padded or trimmed to
    /// <see cref="WhisperConfig.Samples"/> (30 s for real Whisper), [mel bins, 2 × encoder positions].</summary>
    public FloatTensor Features(AudioClip clip) => LogMel.Compute(Resampler.To16k(clip).Samples, Config.MelBins, Config.Samples);

    /// <summary>The encoder's input rows [frames, hidden]: gelu(conv1(mel)), then gelu(conv2 stride 2), as im2col products.</summary>
    public float[] ConvRows(FloatTensor mel)
    {
        int M = Config.MelBins, d = Encoder.Spec.Hidden;
        if (mel.Rank != 2 || mel.Shape[0] != M || mel.Shape[1] < 1)
            throw new AttnScopeException($"input features have shape {mel.ShapeText}; the model takes [{M}, frames]");
        int T = mel.Shape[1];
        int F = (T - 1) / 2 + 1;
        if (F > Encoder.Spec.MaxPositions)
            throw new AttnScopeException($"{T} mel frames give {F} encoder frames; the model has {Encoder.Spec.MaxPositions} positions ({2 * Encoder.Spec.MaxPositions} mel frames)");
        // conv1 (stride 1, padding 1): row t = x[c, t + k − 1] for (c, k).
        var cols = GC.AllocateArray<float>(T * M * 3, pinned: true);
        var x = mel.Data;
        Parallel.For(0, T, t =>
        {
            var row = cols.AsSpan(t * M * 3, M * 3);
            for (int c = 0; c < M; c++)
                for (int k = 0; k < 3; k++)
                {
                    int s = t + k - 1;
                    row[c * 3 + k] = s >= 0 && s < T ? x[c * T + s] : 0f;
                }
        });
        var h = GC.AllocateArray<float>(T * d, pinned: true);
        Gemm.Multiply(cols, T, _conv1, h);
        Activations.GeluErf(h);
        // conv2 (stride 2, padding 1): row f = h[2f + k − 1, c] for (c, k).
        var cols2 = GC.AllocateArray<float>(F * d * 3, pinned: true);
        Parallel.For(0, F, f =>
        {
            var row = cols2.AsSpan(f * d * 3, d * 3);
            for (int k = 0; k < 3; k++)
            {
                int s = 2 * f + k - 1;
                for (int c = 0; c < d; c++) row[c * 3 + k] = s >= 0 && s < T ? h[s * d + c] : 0f;
            }
        });
        var rows = GC.AllocateArray<float>(F * d, pinned: true);
        Gemm.Multiply(cols2, F, _conv2, rows);
        Activations.GeluErf(rows);
        return rows;
    }

    /// <summary>The encoder over log-mel features (its self-attention in the result).</summary>
    public ForwardResult Encode(FloatTensor mel)
    {
        var rows = ConvRows(mel);
        int F = rows.Length / Encoder.Spec.Hidden;
        return Encoder.Forward(new ForwardInput { Ids = new int[F], InputEmbeddings = rows });
    }

    /// <summary>Teacher-forced decoder pass over <paramref name="ids"/> reading the encoder output.</summary>
    public ForwardResult Decode(int[] ids, FloatTensor memory, LogitRows logits = LogitRows.All) =>
        Decoder.Forward(new ForwardInput { Ids = ids, Memory = memory, Logits = logits });

    /// <summary>The decoder prompt: &lt;|startoftranscript|&gt;, then (multilingual models) the language and
    /// &lt;|transcribe|&gt;, then &lt;|notimestamps|&gt;, each when the tokenizer has it.</summary>
    public int[] Prompt(string language = "en")
    {
        var ids = new List<int> { Config.DecoderStartId };
        if (Tokenizer is null) return [.. ids];
        bool englishOnly = Decoder.Spec.Vocab == 51864; // the .en checkpoints: no language or task token
        if (!englishOnly)
        {
            if (Tokenizer.TokenId($"<|{language}|>") is int lang) ids.Add(lang);
            else throw new AttnScopeException($"the tokenizer has no language token <|{language}|>");
            if (Tokenizer.TokenId("<|transcribe|>") is int task) ids.Add(task);
        }
        if (Tokenizer.TokenId("<|notimestamps|>") is int nt) ids.Add(nt);
        return [.. ids];
    }

    /// <summary>
    /// Greedy transcription: the encoder once, then the decoder from <paramref name="prompt"/> one token at a time with
    /// the key/value cache (or, with <paramref name="useCache"/> false, recomputing the whole prefix each step). Stops at
    /// EOS (fed too, so its row is kept), after <paramref name="maxNew"/> tokens, or at the decoder's last position.
    /// With &lt;|notimestamps|&gt; in the prompt the timestamp tokens after it are never chosen, as Whisper does.
    /// </summary>
    public WhisperTranscript Transcribe(FloatTensor mel, int[] prompt, int maxNew, bool useCache = true, bool stopAtEos = true)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Length == 0) throw new AttnScopeException("the decoder prompt has no tokens");
        if (maxNew < 0) throw new AttnScopeException($"--max-new {maxNew} must be at least 0");
        var s = Decoder.Spec;
        if (prompt.Length > s.MaxPositions) throw new AttnScopeException($"the prompt has {prompt.Length} tokens; the decoder takes at most {s.MaxPositions}");
        var enc = Encode(mel);
        var memory = enc.Hidden;
        int F = memory.Shape[0], L = s.Layers, H = s.Heads;
        int capacity = Math.Min(s.MaxPositions, prompt.Length + maxNew);
        int? noTimestamps = Tokenizer?.TokenId("<|notimestamps|>");
        int suppressFrom = noTimestamps is int nt && prompt.Contains(nt) ? nt + 1 : int.MaxValue;
        var ids = new List<int>(prompt);
        var rows = new List<(int Start, ForwardResult R)>();
        var cache = useCache ? Decoder.NewCache(capacity) : null;
        ForwardResult Step(int[] feed) => Decoder.Forward(new ForwardInput { Ids = feed, Memory = memory, Cache = cache, Logits = LogitRows.Last });
        var r = Step(prompt);
        rows.Add((0, r));
        string reason = "max_new";
        for (int step = 0; step < maxNew; step++)
        {
            if (ids.Count >= capacity) { reason = "max_positions"; break; }
            var logits = r.Logits!.Data;
            int best = 0;
            for (int i = 1; i < Math.Min(logits.Length, suppressFrom); i++) if (logits[i] > logits[best]) best = i;
            ids.Add(best);
            r = Step(useCache ? [best] : [.. ids]);
            rows.Add((useCache ? ids.Count - 1 : 0, r));
            if (stopAtEos && best == Config.EosId) { reason = "eos"; break; }
        }
        int n = ids.Count;
        var self = new FloatTensor([L, H, n, n]);
        var cross = new FloatTensor([L, H, n, F]);
        foreach (var (start, res) in useCache ? rows : [rows[^1]])
        {
            int m = res.Attention!.Shape[2], t = res.Attention.Shape[3];
            for (int l = 0; l < L; l++)
                for (int h = 0; h < H; h++)
                    for (int i = 0; i < m; i++)
                    {
                        long lh = (long)l * H + h;
                        res.Attention.Data.AsSpan((int)((lh * m + i) * t), t).CopyTo(self.Data.AsSpan((int)((lh * n + start + i) * n), t));
                        res.CrossAttention!.Data.AsSpan((int)((lh * m + i) * F), F).CopyTo(cross.Data.AsSpan((int)((lh * n + start + i) * F), F));
                    }
        }
        return new WhisperTranscript
        {
            Ids = [.. ids], PromptLength = prompt.Length, EncoderAttention = enc.Attention!, DecoderAttention = self, CrossAttention = cross,
            Memory = memory, StopReason = reason,
        };
    }
}
