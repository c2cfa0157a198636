using System.Globalization;
using System.Numerics.Tensors;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Audio;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Training.Model;

namespace AttnScope.Training.Speech;

/// <summary>The shape of a tiny Whisper (Hugging Face's config keys in brackets).</summary>
internal sealed record TinyWhisperShape
{
    /// <summary>d_model.</summary>
    public int Hidden { get; init; } = 128;
    /// <summary>encoder_layers and decoder_layers.</summary>
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    /// <summary>encoder_ffn_dim and decoder_ffn_dim.</summary>
    public int FeedForward { get; init; } = 512;
    public int MelBins { get; init; } = 80;
    /// <summary>max_source_positions: the window is 2 × this × 10 ms (200 → 4 s).</summary>
    public int SourcePositions { get; init; } = 200;
    /// <summary>max_target_positions.</summary>
    public int TargetPositions { get; init; } = 16;

    public void Validate()
    {
        if (Hidden is < 8 or > 1024 || Layers is < 1 or > 12 || Heads < 1 || Hidden % Heads != 0 || FeedForward is < 8 or > 8192
            || MelBins is < 8 or > 128 || SourcePositions is < 8 or > 1500 || TargetPositions is < 8 or > 448)
            throw new AttnScopeException($"tiny Whisper shape: d {Hidden} (8…1024), layers {Layers} (1…12), heads {Heads} (dividing d), ffn {FeedForward} (8…8192), mels {MelBins} (8…128), source positions {SourcePositions} (8…1500), target positions {TargetPositions} (8…448)");
    }

    public double WindowSeconds => 2.0 * SourcePositions * LogMel.FrameSeconds;
}

/// <summary>
/// The token vocabulary of a tiny Whisper trained on whole words: GPT-2 byte-level BPE whose merges build each word
/// with its leading space ("Ġone") out of letters, then &lt;|endoftext|&gt;, &lt;|startoftranscript|&gt;, &lt;|en|&gt;,
/// &lt;|transcribe|&gt;, &lt;|notimestamps|&gt; (last, as in Whisper, so nothing after it is suppressed).
/// </summary>
internal sealed class WordVocabulary
{
    public IReadOnlyList<string> Tokens { get; }
    public IReadOnlyList<(string Left, string Right)> Merges { get; }
    public IReadOnlyList<string> Words { get; }
    private readonly Dictionary<string, int> _ids;
    public int EndOfText => _ids["<|endoftext|>"];
    public int StartOfTranscript => _ids["<|startoftranscript|>"];
    public int[] Prompt => [StartOfTranscript, _ids["<|en|>"], _ids["<|transcribe|>"], _ids["<|notimestamps|>"]];
    public static readonly string[] Specials = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"];

