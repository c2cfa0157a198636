using AttnScope.Capture;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Sources.Transformer.Families;

/// <summary>
/// A Marian (opus-mt) folder as a translator: config.json + model.safetensors through <see cref="MarianFamily"/>, and
/// source.spm / target.spm / vocab.json through <see cref="MarianTokenizer"/>, checked to agree (vocab.json's ids fit
/// the model's vocabulary; &lt;/s&gt; and &lt;pad&gt; are the model's eos and decoder start).
/// </summary>
internal sealed class MarianTranslator
{
    public required EncoderDecoderModel Model { get; init; }
    public required MarianTokenizer Tokenizer { get; init; }

    /// <summary>
    /// The local folder of a Marian model: a folder as given, or <c>hf:ORG/NAME[@revision]</c> downloaded into the Hugging
    /// Face cache layout (config.json, model.safetensors, source.spm, target.spm, vocab.json; tokenizer_config.json when
    /// the repository has it).
    /// </summary>
    public static string ResolveFolder(string name, HubClient? hub = null)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new AttnScopeException("no model named");
        if (!name.StartsWith("hf:", StringComparison.Ordinal)) return name;
        var (repo, rev) = HubClient.ParseModelName(name);
        hub ??= new HubClient();
        return hub.EnsureAsync(repo, rev,
        [
            (["config.json"], true),
            (["model.safetensors"], true),
            (["source.spm"], true),
            (["target.spm"], true),
            (["vocab.json"], true),
            (["tokenizer_config.json"], false),
        ]).GetAwaiter().GetResult();
    }

    /// <summary>Whether a folder is a Marian model: its config.json says model_type marian.</summary>
    public static bool IsMarianModelFolder(string dir)
    {
        var path = Path.Combine(dir, "config.json");
        return Directory.Exists(dir) && File.Exists(path) && ModelFamilies.ModelType(path) == MarianFamily.ModelType;
    }

    public static MarianTranslator Load(string dir)
    {
        var config = Path.Combine(dir, "config.json");
        var weights = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(config)) throw new AttnScopeException($"{dir}: no config.json");
        if (!File.Exists(weights)) throw new AttnScopeException($"{dir}: no model.safetensors (PyTorch .bin weights are not read)");
        var tok = MarianTokenizer.Load(dir);
        var model = MarianFamily.Load(config, SafetensorsWeights.Load(weights));
        int v = model.Decoder.Spec.Vocab;
        if (tok.VocabSize > v)
            throw new AttnScopeException($"{dir}: vocab.json has ids up to {tok.VocabSize - 1} but the model's vocab_size is {v}");
        if (model.EosId is int eos && eos != tok.EosId)
            throw new AttnScopeException($"{dir}: config.json's eos_token_id {eos} is not vocab.json's </s> ({tok.EosId})");
        if (model.DecoderStartId != tok.PadId)
            throw new AttnScopeException($"{dir}: config.json's decoder start {model.DecoderStartId} is not vocab.json's <pad> ({tok.PadId})");
        return new MarianTranslator { Model = model, Tokenizer = tok };
    }

    /// <summary>Most tokens a translation of <paramref name="sourceLength"/> source tokens produces by default.</summary>
    public int DefaultMaxNew(int sourceLength) => Math.Min(Model.Decoder.Spec.MaxPositions - 1, Math.Min(512, 2 * sourceLength + 16));

    /// <summary>Source ids of a text (pieces, then &lt;/s&gt;), checked against the encoder's length.</summary>
    public MarianTokenizer.Encoded EncodeSource(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new AttnScopeException("nothing to translate: the text is empty");
        var src = Tokenizer.EncodeSource(text);
        if (src.Ids.Length > Model.Encoder.Spec.MaxPositions)
            throw new AttnScopeException($"the source has {src.Ids.Length} tokens; the model reads at most {Model.Encoder.Spec.MaxPositions}");
        return src;
    }

    /// <summary>
    /// Beam search translation (<see cref="EncoderDecoderModel.Beam"/>; beam 1 is greedy) with the pad token banned,
    /// as Hugging Face's Marian configurations do.
    /// </summary>
    public MarianTranslation Translate(string text, int beam = 1, double lengthPenalty = 1.0, int? maxNew = null)
    {
        var src = EncodeSource(text);
        return Translate(text, src.Ids, src.Pieces, beam, lengthPenalty, maxNew);
    }

    /// <summary>As <see cref="Translate(string, int, double, int?)"/> from source ids (pieces for the capture's labels).</summary>
    public MarianTranslation Translate(string text, int[] sourceIds, string[]? pieces, int beam = 1, double lengthPenalty = 1.0, int? maxNew = null)
    {
        int limit = maxNew ?? DefaultMaxNew(sourceIds.Length);
        var r = Model.Beam(sourceIds, beam, lengthPenalty, limit, [Model.DecoderStartId]);
        var warnings = new List<string>();
        if (!r.Best.Finished) warnings.Add($"the translation reached the length limit ({limit} tokens) before an end-of-sentence token");
        return new MarianTranslation(text, Tokenizer.Decode(r.Best.Ids), sourceIds, pieces ?? sourceIds.Select(Tokenizer.TokenText).ToArray(),
            r.Best.Ids, r.Best.Finished, r.Best.Score, warnings);
    }

    /// <summary>
    /// The attention of the model producing <paramref name="t"/>: the encoder over the source, then the decoder re-reading
    /// the start token and the produced tokens (teacher forcing gives the numbers the decoding computed, the decoder being
    /// causal). Stacks encoder [L,H,S,S], decoder [L,H,T,T] and cross [L,H,T,S]; Tokens are the source pieces with
    /// &lt;/s&gt;, TargetTokens the decoder inputs (&lt;pad&gt; start, then the produced pieces; the final &lt;/s&gt; is
    /// predicted by the last row, never read).
    /// </summary>
    public AttentionCapture Capture(MarianTranslation t, string modelId)
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
            Architecture = "marian",
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

/// <summary>A Marian translation: the text, the source ids and pieces (ending in &lt;/s&gt;), the produced ids (no start,
/// no EOS), whether EOS ended it, its length-normalized score and notes.</summary>
internal sealed record MarianTranslation(string Source, string Text, int[] SourceIds, string[] SourcePieces, int[] TargetIds, bool Finished,
    double Score, IReadOnlyList<string> Warnings);
