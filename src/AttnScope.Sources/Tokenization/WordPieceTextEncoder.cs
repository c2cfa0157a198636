using System.Text;
using System.Text.Json;
using AttnScope.Capture;
using Microsoft.ML.Tokenizers;

namespace AttnScope.Sources.Tokenization;

/// <summary>
/// Turns text (or a sentence pair) into BERT inputs: <see cref="BertPreTokenizer"/> for normalisation and word
/// splitting with exact offsets, Microsoft.ML.Tokenizers' <see cref="WordPieceTokenizer"/> for the sub-word pieces,
/// then [CLS] A [SEP] (B [SEP]) with token type ids, truncated longest-first to the model's maximum with a warning.
/// </summary>
internal sealed class WordPieceTextEncoder : ITextEncoder
{
    private readonly WordPieceTokenizer _wordPiece;
    private readonly string[] _vocab;

    public bool LowerCase { get; }
    public int MaxLength { get; }
    public int ClsId { get; }
    public int SepId { get; }
    public int UnknownId { get; }
    public int VocabSize => _vocab.Length;
    /// <inheritdoc/>
    public string Kind => "WordPiece";
    /// <summary>None: BERT inputs start with [CLS], which is not a beginning-of-sequence token for generation.</summary>
    public int? BosId => null;
    /// <summary>None: BERT models do not generate.</summary>
    public int? EosId => null;
    /// <summary>True: a second text becomes segment B ([CLS] A [SEP] B [SEP]).</summary>
    public bool AcceptsPairs => true;
    private readonly HashSet<int> _specialIds = [];

    /// <summary>Largest vocab.txt read (docs/limits.md).</summary>
    public const long MaxVocabFileBytes = 64L << 20;
    /// <summary>Largest tokenizer.json read.</summary>
    public const long MaxTokenizerFileBytes = 256L << 20;