    public WordVocabulary(IReadOnlyList<string> words)
    {
        Words = words;
        var tokens = new List<string>();
        var merges = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string t) { if (seen.Add(t)) tokens.Add(t); }
        Add("Ġ");
        foreach (var c in words.SelectMany(w => w).Distinct().Order()) Add(c.ToString());
        foreach (var w in words)
        {
            string cur = "Ġ";
            foreach (var c in w)
            {
                string next = cur + c;
                if (!seen.Contains(next)) { merges.Add((cur, c.ToString())); Add(next); }
                cur = next;
            }
        }
        foreach (var s in Specials) Add(s);
        Tokens = tokens;
        Merges = merges;
        _ids = tokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
    }

    public int WordId(string word) => _ids.TryGetValue("Ġ" + word, out int id) ? id : throw new AttnScopeException($"'{word}' is not in the vocabulary");
    public string TokenText(int id) => Tokens[id];

    public void Write(string dir)
    {
        var vocab = new JsonObject();
        for (int i = 0; i < Tokens.Count; i++) vocab[Tokens[i]] = i;
        File.WriteAllText(Path.Combine(dir, "vocab.json"), vocab.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllLines(Path.Combine(dir, "merges.txt"), ["#version: 0.2", .. Merges.Select(m => $"{m.Left} {m.Right}")]);
        var added = new JsonObject();
        foreach (var s in Specials)
            added[_ids[s].ToString(CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["content"] = s, ["lstrip"] = false, ["normalized"] = false, ["rstrip"] = false, ["single_word"] = false, ["special"] = true,
            };
        var cfg = new JsonObject
        {
            ["added_tokens_decoder"] = added, ["bos_token"] = "<|endoftext|>", ["eos_token"] = "<|endoftext|>", ["pad_token"] = "<|endoftext|>",
            ["unk_token"] = "<|endoftext|>", ["model_max_length"] = 1024, ["tokenizer_class"] = "WhisperTokenizer",
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), cfg.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}

/// <summary>A clip ready for training: the (frozen) convolution front end's rows [frames, d], the word ids, and the mean
/// log-mel of each 10 ms frame of its audio (<see cref="LogMel.FramePower"/>, for speech activity).</summary>
internal sealed record EncodedClip(float[] Rows, int[] WordIds, SpeechClip Clip, float[]? FrameEnergy = null);

/// <summary>
/// Trains a tiny Whisper on the one Transformer core: encoder and decoder stacks with the core's backward pass
/// (decoder with cross-attention, ∂loss/∂memory into the encoder's backward), cross-entropy on the words and the end
/// of text after the prompt &lt;|startoftranscript|&gt;&lt;|en|&gt;&lt;|transcribe|&gt;&lt;|notimestamps|&gt;. The
/// convolution front end is random and frozen (its output rows are computed once per clip); the encoder's sinusoidal
/// positions are fixed, as in Whisper. Clips are padded to the model's window as Whisper pads to 30 s, so training
/// sees the features that <see cref="WhisperModel"/> computes at inference. Adam with decoupled weight decay, warm-up
/// then cosine decay, gradient clipping to norm 1. Saves a Hugging Face Whisper folder that <see cref="WhisperModel.Load"/> reads.
/// </summary>
internal sealed class TinyWhisperTrainer
{
    public TinyWhisperShape Shape { get; }
    public WordVocabulary Vocabulary { get; }
    public TransformerSpec EncoderSpec { get; }
    public TransformerSpec DecoderSpec { get; }
    public WhisperConfig Config { get; }
    public CoreTensors Encoder { get; }
    public CoreTensors Decoder { get; }
    public WhisperConvTensors Convs { get; }
    public WhisperModel Model { get; }
    private readonly CoreGradients _encGrads, _decGrads;
    private readonly List<(string Name, float[] Value, float[] Grad, bool Decay)> _params = [];
    private readonly Dictionary<float[], (float[] M, float[] V)> _moments = new(ReferenceEqualityComparer.Instance);
    private readonly LabelSmoothedCrossEntropy _loss = new(0f, -1);
    public long Steps { get; private set; }

    public TinyWhisperTrainer(IReadOnlyList<string> words, TinyWhisperShape shape, int seed)
    {
        ArgumentNullException.ThrowIfNull(words);
        shape.Validate();
        Shape = shape;
        Vocabulary = new WordVocabulary(words);
        int d = shape.Hidden, I = shape.FeedForward, V = Vocabulary.Tokens.Count;
        TransformerSpec Stack(bool decoder) => new()
        {
            Family = WhisperFamily.ModelType, Layers = shape.Layers, Hidden = d, Heads = shape.Heads, KvHeads = shape.Heads, HeadDim = d / shape.Heads,
            Intermediate = I, Vocab = decoder ? V : 1, MaxPositions = decoder ? shape.TargetPositions : shape.SourcePositions,
            Norm = NormKind.LayerNorm, Placement = NormPlacement.Pre, NormEps = 1e-5f, FinalNorm = true, Positions = PositionKind.Learned,
            Causal = decoder, CrossAttention = decoder, Activation = "gelu", LmHead = decoder, TiedHead = decoder,
            EosId = decoder ? Vocabulary.EndOfText : null,
        };
        EncoderSpec = Stack(false);
        DecoderSpec = Stack(true);
        EncoderSpec.Validate("tiny Whisper encoder");
        DecoderSpec.Validate("tiny Whisper decoder");
        Config = new WhisperConfig { MelBins = shape.MelBins, SourcePositions = shape.SourcePositions, DecoderStartId = Vocabulary.StartOfTranscript, EosId = Vocabulary.EndOfText };
        var rng = new Random(seed);
        float[] N(int n, double std) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(std * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())); return a; }
        float[] Ones(int n) { var a = new float[n]; Array.Fill(a, 1f); return a; }
        double wStd = 1 / Math.Sqrt(d), outStd = 1 / Math.Sqrt(d) / Math.Sqrt(2 * shape.Layers);
        CoreLayerTensors Layer(bool x) => new()
        {
            Query = N(d * d, wStd), QueryBias = new float[d], Key = N(d * d, wStd), KeyBias = null,
            Value = N(d * d, wStd), ValueBias = new float[d], Output = N(d * d, outStd), OutputBias = new float[d],
            Norm1Gain = Ones(d), Norm1Bias = new float[d], Norm2Gain = Ones(d), Norm2Bias = new float[d],
            CrossQuery = x ? N(d * d, wStd) : null, CrossQueryBias = x ? new float[d] : null, CrossKey = x ? N(d * d, wStd) : null, CrossKeyBias = null,
            CrossValue = x ? N(d * d, wStd) : null, CrossValueBias = x ? new float[d] : null, CrossOutput = x ? N(d * d, outStd) : null, CrossOutputBias = x ? new float[d] : null,
            CrossNormGain = x ? Ones(d) : null, CrossNormBias = x ? new float[d] : null,
            Up = N(I * d, wStd), UpBias = new float[I], Down = N(d * I, 1 / Math.Sqrt(I) / Math.Sqrt(2 * shape.Layers)), DownBias = new float[d],
        };
        Encoder = new CoreTensors
        {
            TokenEmbeddings = new float[d], PositionEmbeddings = WhisperFamily.Sinusoids(shape.SourcePositions, d),
            Layers = Enumerable.Range(0, shape.Layers).Select(_ => Layer(false)).ToArray(), FinalNormGain = Ones(d), FinalNormBias = new float[d],
        };
        Decoder = new CoreTensors
        {
            TokenEmbeddings = N(V * d, 0.1), PositionEmbeddings = N(shape.TargetPositions * d, 0.1),
            Layers = Enumerable.Range(0, shape.Layers).Select(_ => Layer(true)).ToArray(), FinalNormGain = Ones(d), FinalNormBias = new float[d],
        };
        // He-scaled random convolutions (frozen): they keep the spectrogram's detail as a random feature map.
        Convs = new WhisperConvTensors
        {
            Conv1Weight = N(d * shape.MelBins * 3, Math.Sqrt(2.0 / (shape.MelBins * 3))), Conv1Bias = new float[d],
            Conv2Weight = N(d * d * 3, Math.Sqrt(2.0 / (d * 3))), Conv2Bias = new float[d],
        };
        Model = new WhisperModel(new TransformerModel(EncoderSpec, Encoder, "tiny Whisper encoder"), new TransformerModel(DecoderSpec, Decoder, "tiny Whisper decoder"),
            Config, Convs, null, "tiny Whisper (training)");
        _encGrads = CoreGradients.For(Encoder);
        _decGrads = CoreGradients.For(Decoder);
        foreach (var (name, v, g) in _encGrads.Pairs())
            if (name is not "embed.W_E" and not "pos_embed.W_pos") _params.Add(("encoder." + name, v, g, IsMatrix(name)));
        foreach (var (name, v, g) in _decGrads.Pairs()) _params.Add(("decoder." + name, v, g, IsMatrix(name)));
    }

    private static bool IsMatrix(string name) => name.Contains(".W_", StringComparison.Ordinal) && !name.StartsWith("pos_embed", StringComparison.Ordinal);

    public long ParameterCount => _params.Sum(p => (long)p.Value.Length);

    /// <summary>Trainable tensors by TransformerLens-style name (prefixed encoder. / decoder.): value and gradient.</summary>
    public IEnumerable<(string Name, float[] Value, float[] Grad)> Parameters => _params.Select(p => (p.Name, p.Value, p.Grad));

    /// <summary>The log-mel of a clip as the model reads it (padded to the window) and the frozen front end's rows.</summary>
    public EncodedClip Encode(SpeechClip clip)
    {
        if (clip.Samples.Length > Config.Samples) throw new AttnScopeException($"a {clip.Seconds:0.##} s clip does not fit the model's {Shape.WindowSeconds:0.##} s window");
        var mel = LogMel.Compute(clip.Samples, Config.MelBins, Config.Samples);
        return new EncodedClip(Model.ConvRows(mel), clip.Words.Select(w => Vocabulary.WordId(w.Word)).ToArray(), clip, LogMel.FramePower(mel, clip.Seconds));
    }

    /// <summary>Decoder inputs (prompt, words) and targets (−1 for the prompt's own predictions, then words, end of text).</summary>
    public (int[] Input, int[] Target) Sequence(int[] wordIds)
    {
        var p = Vocabulary.Prompt;
        if (p.Length + wordIds.Length > Shape.TargetPositions) throw new AttnScopeException($"{wordIds.Length} words do not fit {Shape.TargetPositions} decoder positions");
        var input = p.Concat(wordIds).ToArray();
        var target = Enumerable.Repeat(-1, p.Length - 1).Concat(wordIds).Append(Vocabulary.EndOfText).ToArray();
        return (input, target);
    }

    /// <summary>Mean cross-entropy over the batch's counted tokens, token accuracy, and every gradient (no step).</summary>
    public (double Loss, double Accuracy) Gradients(IReadOnlyList<EncodedClip> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0) throw new AttnScopeException("an empty batch");
        int d = Shape.Hidden, F = Shape.SourcePositions, B = batch.Count, V = DecoderSpec.Vocab;
        _encGrads.Clear();
        _decGrads.Clear();
        var rows = new float[B * F * d];
        var seqs = batch.Select(c => Sequence(c.WordIds)).ToArray();
        for (int b = 0; b < B; b++)
        {
            if (batch[b].Rows.Length != F * d) throw new AttnScopeException($"clip {b} has {batch[b].Rows.Length} front-end values; the model takes {F} × {d}");
            batch[b].Rows.CopyTo(rows, b * F * d);
        }
        var segF = Enumerable.Repeat(F, B).ToArray();
        var enc = Model.Encoder.Forward(new ForwardInput { Ids = new int[B * F], InputEmbeddings = rows, Segments = segF, Record = true });
        var ids = seqs.SelectMany(s => s.Input).ToArray();
        var targets = seqs.SelectMany(s => s.Target).ToArray();
        var dec = Model.Decoder.Forward(new ForwardInput
        {
            Ids = ids, Segments = seqs.Select(s => s.Input.Length).ToArray(), Memory = enc.Hidden, MemorySegments = segF, Logits = LogitRows.All, Record = true,
        });
        var logits = dec.Logits!.Data;
        var (loss, _, tokens) = _loss.Forward(logits, ids.Length, V, targets);
        int correct = 0;
        for (int r = 0; r < ids.Length; r++)
            if (targets[r] >= 0 && TensorPrimitives.IndexOfMax(logits.AsSpan(r * V, V)) == targets[r]) correct++;
        var dLogits = _loss.Backward(1f / tokens);
        var outputs = new BackwardOutputs();
        Model.Decoder.BackwardFromLogits(dec.Tape!, dLogits, _decGrads, outputs: outputs);
        Model.Encoder.Backward(enc.Tape!, outputs.MemoryGradient!, _encGrads);
        return (loss / tokens, (double)correct / tokens);
    }

    /// <summary>One step: gradients, clipping to global norm <paramref name="clip"/>, AdamW; returns loss and token accuracy before it.</summary>
    public (double Loss, double Accuracy) Step(IReadOnlyList<EncodedClip> batch, double learningRate, double weightDecay = 0.01, double clip = 1.0)
    {
        var r = Gradients(batch);
        double norm = Math.Sqrt(_params.Sum(p => (double)TensorPrimitives.SumOfSquares(p.Grad)));
        float scale = norm > clip ? (float)(clip / norm) : 1f;
        Steps++;
        const double b1 = 0.9, b2 = 0.98, eps = 1e-9;
        double c1 = 1 - Math.Pow(b1, Steps), c2 = 1 - Math.Pow(b2, Steps);
        foreach (var (_, v, g, wd) in _params)
        {
            if (!_moments.TryGetValue(v, out var mv)) _moments[v] = mv = (new float[v.Length], new float[v.Length]);
            for (int i = 0; i < v.Length; i++)
            {
                float gi = g[i] * scale;
                mv.M[i] = (float)(b1 * mv.M[i] + (1 - b1) * gi);
                mv.V[i] = (float)(b2 * mv.V[i] + (1 - b2) * gi * gi);
                double update = mv.M[i] / c1 / (Math.Sqrt(mv.V[i] / c2) + eps) + (wd ? weightDecay * v[i] : 0);
                v[i] -= (float)(learningRate * update);
            }
        }
        Model.Encoder.Repack();
        Model.Decoder.Repack();
        return r;
    }

    /// <summary>Learning rate at a fraction of training: linear warm-up over the first 5%, then cosine to 5% of the peak.</summary>
    public static double Rate(double peak, double progress)
    {
        progress = Math.Clamp(progress, 0, 1);
        return progress < 0.05 ? peak * Math.Max(progress / 0.05, 0.02) : peak * (0.05 + 0.95 * 0.5 * (1 + Math.Cos(Math.PI * (progress - 0.05) / 0.95)));
    }

    /// <summary>
    /// The teacher-forced cross attention [layers, heads, n, frames] of prompt + the clip's words + end of text (the pass
    /// Whisper's word timing runs), the greedy transcription's word ids, and the number of audio frames.
    /// </summary>
    public (FloatTensor Cross, int[] Greedy) Inspect(EncodedClip clip)
    {
        int F = Shape.SourcePositions;
        var memory = Model.Encoder.Forward(new ForwardInput { Ids = new int[F], InputEmbeddings = clip.Rows }).Hidden;
        var (input, _) = Sequence(clip.WordIds);
        var ids = input.Append(Vocabulary.EndOfText).ToArray();
        var r = Model.Decoder.Forward(new ForwardInput { Ids = ids, Memory = memory });
        // Greedy decoding with the cache, from the prompt, until end of text.
        var prompt = Vocabulary.Prompt;
        var cache = Model.Decoder.NewCache(Shape.TargetPositions);
        var step = Model.Decoder.Forward(new ForwardInput { Ids = prompt, Memory = memory, Cache = cache, Logits = LogitRows.Last, SkipAttention = true });
        var produced = new List<int>();
        for (int n = prompt.Length; n < Shape.TargetPositions; n++)
        {
            int best = TensorPrimitives.IndexOfMax(step.Logits!.Data);
            if (best == Vocabulary.EndOfText) break;
            produced.Add(best);
            if (n + 1 >= Shape.TargetPositions) break;
            step = Model.Decoder.Forward(new ForwardInput { Ids = [best], Memory = memory, Cache = cache, Logits = LogitRows.Last, SkipAttention = true });
        }
        return (r.CrossAttention!, [.. produced]);
    }

    /// <summary>Encoder frames that hold audio (as <see cref="SpeechLayout.AudioFrames"/> counts them).</summary>
    public int AudioFrames(SpeechClip clip) => SpeechLayout.AudioFramesFor(clip.Seconds, Shape.SourcePositions);

    /// <summary>Writes a Hugging Face Whisper folder: config.json, generation_config.json (with the alignment heads when
    /// given), model.safetensors, vocab.json, merges.txt, tokenizer_config.json.</summary>
    public void Save(string dir, IReadOnlyList<(int Layer, int Head)>? alignmentHeads = null, JsonObject? training = null)
    {
        Directory.CreateDirectory(dir);
        int d = Shape.Hidden, I = Shape.FeedForward, V = DecoderSpec.Vocab, L = Shape.Layers;
        var opts = new JsonSerializerOptions { WriteIndented = true };
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("WhisperForConditionalGeneration"), ["model_type"] = "whisper", ["vocab_size"] = V,
            ["num_mel_bins"] = Shape.MelBins, ["d_model"] = d, ["encoder_layers"] = L, ["decoder_layers"] = L,
            ["encoder_attention_heads"] = Shape.Heads, ["decoder_attention_heads"] = Shape.Heads, ["encoder_ffn_dim"] = I, ["decoder_ffn_dim"] = I,
            ["activation_function"] = "gelu", ["max_source_positions"] = Shape.SourcePositions, ["max_target_positions"] = Shape.TargetPositions,
            ["scale_embedding"] = false, ["tie_word_embeddings"] = true, ["decoder_start_token_id"] = Vocabulary.StartOfTranscript,
            ["eos_token_id"] = Vocabulary.EndOfText, ["bos_token_id"] = Vocabulary.EndOfText, ["pad_token_id"] = Vocabulary.EndOfText, ["torch_dtype"] = "float32",
        };
        if (training is not null) config["attnscope_training"] = training;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString(opts));
        var gen = new JsonObject
        {
            ["decoder_start_token_id"] = Vocabulary.StartOfTranscript, ["eos_token_id"] = Vocabulary.EndOfText, ["max_length"] = Shape.TargetPositions,
            ["no_timestamps_token_id"] = Vocabulary.Prompt[^1],
        };
        if (alignmentHeads is { Count: > 0 }) gen["alignment_heads"] = new JsonArray(alignmentHeads.Select(h => (JsonNode)new JsonArray(h.Layer, h.Head)).ToArray());
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), gen.ToJsonString(opts));
        Vocabulary.Write(dir);
        var t = NamedTensors().Select(x => (x.Name, new FloatTensor(x.Shape, x.Value))).ToList();
        SafeTensorsFile.Write(Path.Combine(dir, "model.safetensors"), t, new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>Every tensor of the Hugging Face folder by name, with its shape and the array it lives in (saved as is, loaded into).</summary>
    private List<(string Name, int[] Shape, float[] Value)> NamedTensors()
    {
        int d = Shape.Hidden, I = Shape.FeedForward, V = DecoderSpec.Vocab, L = Shape.Layers;
        var t = new List<(string Name, int[] Shape, float[] Value)>
        {
            ("model.encoder.conv1.weight", [d, Shape.MelBins, 3], Convs.Conv1Weight),
            ("model.encoder.conv1.bias", [d], Convs.Conv1Bias),
            ("model.encoder.conv2.weight", [d, d, 3], Convs.Conv2Weight),
            ("model.encoder.conv2.bias", [d], Convs.Conv2Bias),
            ("model.encoder.embed_positions.weight", [Shape.SourcePositions, d], Encoder.PositionEmbeddings!),
            ("model.encoder.layer_norm.weight", [d], Encoder.FinalNormGain!),
            ("model.encoder.layer_norm.bias", [d], Encoder.FinalNormBias!),
            ("model.decoder.embed_tokens.weight", [V, d], Decoder.TokenEmbeddings),
            ("model.decoder.embed_positions.weight", [Shape.TargetPositions, d], Decoder.PositionEmbeddings!),
            ("model.decoder.layer_norm.weight", [d], Decoder.FinalNormGain!),
            ("model.decoder.layer_norm.bias", [d], Decoder.FinalNormBias!),
        };
        void Layers(string stack, CoreTensors core)
        {
            for (int l = 0; l < L; l++)
            {
                var c = core.Layers[l];
                string p = $"model.{stack}.layers.{l}.";
                void Add(string name, float[]? v, params int[] shape) { if (v is not null) t.Add((p + name, shape, v)); }
                Add("self_attn.q_proj.weight", c.Query, d, d); Add("self_attn.q_proj.bias", c.QueryBias, d);
                Add("self_attn.k_proj.weight", c.Key, d, d);
                Add("self_attn.v_proj.weight", c.Value, d, d); Add("self_attn.v_proj.bias", c.ValueBias, d);
                Add("self_attn.out_proj.weight", c.Output, d, d); Add("self_attn.out_proj.bias", c.OutputBias, d);
                Add("self_attn_layer_norm.weight", c.Norm1Gain, d); Add("self_attn_layer_norm.bias", c.Norm1Bias, d);
                Add("encoder_attn.q_proj.weight", c.CrossQuery, d, d); Add("encoder_attn.q_proj.bias", c.CrossQueryBias, d);
                Add("encoder_attn.k_proj.weight", c.CrossKey, d, d);
                Add("encoder_attn.v_proj.weight", c.CrossValue, d, d); Add("encoder_attn.v_proj.bias", c.CrossValueBias, d);
                Add("encoder_attn.out_proj.weight", c.CrossOutput, d, d); Add("encoder_attn.out_proj.bias", c.CrossOutputBias, d);
                Add("encoder_attn_layer_norm.weight", c.CrossNormGain, d); Add("encoder_attn_layer_norm.bias", c.CrossNormBias, d);
                Add("fc1.weight", c.Up, I, d); Add("fc1.bias", c.UpBias, I);
                Add("fc2.weight", c.Down, d, I); Add("fc2.bias", c.DownBias, d);
                Add("final_layer_norm.weight", c.Norm2Gain, d); Add("final_layer_norm.bias", c.Norm2Bias, d);
            }
        }
        Layers("encoder", Encoder);
        Layers("decoder", Decoder);
        return t;
    }

    /// <summary>
    /// A trainer that continues from a folder <see cref="Save"/> wrote: the shape from its config.json, the vocabulary
    /// from <paramref name="words"/> (the pool it was trained on; must give the same token count; default: the words its
    /// config.json records), every tensor from
    /// model.safetensors. The optimizer's moments start afresh.
    /// </summary>
    public static TinyWhisperTrainer Load(string dir, IReadOnlyList<string>? words = null, int seed = 1)
    {
        var cfgPath = Path.Combine(dir, "config.json");
        if (!File.Exists(cfgPath)) throw new AttnScopeException($"'{dir}' has no config.json (an earlier train-whisper output folder)");
        JsonNode? cfg;
        try { cfg = JsonNode.Parse(File.ReadAllText(cfgPath)); }
        catch (JsonException e) { throw new AttnScopeException($"'{cfgPath}' is not valid JSON: {e.Message}"); }
        int Int(string key) => cfg?[key] is JsonValue v && v.TryGetValue(out int x) ? x : throw new AttnScopeException($"'{cfgPath}' has no integer '{key}'");
        var shape = new TinyWhisperShape
        {
            Hidden = Int("d_model"), Layers = Int("decoder_layers"), Heads = Int("decoder_attention_heads"), FeedForward = Int("decoder_ffn_dim"),
            MelBins = Int("num_mel_bins"), SourcePositions = Int("max_source_positions"), TargetPositions = Int("max_target_positions"),
        };
        words ??= (cfg?["attnscope_training"]?["words"] as JsonArray)?.Select(w => w?.GetValue<string>() ?? "").ToArray()
            ?? throw new AttnScopeException($"'{cfgPath}' names no training words (attnscope_training.words); give the word pool");
        var trainer = new TinyWhisperTrainer(words, shape, seed);
        if (Int("vocab_size") != trainer.DecoderSpec.Vocab)
            throw new AttnScopeException($"'{dir}' has {Int("vocab_size")} tokens; the word pool's {words.Count} words give {trainer.DecoderSpec.Vocab}");
        using var st = SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors"));
        foreach (var (name, tshape, value) in trainer.NamedTensors())
        {
            if (!st.Contains(name)) throw new AttnScopeException($"'{dir}/model.safetensors' has no '{name}'");
            var x = st.ReadFloat(name);
            if (!x.Shape.SequenceEqual(tshape)) throw new AttnScopeException($"'{name}' has shape {x.ShapeText}; expected [{string.Join(", ", tshape)}]");
            x.Data.CopyTo(value, 0);
        }
        trainer.Model.Encoder.Repack();
        trainer.Model.Decoder.Repack();
        return trainer;
    }
}
