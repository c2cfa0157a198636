using System.Globalization;
using System.Text;
using AttnScope.Capture;
using Microsoft.ML.Tokenizers;

namespace AttnScope.Sources.Tokenization;

/// <summary>
/// Tokenizes text for decoder language models: GPT-2 style byte-level BPE (GPT-2, Qwen2, SmolLM, Llama 3) and Llama
/// style SentencePiece BPE ("▁" for spaces, byte fallback; Llama 2, Mistral). The merges are done by
/// Microsoft.ML.Tokenizers (<see cref="BpeTokenizer"/>, or its <see cref="LlamaTokenizer"/> for a tokenizer.model);
/// normalisation, splitting and added tokens are done here so every token keeps exact offsets.
/// </summary>
/// <remarks>
/// <para>Added tokens ("&lt;|endoftext|&gt;", "&lt;s&gt;", ...) are matched whole in the raw text, longest first, before
/// anything else; special ones become special tokens (offsets -1), the others ordinary tokens with their span. Their
/// lstrip/rstrip/single_word/normalized flags are not applied.</para>
/// <para>Offsets: a token's [Start, End) is the UTF-16 span of the input characters its bytes or symbols came from,
/// and its Text is that substring (a leading space shows as a real space, not "Ġ" or "▁"). A character whose UTF-8
/// bytes are split between tokens (an emoji in GPT-2) gives each of those tokens the span of the whole character, so
/// neighbouring spans can overlap and show the same character. After a Unicode normalisation (Qwen2's NFC) a character
/// cluster that changed gives each token touching it the span of the whole cluster. A token made only of characters
/// the tokenizer inserted (SentencePiece's leading "▁", ByteLevel's prefix space) has an empty span at its insertion
/// point and shows its vocabulary form (<see cref="TokenText"/>).</para>
/// <para>Pairs are refused: a decoder reads one text. BOS/EOS are added as tokenizer_config.json says (add_bos_token,
/// add_eos_token), else as the file's post-processor template says, else BOS for SentencePiece and nothing for
/// byte-level. Longer inputs keep their first <see cref="MaxLength"/> tokens (EOS, when added, stays last), with a
/// warning naming where the cut fell.</para>
/// <para>Split patterns run with .NET regexes, whose \p{L} and \p{N} see UTF-16 chars: letters outside the Basic
/// Multilingual Plane (rare CJK, mathematical letters) split as symbols would, which can differ from Hugging Face.</para>
/// </remarks>
internal sealed class BpeTextEncoder : ITextEncoder
{
    private readonly string _origin;
    private readonly string?[] _idToToken;
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<char, List<AddedToken>> _addedByFirstChar = [];
    private readonly Dictionary<int, AddedToken> _addedById = [];
    private readonly HashSet<int> _special = [];
    private readonly BpeTokenizer? _bpe;
    private readonly SentencePieceTokenizer? _sentencePiece;
    private readonly List<NormalizerStep> _normalizers;
    private readonly List<PreTokenizerStep> _preTokenizers;
    private readonly bool _byteFallback;
    private readonly bool _fuseUnknown;
    private readonly bool _ignoreMerges;
    private readonly int? _unknownId;
    private readonly int[] _byteTokenIds = new int[256];
    private readonly bool _stripLeadingSpace;

    /// <summary>Byte-level or SentencePiece.</summary>
    public BpeFlavour Flavour { get; }
    /// <inheritdoc/>
    public string Kind => Flavour == BpeFlavour.ByteLevel ? "byte-level BPE" : "SentencePiece BPE";
    /// <inheritdoc/>
    public int VocabSize => _idToToken.Length;
    /// <inheritdoc/>
    public int MaxLength { get; }
    /// <inheritdoc/>
    public int? BosId { get; }
    /// <inheritdoc/>
    public int? EosId { get; }
    /// <summary>Whether <see cref="Encode"/> puts <see cref="BosId"/> first.</summary>
    public bool AddsBos { get; }
    /// <summary>Whether <see cref="Encode"/> puts <see cref="EosId"/> last.</summary>
    public bool AddsEos { get; }
    /// <summary>The unknown token, when the vocabulary has one.</summary>
    public int? UnknownId => _unknownId;
    /// <summary>False: decoder models read one text.</summary>
    public bool AcceptsPairs => false;
    /// <summary>The added tokens matched whole in the text.</summary>
    public IReadOnlyCollection<AddedToken> AddedTokens => _addedById.Values;