    private WordPieceTextEncoder(string[] vocab, bool lowerCase, int maxLength, string origin)
    {
        _vocab = vocab;
        LowerCase = lowerCase;
        MaxLength = maxLength;
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < vocab.Length; i++)
            if (!index.TryAdd(vocab[i], i))
                throw new AttnScopeException($"vocabulary {origin} lists the token \"{Capture.TokenText.Printable(vocab[i], 40)}\" twice (ids {index[vocab[i]]} and {i}); each token must appear once");
        int Special(string t) => index.TryGetValue(t, out var id) ? id
            : throw new AttnScopeException($"vocabulary {origin} has no {t} token; it is not a BERT WordPiece vocabulary");
        ClsId = Special("[CLS]");
        SepId = Special("[SEP]");
        UnknownId = Special("[UNK]");
        _specialIds.Add(ClsId);
        _specialIds.Add(SepId);
        foreach (var extra in new[] { "[PAD]", "[MASK]" })
            if (index.TryGetValue(extra, out var extraId)) _specialIds.Add(extraId);
        // The library reads one token a line (line number = id): a token holding a line break would shift every id
        // after it, so it becomes a placeholder no text can produce (whitespace never reaches WordPiece).
        var lines = new string[vocab.Length];
        for (int i = 0; i < vocab.Length; i++)
            lines[i] = vocab[i].AsSpan().ContainsAny('\r', '\n') ? Placeholder(i, index) : vocab[i];
        try
        {
            using var ms = new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n"));
            _wordPiece = WordPieceTokenizer.Create(ms, new WordPieceOptions { UnknownToken = "[UNK]", ContinuingSubwordPrefix = "##", MaxInputCharsPerWord = 100 });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new AttnScopeException($"vocabulary {origin} cannot be used as a WordPiece vocabulary ({e.Message})");
        }
    }

    /// <summary>A name for id <paramref name="id"/> that is no token of the vocabulary and that no text produces.</summary>
    private static string Placeholder(int id, Dictionary<string, int> taken)
    {
        var name = $"[unused {id}]";
        while (taken.ContainsKey(name)) name += "_";
        taken[name] = id;
        return name;
    }

    /// <summary>
    /// Reads a vocab.txt (one token a line, line number = id). Refused with one line: a missing, empty, over-large
    /// (<see cref="MaxVocabFileBytes"/>) file, more than <paramref name="maxVocab"/> lines, a token listed twice.
    /// </summary>
    public static WordPieceTextEncoder FromVocabFile(string path, bool lowerCase, int maxLength, int maxVocab = Models.BertConfig.MaxVocabSize)
    {
        if (!File.Exists(path)) throw new AttnScopeException($"vocabulary file not found: '{path}'");
        long size = new FileInfo(path).Length;
        if (size > MaxVocabFileBytes)
            throw new AttnScopeException($"vocabulary file '{path}' is {size} bytes, more than the {MaxVocabFileBytes} AttnScope reads");
        var text = File.ReadAllText(path, Encoding.UTF8);
        var vocab = text.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        if (vocab.Length > 0 && vocab[^1].Length == 0) vocab = vocab[..^1];
        if (vocab.Length == 0) throw new AttnScopeException($"vocabulary file '{path}' is empty");
        if (vocab.Length > maxVocab)
            throw new AttnScopeException($"vocabulary file '{path}' has {vocab.Length} tokens but the model's vocabulary is {maxVocab}");
        return new WordPieceTextEncoder(vocab, lowerCase, maxLength, $"'{path}'");
    }

    /// <summary>
    /// Reads a WordPiece tokenizer.json (Hugging Face tokenizers format): its vocab and lower-casing. Every id is
    /// checked (0 ≤ id &lt; <paramref name="maxVocab"/>, each used once) before the vocabulary is allocated.
    /// </summary>
    public static WordPieceTextEncoder FromTokenizerJson(string path, bool? lowerCase, int maxLength, int maxVocab = Models.BertConfig.MaxVocabSize)
    {
        if (!File.Exists(path)) throw new AttnScopeException($"tokenizer file not found: '{path}'");
        long size = new FileInfo(path).Length;
        if (size > MaxTokenizerFileBytes)
            throw new AttnScopeException($"tokenizer file '{path}' is {size} bytes, more than the {MaxTokenizerFileBytes} AttnScope reads");
        string Bad(string why) => $"'{path}' is not a valid tokenizer.json: {why}";
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 64, AllowDuplicateProperties = false });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new AttnScopeException(Bad("it is not a JSON object"));
            if (!doc.RootElement.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw new AttnScopeException(Bad("it has no \"model\" object"));
            var type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type != "WordPiece")
                throw new AttnScopeException($"'{path}' holds a {Capture.TokenText.Escaped(type ?? "unknown")} tokenizer; only WordPiece (BERT family) is supported here");
            if (!model.TryGetProperty("vocab", out var vocabJson) || vocabJson.ValueKind != JsonValueKind.Object)
                throw new AttnScopeException(Bad("its model has no \"vocab\" object"));
            var entries = new List<(string Name, int Id)>();
            int maxId = -1;
            foreach (var p in vocabJson.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt64(out var id))
                    throw new AttnScopeException(Bad($"the id of token \"{Capture.TokenText.Printable(p.Name, 40)}\" is not a whole number"));
                if (id < 0 || id >= maxVocab)
                    throw new AttnScopeException(Bad($"token \"{Capture.TokenText.Printable(p.Name, 40)}\" has id {id}, outside the model's vocabulary of {maxVocab} (0..{maxVocab - 1})"));
                entries.Add((p.Name, (int)id));
                maxId = Math.Max(maxId, (int)id);
            }
            if (entries.Count == 0) throw new AttnScopeException(Bad("its vocabulary is empty"));
            // Ids are below maxVocab (checked above), so this allocation is bounded by the model's own size.
            var vocab = new string?[maxId + 1];
            foreach (var (name, id) in entries)
            {
                if (vocab[id] is { } other)
                    throw new AttnScopeException(Bad($"id {id} is given to both \"{Capture.TokenText.Printable(other, 40)}\" and \"{Capture.TokenText.Printable(name, 40)}\""));
                vocab[id] = name;
            }
            var names = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var (name, id) in entries) names[name] = id;
            var full = new string[vocab.Length];
            for (int i = 0; i < vocab.Length; i++) full[i] = vocab[i] ?? Placeholder(i, names);
            bool lc = lowerCase ?? FindLowercase(doc.RootElement);
            return new WordPieceTextEncoder(full, lc, maxLength, $"'{path}'");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new AttnScopeException(Bad(e.Message));
        }
    }

    private static bool FindLowercase(JsonElement root)
    {
        if (root.TryGetProperty("normalizer", out var n) && n.ValueKind == JsonValueKind.Object &&
            n.TryGetProperty("lowercase", out var lc) && lc.ValueKind is JsonValueKind.True or JsonValueKind.False)
            return lc.GetBoolean();
        return true;
    }

    public string TokenText(int id) => (uint)id < (uint)_vocab.Length ? _vocab[id] : $"<{id}>";

    /// <summary>[CLS], [SEP], [PAD] and [MASK] are special; [UNK] stands for text and is not.</summary>
    public bool IsSpecial(int id) => _specialIds.Contains(id);

    /// <summary>
    /// Joins the pieces: "##" pieces glue to the previous one, others follow a space. The text is the normalised form
    /// (lower-cased, accents stripped, punctuation spaced), not the original.
    /// </summary>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false)
    {
        var sb = new StringBuilder();
        foreach (var id in ids)
        {
            if (skipSpecialTokens && IsSpecial(id)) continue;
            var piece = TokenText(id);
            if (piece.StartsWith("##", StringComparison.Ordinal) && sb.Length > 0) sb.Append(piece, 2, piece.Length - 2);
            else { if (sb.Length > 0) sb.Append(' '); sb.Append(piece); }
        }
        return sb.ToString();
    }

    /// <summary>Decodes ids one at a time with the joining rule of <see cref="Decode"/>.</summary>
    public ContinuationDecoder StartContinuation() => new((id, first) =>
    {
        if (IsSpecial(id)) return null;
        var piece = TokenText(id);
        if (piece.StartsWith("##", StringComparison.Ordinal) && !first) return Encoding.UTF8.GetBytes(piece[2..]);
        return Encoding.UTF8.GetBytes(first ? piece : " " + piece);
    }, TokenText);

    private List<CaptureToken> Pieces(string text, Segment segment)
    {
        var result = new List<CaptureToken>();
        foreach (var word in BertPreTokenizer.Split(text, LowerCase))
        {
            var tokens = _wordPiece.EncodeToTokens(word.Text, out _, considerPreTokenization: false, considerNormalization: false);
            foreach (var t in tokens)
            {
                int s = Math.Clamp(t.Offset.Start.Value, 0, word.Text.Length - 1);
                int e = Math.Clamp(t.Offset.End.Value, s + 1, word.Text.Length);
                result.Add(new CaptureToken(t.Value, t.Id, word.Starts[s], word.Ends[e - 1], segment, false));
            }
        }
        return result;
    }

    /// <summary>Encodes one text or a sentence pair. Empty text, or text with no tokens, is an error.</summary>
    public EncodedInput Encode(string text, string? pair = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (string.IsNullOrWhiteSpace(text)) throw new AttnScopeException("the text is empty");
        if (pair is not null && string.IsNullOrWhiteSpace(pair)) throw new AttnScopeException("the second text (pair) is empty");
        var a = Pieces(text, Segment.A);
        if (a.Count == 0) throw new AttnScopeException($"the text {Quote(text)} produces no tokens (only special tokens would remain)");
        List<CaptureToken>? b = null;
        if (pair is not null)
        {
            b = Pieces(pair, Segment.B);
            if (b.Count == 0) throw new AttnScopeException($"the second text {Quote(pair)} produces no tokens (only special tokens would remain)");
        }

        var warnings = new List<string>();
        int specials = b is null ? 2 : 3;
        int budget = MaxLength - specials;
        int total = a.Count + (b?.Count ?? 0);
        if (total > budget)
        {
            int keepA = a.Count, keepB = b?.Count ?? 0;
            while (keepA + keepB > budget)
            {
                if (keepA >= keepB) keepA--; else keepB--;
            }
            if (keepA < a.Count) warnings.Add(CutWarning("text", text, a, keepA));
            if (b is not null && keepB < b.Count) warnings.Add(CutWarning("second text", pair!, b, keepB));
            a = a.Take(keepA).ToList();
            b = b?.Take(keepB).ToList();
        }
        var unknown = a.Concat(b ?? []).Count(t => t.Id == UnknownId);
        if (unknown > 0) warnings.Add($"{unknown} token(s) are not in the vocabulary and became [UNK]");

        var tokens = new List<CaptureToken>(MaxLength);
        tokens.Add(new CaptureToken("[CLS]", ClsId, -1, -1, Segment.A, true));
        tokens.AddRange(a);
        tokens.Add(new CaptureToken("[SEP]", SepId, -1, -1, Segment.A, true));
        if (b is not null)
        {
            tokens.AddRange(b);
            tokens.Add(new CaptureToken("[SEP]", SepId, -1, -1, Segment.B, true));
        }
        var ids = tokens.Select(t => t.Id).ToArray();
        var types = tokens.Select(t => t.Segment == Segment.B ? 1 : 0).ToArray();
        return new EncodedInput(ids, types, tokens, warnings);
    }

    private string CutWarning(string which, string text, List<CaptureToken> pieces, int keep)
    {
        int dropped = pieces.Count - keep;
        int cutAt = pieces[keep].Start;
        return $"input longer than the model's maximum of {MaxLength} tokens: the {which} was truncated at character {cutAt} " +
               $"({dropped} of {pieces.Count} tokens dropped, starting at {Quote(text.Substring(cutAt, Math.Min(30, text.Length - cutAt)))})";
    }

    private static string Quote(string s) => "\"" + (s.Length > 40 ? s[..40] + "…" : s) + "\"";
}
