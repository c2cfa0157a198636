using AttnScope.Capture;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Sources.Transformer.Families;

/// <summary>
/// A translation model folder as a translator, by config.json's <c>model_type</c>:
/// <list type="bullet">
/// <item>Marian (opus-mt): model.safetensors through <see cref="MarianFamily"/>, source.spm / target.spm / vocab.json
/// through <see cref="MarianTokenizer"/>;</item>
/// <item>T5 (t5, mt5, flan-t5): model.safetensors through <see cref="T5Family"/>, spiece.model through
/// <see cref="T5Tokenizer"/> (the task prefix, e.g. "translate English to German: ", is part of the text).</item>
/// </list>
/// Tokenizer and model are checked to agree: the tokenizer's ids fit the model's vocabulary; &lt;/s&gt; and &lt;pad&gt;
/// are the model's eos and decoder start.
/// </summary>
internal sealed class Seq2SeqTranslator
{
    public required EncoderDecoderModel Model { get; init; }
    public required ISeq2SeqTokenizer Tokenizer { get; init; }
    /// <summary>The family, as written into captures (<c>marian</c>, <c>t5</c>).</summary>
    public string Architecture { get; init; } = MarianFamily.ModelType;

    /// <summary>
    /// The local folder of a translation model: a folder as given, or <c>hf:ORG/NAME[@revision]</c> downloaded into the
    /// Hugging Face cache layout: config.json first, then by its model_type model.safetensors and the tokenizer's files
    /// (Marian: source.spm, target.spm, vocab.json; T5: spiece.model), tokenizer_config.json when the repository has it.
    /// </summary>
    public static string ResolveFolder(string name, HubClient? hub = null)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new AttnScopeException("no model named");
        if (!name.StartsWith("hf:", StringComparison.Ordinal)) return name;
        var (repo, rev) = HubClient.ParseModelName(name);
        hub ??= new HubClient();
        var folder = hub.EnsureAsync(repo, rev, [(["config.json"], true)]).GetAwaiter().GetResult();
        string? type = ModelFamilies.ModelType(Path.Combine(folder, "config.json"));
        (string[] Names, bool Required)[] files = T5Family.IsT5(type)
            ? [(["config.json"], true), (["model.safetensors"], true), (["spiece.model"], true), (["tokenizer_config.json"], false)]
            : type == MarianFamily.ModelType
            ? [(["config.json"], true), (["model.safetensors"], true), (["source.spm"], true), (["target.spm"], true), (["vocab.json"], true), (["tokenizer_config.json"], false)]
            : throw new AttnScopeException($"{name}: model_type '{type}' is not a translation family AttnScope runs ({Families})");
        return hub.EnsureAsync(repo, rev, files).GetAwaiter().GetResult();
    }

    private static string Families => string.Join(", ", [MarianFamily.ModelType, .. T5Family.ModelTypes]);

    /// <summary>model_type of a folder's config.json when it names a translation family, else null.</summary>
    public static string? TranslationModelType(string dir)
    {
        var path = Path.Combine(dir, "config.json");
        if (!Directory.Exists(dir) || !File.Exists(path)) return null;
        string? type = ModelFamilies.ModelType(path);
        return type == MarianFamily.ModelType || T5Family.IsT5(type) ? type : null;
    }

    /// <summary>Whether a folder is a translation model this build runs (Marian or T5, by config.json's model_type).</summary>
    public static bool IsTranslationModelFolder(string dir) => TranslationModelType(dir) is not null;

    public static Seq2SeqTranslator Load(string dir)
    {
        var config = Path.Combine(dir, "config.json");
        var weights = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(config)) throw new AttnScopeException($"{dir}: no config.json");
        if (!File.Exists(weights)) throw new AttnScopeException($"{dir}: no model.safetensors (PyTorch .bin weights are not read)");
        string? type = ModelFamilies.ModelType(config);
        bool t5 = T5Family.IsT5(type);
        if (!t5 && type != MarianFamily.ModelType) throw new AttnScopeException($"{config}: model_type '{type}' is not a translation family AttnScope runs ({Families})");
        var model = t5 ? T5Family.Load(config, SafetensorsWeights.Load(weights)) : MarianFamily.Load(config, SafetensorsWeights.Load(weights));
        int v = model.Decoder.Spec.Vocab;
        var tok = LoadTokenizer(dir, v);
        string files = t5 ? "spiece.model" : "vocab.json";
        if (tok.VocabSize > v)
            throw new AttnScopeException($"{dir}: {files} has ids up to {tok.VocabSize - 1} but the model's vocab_size is {v}");
        if (model.EosId is int eos && eos != tok.EosId)
            throw new AttnScopeException($"{dir}: config.json's eos_token_id {eos} is not {files}'s </s> ({tok.EosId})");
        if (model.DecoderStartId != tok.PadId)
            throw new AttnScopeException($"{dir}: config.json's decoder start {model.DecoderStartId} is not {files}'s <pad> ({tok.PadId})");
        return new Seq2SeqTranslator { Model = model, Tokenizer = tok, Architecture = t5 ? "t5" : MarianFamily.ModelType };
    }

    /// <summary>The tokenizer of a translation model folder, by its config.json's model_type (T5: spiece.model, its sentinels
    /// fitted to <paramref name="modelVocab"/>; Marian: source.spm, target.spm, vocab.json).</summary>
    public static ISeq2SeqTokenizer LoadTokenizer(string dir, int modelVocab)
    {
        string? type = ModelFamilies.ModelType(Path.Combine(dir, "config.json"));
        if (T5Family.IsT5(type))
        {
            if (!T5Tokenizer.IsT5Folder(dir)) throw new AttnScopeException($"{dir}: a T5 model needs its tokenizer, spiece.model (tokenizer.json alone is not read)");
            return T5Tokenizer.Load(dir, modelVocab);
        }
        return MarianTokenizer.Load(dir);
    }

    /// <summary>Most tokens a translation of <paramref name="sourceLength"/> source tokens produces by default.</summary>
    public int DefaultMaxNew(int sourceLength) => Math.Min(Model.Decoder.Spec.MaxPositions - 1, Math.Min(512, 2 * sourceLength + 16));

    /// <summary>Source ids of a text (pieces, then &lt;/s&gt;), checked against the encoder's length.</summary>
    public EncodedText EncodeSource(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new AttnScopeException("nothing to translate: the text is empty");
        var src = Tokenizer.EncodeSource(text);
        if (src.Ids.Length > Model.Encoder.Spec.MaxPositions)
            throw new AttnScopeException($"the source has {src.Ids.Length} tokens; the model reads at most {Model.Encoder.Spec.MaxPositions}");
        return src;
    }

    /// <summary>
    /// Beam search translation (<see cref="EncoderDecoderModel.Beam"/>; beam 1 is greedy); Marian bans the pad token,
    /// as Hugging Face's Marian configurations do (T5's configurations ban nothing).
    /// </summary>
    public Seq2SeqTranslation Translate(string text, int beam = 1, double lengthPenalty = 1.0, int? maxNew = null)
    {
        var src = EncodeSource(text);
        return Translate(text, src.Ids, src.Pieces, beam, lengthPenalty, maxNew);
    }

    /// <summary>As <see cref="Translate(string, int, double, int?)"/> from source ids (pieces for the capture's labels).</summary>
    public Seq2SeqTranslation Translate(string text, int[] sourceIds, string[]? pieces, int beam = 1, double lengthPenalty = 1.0, int? maxNew = null)
    {
        int limit = maxNew ?? DefaultMaxNew(sourceIds.Length);
        var r = Model.Beam(sourceIds, beam, lengthPenalty, limit, Architecture == MarianFamily.ModelType ? [Model.DecoderStartId] : null);
        var warnings = new List<string>();
        if (!r.Best.Finished) warnings.Add($"the translation reached the length limit ({limit} tokens) before an end-of-sentence token");
        return new Seq2SeqTranslation(text, Tokenizer.Decode(r.Best.Ids), sourceIds, pieces ?? sourceIds.Select(Tokenizer.TokenText).ToArray(),
            r.Best.Ids, r.Best.Finished, r.Best.Score, warnings);
    }

    /// <summary>
    /// The attention of the model producing <paramref name="t"/>: the encoder over the source, then the decoder re-reading
    /// the start token and the produced tokens (teacher forcing gives the numbers the decoding computed, the decoder being
    /// causal). Stacks encoder [L,H,S,S], decoder [L,H,T,T] and cross [L,H,T,S]; Tokens are the source pieces with
    /// &lt;/s&gt;, TargetTokens the decoder inputs (&lt;pad&gt; start, then the produced pieces; the final &lt;/s&gt; is
    /// predicted by the last row, never read).
    /// </summary>
    public AttentionCapture Capture(Seq2SeqTranslation t, string modelId)
    {
        var enc = Model.Encode(t.SourceIds);
        var dec = Model.Decode([Model.DecoderStartId, .. t.TargetIds], enc.Hidden, LogitRows.None);
        var tokens = new List<CaptureToken>();
        for (int i = 0; i < t.SourceIds.Length; i++)
            tokens.Add(new CaptureToken(t.SourcePieces[i], t.SourceIds[i], -1, -1, Segment.A, Tokenizer.IsSpecial(t.SourceIds[i])));
        var target = new List<CaptureToken> { new(Tokenizer.TokenText(Model.DecoderStartId), Model.DecoderStartId, -1, -1, Segment.B, true) };
        foreach (int id in t.TargetIds) target.Add(new CaptureToken(Tokenizer.TokenText(id), id, -1, -1, Segment.B, Tokenizer.IsSpecial(id)));
        var meta = new CaptureMetadata
        {
            ModelId = modelId,
            Architecture = Architecture,
            Source = "managed",
            Texts = [t.Source, t.Text],
            Warnings = t.Warnings,
            Extra = new Dictionary<string, string>
            {
                ["translation"] = t.Text,
                ["target_rows"] = "decoder inputs: row t produced target piece t+1 (when the translation finished, the last row produced the end of sentence)",
            },
        };
        return new AttentionCapture(meta, tokens,
            [new AttentionStack(AttentionStack.Encoder, enc.Attention!), new AttentionStack(AttentionStack.Decoder, dec.Attention!), new AttentionStack(AttentionStack.Cross, dec.CrossAttention!)],
            target);
    }

    /// <summary>Greedy translation of one text: the target ids (without the start token) and their text.</summary>
    public (int[] Ids, string Text) TranslateGreedy(string text, int maxNew = 256)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new AttnScopeException("nothing to translate: the text is empty");
        var src = Tokenizer.EncodeSource(text).Ids;
        if (src.Length > Model.Encoder.Spec.MaxPositions)
            throw new AttnScopeException($"the source has {src.Length} tokens; the model reads at most {Model.Encoder.Spec.MaxPositions}");
        var ids = Model.Greedy(src, maxNew);
        return (ids, Tokenizer.Decode(ids));
    }
}

/// <summary>A translation: the text, the source ids and pieces (ending in &lt;/s&gt;), the produced ids (no start,
/// no EOS), whether EOS ended it, its length-normalized score and notes.</summary>
internal sealed record Seq2SeqTranslation(string Source, string Text, int[] SourceIds, string[] SourcePieces, int[] TargetIds, bool Finished,
    double Score, IReadOnlyList<string> Warnings);