    private BpeTextEncoder(BpeDefinition def, BpeTokenizer? bpe, SentencePieceTokenizer? sentencePiece, int maxLength, TokenizerConfig config)
    {
        if (maxLength < 2) throw new AttnScopeException($"the maximum length must be at least 2 tokens, not {maxLength}");
        _origin = def.Origin;
        Flavour = def.Flavour;
        MaxLength = maxLength;
        _vocab = def.Vocab;
        _bpe = bpe;
        _sentencePiece = sentencePiece;
        _normalizers = def.Normalizers;
        _preTokenizers = def.PreTokenizers;
        _byteFallback = def.ByteFallback;
        _fuseUnknown = def.FuseUnknown;
        _ignoreMerges = def.IgnoreMerges;

        var added = new List<AddedToken>(def.Added);
        foreach (var a in config.AddedTokens)
            if (!added.Any(x => x.Content == a.Content)) added.Add(a);
        int limit = (int)Math.Min(TokenizerLimits.MaxVocabulary, (long)_vocab.Count + added.Count);
        int size = _vocab.Count == 0 ? 0 : _vocab.Values.Max() + 1;
        foreach (var a in added)
        {
            if (a.Id >= limit)
                throw new AttnScopeException($"'{_origin}': added token \"{BpeFileReader.Short(a.Content)}\" has id {a.Id}, outside 0..{limit - 1}");
            size = Math.Max(size, a.Id + 1);
        }
        _idToToken = new string?[size];
        foreach (var (token, id) in _vocab) _idToToken[id] = token;
        foreach (var a in added)
        {
            _idToToken[a.Id] = a.Content;
            _addedById[a.Id] = a;
            if (a.Special) _special.Add(a.Id);
            if (!_addedByFirstChar.TryGetValue(a.Content[0], out var list)) _addedByFirstChar[a.Content[0]] = list = [];
            list.Add(a);
        }
        foreach (var list in _addedByFirstChar.Values) list.Sort((x, y) => y.Content.Length.CompareTo(x.Content.Length));

        for (int b = 0; b < 256; b++) _byteTokenIds[b] = Lookup($"<0x{b:X2}>") ?? -1;
        _unknownId = def.UnknownToken is null ? null : Lookup(def.UnknownToken);

        bool sp = Flavour == BpeFlavour.SentencePiece;
        var bosName = config.BosToken ?? def.TemplateBos ?? (sp ? "<s>" : "<|endoftext|>");
        var eosName = config.EosToken ?? def.TemplateEos ?? (sp ? "</s>" : "<|endoftext|>");
        BosId = Lookup(bosName);
        EosId = Lookup(eosName);
        AddsBos = config.AddBosToken ?? (def.HasTemplate ? def.TemplateBos is not null : sp);
        AddsEos = config.AddEosToken ?? (def.HasTemplate && def.TemplateEos is not null);
        if (AddsBos && BosId is null) throw new AttnScopeException($"'{_origin}': the tokenizer adds a BOS token but \"{BpeFileReader.Short(bosName)}\" is not in its vocabulary");
        if (AddsEos && EosId is null) throw new AttnScopeException($"'{_origin}': the tokenizer adds an EOS token but \"{BpeFileReader.Short(eosName)}\" is not in its vocabulary");
        foreach (var id in new[] { BosId, EosId }) if (id is int i) _special.Add(i);
        _stripLeadingSpace = sp && (_normalizers.Any(n => n is PrependStep) || _preTokenizers.Any(p => p is MetaspaceStep { Scheme: not PrependScheme.Never })
                                    || sentencePiece?.AddDummyPrefix == true);
    }

    /// <summary>The id of a token (an added token's content or a vocabulary piece), or null.</summary>
    public int? TokenId(string token) => Lookup(token);

    private int? Lookup(string token)
    {
        foreach (var a in _addedById.Values) if (a.Content == token) return a.Id;
        return _vocab.TryGetValue(token, out var id) ? id : null;
    }

    /// <summary>Reads a Hugging Face tokenizer.json whose model is BPE (byte-level or SentencePiece style).</summary>
    public static BpeTextEncoder FromTokenizerJson(string path, int maxLength, TokenizerConfig? config = null)
    {
        var def = BpeFileReader.FromTokenizerJson(path);
        return new BpeTextEncoder(def, CreateBpe(def), null, maxLength, config ?? TokenizerConfig.None);
    }

    /// <summary>Reads GPT-2's vocab.json and merges.txt (byte-level, no prefix space).</summary>
    public static BpeTextEncoder FromVocabAndMerges(string vocabJsonPath, string mergesPath, int maxLength, TokenizerConfig? config = null)
    {
        var def = BpeFileReader.FromVocabAndMerges(vocabJsonPath, mergesPath);
        return new BpeTextEncoder(def, CreateBpe(def), null, maxLength, config ?? TokenizerConfig.None);
    }

    /// <summary>
    /// Reads a SentencePiece BPE model (tokenizer.model, as shipped with Llama 2 and Mistral) through
    /// Microsoft.ML.Tokenizers' <see cref="LlamaTokenizer"/>. Its "▁" prefix is added to each text between added tokens.
    /// </summary>
    public static BpeTextEncoder FromSentencePieceModel(string path, int maxLength, TokenizerConfig? config = null)
    {
        if (!File.Exists(path)) throw new AttnScopeException($"tokenizer file not found: '{path}'");
        TokenizerLimits.CheckFileSize(path);
        SentencePieceTokenizer spm;
        try
        {
            using var stream = File.OpenRead(path);
            spm = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not AttnScopeException and not OutOfMemoryException)
        {
            throw new AttnScopeException($"'{path}' is not a usable SentencePiece BPE model: {e.Message}");
        }
        if (spm.TreatWhitespaceAsSuffix)
            throw new AttnScopeException($"'{path}' puts \"▁\" after words (treat_whitespace_as_suffix); only the Llama layout (before words) is supported");
        if (spm.Normalizer is SentencePieceNormalizer { RemoveExtraWhiteSpaces: true })
            throw new AttnScopeException($"'{path}' collapses runs of spaces (remove_extra_whitespaces), which would lose the offsets of the text; not supported");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (piece, id) in spm.Vocabulary)
        {
            if (id < 0 || id >= TokenizerLimits.MaxVocabulary) throw new AttnScopeException($"'{path}' has a piece with id {id}, outside 0..{TokenizerLimits.MaxVocabulary - 1}");
            vocab.TryAdd(piece, id);
        }
        var added = new List<AddedToken>();
        foreach (var (content, id) in new[] { (spm.BeginningOfSentenceToken, spm.BeginningOfSentenceId), (spm.EndOfSentenceToken, spm.EndOfSentenceId) })
            if (!string.IsNullOrEmpty(content) && id >= 0) added.Add(new AddedToken(id, content, true));
        var normalizers = new List<NormalizerStep>();
        if (spm.AddDummyPrefix) normalizers.Add(new PrependStep("▁"));
        if (spm.EscapeWhiteSpaces) normalizers.Add(new ReplaceStep(" ", "▁"));
        var def = new BpeDefinition
        {
            Origin = path, Flavour = BpeFlavour.SentencePiece, Vocab = vocab, Merges = [], Added = added,
            Normalizers = normalizers, ByteFallback = spm.ByteFallback, UnknownToken = spm.UnknownToken,
        };
        return new BpeTextEncoder(def, null, spm, maxLength, config ?? TokenizerConfig.None);
    }

    private static BpeTokenizer CreateBpe(BpeDefinition def)
    {
        try
        {
            return BpeTokenizer.Create(new BpeOptions(def.Vocab) { Merges = def.Merges.Select(m => m.Left + " " + m.Right) });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new AttnScopeException($"'{def.Origin}': the BPE model cannot be built: {e.Message}");
        }
    }

    /// <inheritdoc/>
    public string TokenText(int id) => (uint)id < (uint)_idToToken.Length && _idToToken[id] is { } t ? t : $"<{id}>";

    /// <inheritdoc/>
    public bool IsSpecial(int id) => _special.Contains(id);

    /// <summary>Encodes one text; a second text (pair) is refused, as decoder models read one text.</summary>
    public EncodedInput Encode(string text, string? pair = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (pair is not null)
            throw new AttnScopeException($"this model's tokenizer ({Kind}) reads one text: sentence pairs are a BERT notion; join the two texts into one");
        if (text.Length == 0) throw new AttnScopeException("the text is empty");

        var body = new List<CaptureToken>();
        int dropped = 0;
        bool firstSegment = true;
        foreach (var (start, end, addedToken) in SplitAdded(text))
        {
            if (addedToken is not null)
            {
                body.Add(addedToken.Special
                    ? new CaptureToken(addedToken.Content, addedToken.Id, -1, -1, Segment.A, true)
                    : new CaptureToken(text[start..end], addedToken.Id, start, end, Segment.A, false));
                firstSegment = false;
                continue;
            }
            foreach (var (id, s, e) in EncodeSegment(text, start, end, firstSegment, ref dropped))
                body.Add(new CaptureToken(e > s ? text[s..e] : TokenText(id), id, s, e, Segment.A, false));
            firstSegment = false;
        }
        if (body.Count == 0) throw new AttnScopeException($"the text {Quote(text)} produces no tokens");

        var warnings = new List<string>();
        int budget = MaxLength - (AddsBos ? 1 : 0) - (AddsEos ? 1 : 0);
        if (body.Count > budget)
        {
            var first = body.Skip(budget).FirstOrDefault(t => t.Start >= 0);
            var where = first is null ? "at a special token" : $"at character {first.Start}";
            var rest = first is null ? "" : $", starting at {Quote(text.Substring(first.Start, Math.Min(30, text.Length - first.Start)))}";
            warnings.Add($"input longer than the model's maximum of {MaxLength} tokens: the text was truncated {where} " +
                         $"({body.Count - budget} of {body.Count} tokens dropped{rest})");
            body = body.Take(budget).ToList();
        }
        if (_unknownId is int unk && body.Count(t => t.Id == unk && !t.IsSpecial) is > 0 and var unknown)
            warnings.Add($"{unknown} token(s) are not in the vocabulary and became {TokenText(unk)}");
        if (dropped > 0) warnings.Add($"{dropped} character(s) are not in the vocabulary and the tokenizer has no unknown token: they were left out");

        var tokens = new List<CaptureToken>(body.Count + 2);
        if (AddsBos) tokens.Add(new CaptureToken(TokenText(BosId!.Value), BosId.Value, -1, -1, Segment.A, true));
        tokens.AddRange(body);
        if (AddsEos) tokens.Add(new CaptureToken(TokenText(EosId!.Value), EosId.Value, -1, -1, Segment.A, true));
        return new EncodedInput(tokens.Select(t => t.Id).ToArray(), new int[tokens.Count], tokens, warnings);
    }

    /// <summary>Cuts the text into runs of ordinary text and added tokens (longest match first, left to right).</summary>
    private List<(int Start, int End, AddedToken? Added)> SplitAdded(string text)
    {
        var parts = new List<(int, int, AddedToken?)>();
        int runStart = 0;
        for (int i = 0; i < text.Length;)
        {
            AddedToken? hit = null;
            if (_addedByFirstChar.TryGetValue(text[i], out var candidates))
                foreach (var c in candidates)
                    if (string.CompareOrdinal(text, i, c.Content, 0, c.Content.Length) == 0) { hit = c; break; }
            if (hit is null) { i++; continue; }
            if (i > runStart) parts.Add((runStart, i, null));
            parts.Add((i, i + hit.Content.Length, hit));
            i += hit.Content.Length;
            runStart = i;
        }
        if (runStart < text.Length) parts.Add((runStart, text.Length, null));
        return parts;
    }

    private List<(int Id, int Start, int End)> EncodeSegment(string text, int start, int end, bool firstSegment, ref int dropped)
    {
        var normalized = AlignedText.FromOriginal(text, start, end);
        foreach (var n in _normalizers) normalized = n.Apply(normalized);
        var pieces = new List<AlignedText> { normalized };
        foreach (var p in _preTokenizers) pieces = p.Apply(pieces, firstSegment);

        var result = new List<(int, int, int)>();
        foreach (var piece in pieces)
        {
            if (piece.Length == 0) continue;
            if (_sentencePiece is not null) AlignSentencePiece(piece, result);
            else if (Flavour == BpeFlavour.ByteLevel) EncodeByteLevel(piece, result, ref dropped);
            else EncodeSymbols(piece.Text, Enumerable.Range(0, piece.Length).Select(i => (piece.StartOf(i), piece.EndOf(i))).ToArray(), allowByteFallback: true, result, ref dropped);
        }
        return result;
    }

    private static byte[] Utf8Of(AlignedText piece, int i, int n)
    {
        var s = piece.Text.Substring(i, n);
        return Encoding.UTF8.GetBytes(n == 1 && char.IsSurrogate(s[0]) ? "\uFFFD" : s);
    }

    private void EncodeByteLevel(AlignedText piece, List<(int, int, int)> result, ref int dropped)
    {
        var mapped = new StringBuilder();
        var spans = new List<(int, int)>();
        for (int i = 0; i < piece.Length;)
        {
            int n = piece.CharLength(i);
            var span = piece.SpanOf(i, i + n);
            foreach (var b in Utf8Of(piece, i, n)) { mapped.Append(ByteLevelAlphabet.Encode(b)); spans.Add(span); }
            i += n;
        }
        EncodeSymbols(mapped.ToString(), spans.ToArray(), allowByteFallback: false, result, ref dropped);
    }

    /// <summary>
    /// Runs BPE over runs of symbols the vocabulary knows; a symbol it does not know becomes byte tokens (SentencePiece
    /// byte fallback), else the unknown token (consecutive ones fused when the file says so), else is left out.
    /// </summary>
    private void EncodeSymbols(string symbols, (int Start, int End)[] spans, bool allowByteFallback, List<(int, int, int)> result, ref int dropped)
    {
        if (_ignoreMerges && _vocab.TryGetValue(symbols, out var whole))
        {
            var (ws, we) = Union(spans, 0, symbols.Length);
            result.Add((whole, ws, we));
            return;
        }
        int runStart = 0;
        bool lastWasUnknown = false;
        void FlushRun(int runEnd)
        {
            if (runEnd <= runStart) return;
            var run = symbols[runStart..runEnd];
            foreach (var t in _bpe!.EncodeToTokens(run, out _, considerPreTokenization: false, considerNormalization: false))
            {
                var (s, e) = Union(spans, runStart + t.Offset.Start.GetOffset(run.Length), runStart + t.Offset.End.GetOffset(run.Length));
                result.Add((t.Id, s, e));
            }
        }
        for (int i = 0; i < symbols.Length;)
        {
            int n = char.IsHighSurrogate(symbols[i]) && i + 1 < symbols.Length && char.IsLowSurrogate(symbols[i + 1]) ? 2 : 1;
            var symbol = symbols.Substring(i, n);
            if (_vocab.ContainsKey(symbol)) { lastWasUnknown = false; i += n; continue; }
            FlushRun(i);
            var (s, e) = Union(spans, i, i + n);
            var bytes = Encoding.UTF8.GetBytes(n == 1 && char.IsSurrogate(symbol[0]) ? "\uFFFD" : symbol);
            if (allowByteFallback && _byteFallback && bytes.All(b => _byteTokenIds[b] >= 0))
            {
                foreach (var b in bytes) result.Add((_byteTokenIds[b], s, e));
                lastWasUnknown = false;
            }
            else if (_unknownId is int unk)
            {
                if (lastWasUnknown && _fuseUnknown) result[^1] = (unk, result[^1].Item2, e);
                else result.Add((unk, s, e));
                lastWasUnknown = true;
            }
            else dropped++;
            i += n;
            runStart = i;
        }
        FlushRun(symbols.Length);
    }

    private static (int, int) Union((int Start, int End)[] spans, int from, int to)
    {
        int s = int.MaxValue, e = int.MinValue;
        for (int i = from; i < to; i++)
        {
            if (spans[i].End <= spans[i].Start) continue;
            s = Math.Min(s, spans[i].Start);
            e = Math.Max(e, spans[i].End);
        }
        return s == int.MaxValue ? (spans[from].Start, spans[from].Start) : (s, e);
    }

    /// <summary>Encodes a normalised piece with the SentencePiece model, then walks its pieces along the text for offsets.</summary>
    private void AlignSentencePiece(AlignedText piece, List<(int, int, int)> result)
    {
        var text = piece.Text;
        var ids = _sentencePiece!.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false, considerPreTokenization: false, considerNormalization: false);
        int pos = 0, byteInChar = 0, bytesOfChar = 0;
        foreach (var id in ids)
        {
            if (pos >= text.Length) throw Misaligned(id, text, pos);
            var token = TokenText(id);
            int n = piece.CharLength(pos);
            if (Array.IndexOf(_byteTokenIds, id) >= 0 || id == _unknownId)
            {
                var (s, e) = piece.SpanOf(pos, pos + n);
                result.Add((id, s, e));
                if (id == _unknownId) { pos += n; byteInChar = 0; continue; }
                if (byteInChar == 0) bytesOfChar = Utf8Of(piece, pos, n).Length;
                if (++byteInChar == bytesOfChar) { pos += n; byteInChar = 0; }
                continue;
            }
            if (byteInChar != 0 || string.CompareOrdinal(text, pos, token, 0, token.Length) != 0) throw Misaligned(id, text, pos);
            var span = piece.SpanOf(pos, pos + token.Length);
            result.Add((id, span.Start, span.End));
            pos += token.Length;
        }
        if (pos != text.Length) throw Misaligned(-1, text, pos);
    }

    private AttnScopeException Misaligned(int id, string text, int pos) =>
        new($"'{_origin}': the SentencePiece model's pieces ({(id < 0 ? "ended" : $"\"{TokenText(id)}\"")}) do not follow the text at {Quote(text[Math.Min(pos, text.Length)..])}; its offsets cannot be found");

    /// <summary>
    /// The text of the ids. Added tokens give their content (special ones left out with <paramref name="skipSpecialTokens"/>);
    /// byte-level pieces give their bytes; SentencePiece pieces give "▁" as a space and &lt;0xNN&gt; as a byte, and the
    /// space of the "▁" the tokenizer put at the start is removed. Bytes that form no character become U+FFFD.
    /// </summary>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>();
        bool atStart = true;
        foreach (var id in ids)
        {
            if (skipSpecialTokens && IsSpecial(id)) continue;
            var piece = PieceBytes(id);
            if (atStart && _stripLeadingSpace && !_addedById.ContainsKey(id) && piece.Length > 0 && piece[0] == (byte)' ')
                piece = piece[1..];
            if (!IsSpecial(id)) atStart = false;
            bytes.AddRange(piece);
        }
        return new UTF8Encoding(false, false).GetString(bytes.ToArray());
    }

    private byte[] PieceBytes(int id)
    {
        if (_addedById.TryGetValue(id, out var a)) return Encoding.UTF8.GetBytes(a.Content);
        var token = TokenText(id);
        if (Flavour == BpeFlavour.ByteLevel) return ByteLevelAlphabet.ToBytes(token);
        if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>' &&
            byte.TryParse(token.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
            return [b];
        return Encoding.UTF8.GetBytes(token.Replace('▁', ' '));
    }

    /// <summary>Decodes generated ids one at a time; SentencePiece spaces are kept (a continuation follows the prompt).</summary>
    public ContinuationDecoder StartContinuation() => new((id, _) => IsSpecial(id) ? null : PieceBytes(id), TokenText);

    private static string Quote(string s) => "\"" + (s.Length > 40 ? s[..40] + "…" : s) + "\"";
}
