using System.Text;
using AttnScope.Capture;
using Microsoft.ML.Tokenizers;

namespace AttnScope.Training.Text;

/// <summary>Text encoded into sub-word ids (no BOS/EOS), with, for every piece, the index of the whitespace-split
/// word it came from (for word-level alignment), its UTF-16 span in the text, and its printable piece text.</summary>
internal sealed record EncodedText(int[] Ids, int[] WordIndex, (int Start, int End)[] Offsets, string[] Pieces)
{
    public int Length => Ids.Length;

    /// <summary>The first <paramref name="maxPieces"/> pieces (this object itself when it is no longer).</summary>
    public EncodedText Truncate(int maxPieces)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxPieces);
        return Ids.Length <= maxPieces ? this : new EncodedText(Ids[..maxPieces], WordIndex[..maxPieces], Offsets[..maxPieces], Pieces[..maxPieces]);
    }
}

/// <summary>A joint source+target sub-word vocabulary learned from the training side, saved in a standard form that
/// Microsoft.ML.Tokenizers loads, and encoding through that library. Ids 0..3 are pad, unk, bos, eos.</summary>
/// <remarks>The form is WordPiece: <c>vocab.txt</c>, one piece a line, line number = id, continuing pieces marked
/// "##" (what BERT-style tokenizers and Microsoft.ML.Tokenizers' <see cref="WordPieceTokenizer"/> read). Text is
/// split into words at whitespace (<see cref="Words"/>), each word is split into pieces by the library
/// (greedy longest match). A word with a character the vocabulary lacks, or longer than
/// <see cref="WordPieceLearner.MaxWordChars"/>, becomes one unk piece. No case folding or Unicode normalization is
/// applied, so <see cref="Decode"/> of an encoding gives back the text with its whitespace collapsed to single
/// spaces, as long as no word became unk.</remarks>
internal sealed class SubwordVocabulary
{
    public const int PadId = 0, UnkId = 1, BosId = 2, EosId = 3;
    public const string VocabFileName = "vocab.txt";
    internal static readonly string[] Specials = ["<pad>", "<unk>", "<bos>", "<eos>"];
    /// <summary>A BERT vocabulary's specials, which a run trained with a given vocab.txt keeps as ids 0..3 (pad, unk, bos, eos).</summary>
    internal static readonly string[] BertSpecials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"];

    /// <summary>A BERT WordPiece vocabulary (specials [PAD] [UNK] [CLS] [SEP]): text goes through BERT's basic
    /// tokenization (punctuation split off, control characters dropped; lower-cased and accents stripped when the
    /// vocabulary has no upper-case piece) before WordPiece, and <see cref="Decode"/> closes up punctuation.</summary>
    public bool IsBert { get; }
    /// <summary>Whether a BERT vocabulary is uncased (no piece holds a letter that lower-casing changes; MiniLM's "ℝ" has no
    /// lower case): text is lower-cased.</summary>
    public bool LowerCase { get; }

    private readonly string[] _pieces;
    private readonly WordPieceTokenizer _tokenizer;

    /// <summary>Pieces per word (ids and spans relative to the word), remembered for the first
    /// <see cref="CacheLimit"/> distinct words: corpora repeat words, and the library call is the cost of encoding.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (int Id, int Start, int End)[]> _cache = new(StringComparer.Ordinal);
    private const int CacheLimit = 200_000;
    private int _cached;

    public int Size => _pieces.Length;

    /// <summary>Every piece non-empty, without whitespace, and given once; the pieces as a set.</summary>
    private static HashSet<string> CheckPieces(IReadOnlyList<string> pieces, string prefix)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < pieces.Count; i++)
        {
            if (pieces[i].Length == 0 || pieces[i].Any(char.IsWhiteSpace))
                throw new AttnScopeException($"{prefix}line {i + 1} is empty or holds whitespace");
            if (!seen.Add(pieces[i]))
                throw new AttnScopeException($"{prefix}piece '{TokenText.Printable(pieces[i])}' appears twice (line {i + 1})");
        }
        return seen;
    }

    private SubwordVocabulary(string[] pieces, string origin)
    {
        IsBert = pieces.Length >= BertSpecials.Length && pieces.AsSpan(0, BertSpecials.Length).SequenceEqual(BertSpecials);
        var specials = IsBert ? BertSpecials : Specials;
        for (int i = 0; i < specials.Length; i++)
            if (pieces.Length <= i || pieces[i] != specials[i])
                throw new AttnScopeException($"vocabulary {origin}: line {i + 1} must be {Specials[i]} (ids 0..3 are {string.Join(", ", Specials)}, or {string.Join(", ", BertSpecials)} for a BERT vocabulary)");
        LowerCase = IsBert && !pieces.Skip(specials.Length).Any(p => !(p.StartsWith('[') && p.EndsWith(']')) && p.Any(c => char.ToLowerInvariant(c) != c));
        CheckPieces(pieces, $"vocabulary {origin}: ");
        _pieces = pieces;
        using var ms = new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", pieces) + "\n"));
        _tokenizer = WordPieceTokenizer.Create(ms, new WordPieceOptions
        {
            UnknownToken = specials[UnkId],
            ContinuingSubwordPrefix = WordPieceLearner.Prefix,
            MaxInputCharsPerWord = WordPieceLearner.MaxWordChars,
        });
    }

    /// <summary>Learns a vocabulary of at most <paramref name="size"/> entries from the given texts (both languages).</summary>
    /// <param name="extraPieces">Pieces added after the learned ones, within <paramref name="size"/> (e.g. a
    /// separator that never comes from text, such as fuzzy repair's "&lt;sep&gt;").</param>
    public static SubwordVocabulary Learn(IEnumerable<string> texts, int size, IReadOnlyList<string>? extraPieces = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        extraPieces ??= [];
        if (size < Specials.Length + extraPieces.Count + 2)
            throw new AttnScopeException($"a vocabulary needs room for the {Specials.Length + extraPieces.Count} special tokens and some pieces; {size} is too small");
        var pieces = WordPieceLearner.Learn(texts, size - Specials.Length - extraPieces.Count).Where(p => !extraPieces.Contains(p));
        return new SubwordVocabulary([.. Specials, .. pieces, .. extraPieces], "(learned)");
    }

    /// <summary>
    /// A given BERT WordPiece vocab.txt (one piece a line, "##" continuations) as a run's vocabulary: its pieces in
    /// their order, with [PAD], [UNK], [CLS] and [SEP] moved to ids 0..3, the model's pad, unk, bos and eos. A clear
    /// error for a file that is not one: not UTF-8, an empty or whitespace line, a repeated piece, a missing special.
    /// </summary>
    /// <param name="extraPieces">Pieces appended when the file lacks them (fuzzy repair's "&lt;sep&gt;", which never
    /// comes from text).</param>
    public static SubwordVocabulary FromBertVocab(string path, IReadOnlyList<string>? extraPieces = null)
    {
        if (!File.Exists(path)) throw new AttnScopeException($"vocabulary file not found: '{path}'");
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(File.ReadAllBytes(path)); }
        catch (DecoderFallbackException) { throw new AttnScopeException($"vocabulary file '{path}' is not valid UTF-8"); }
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        var seen = CheckPieces(lines, $"'{path}' is not a WordPiece vocab.txt: ");
        foreach (var special in BertSpecials)
            if (!seen.Contains(special))
                throw new AttnScopeException($"'{path}' is not a BERT vocab.txt: it has no {special} (a BERT vocabulary names [PAD], [UNK], [CLS] and [SEP])");
        if (lines.Count > Model.TransformerConfig.MaxVocabSize)
            throw new AttnScopeException($"'{path}' has {lines.Count} pieces, more than the {Model.TransformerConfig.MaxVocabSize} AttnScope supports");
        if (lines.Count < BertSpecials.Length + 2) throw new AttnScopeException($"'{path}' has only {lines.Count} pieces");
        var extra = (extraPieces ?? []).Where(e => !seen.Contains(e)).Distinct(StringComparer.Ordinal);
        return new SubwordVocabulary([.. BertSpecials, .. lines.Where(l => !BertSpecials.Contains(l)), .. extra], $"'{path}'");
    }

    /// <summary>Writes the vocabulary files into <paramref name="folder"/> (creating it).</summary>
    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        // Atomic: a full disk or a kill leaves the old file or none, never a cut vocabulary.
        AttnScope.Capture.Io.AtomicFile.WriteAllBytes(Path.Combine(folder, VocabFileName), new UTF8Encoding(false).GetBytes(string.Join("\n", _pieces) + "\n"));
    }

    /// <summary>Loads what <see cref="Save"/> wrote; a clear error if the files are missing or malformed.</summary>
    public static SubwordVocabulary Load(string folder)
    {
        var path = Path.Combine(folder, VocabFileName);
        if (!File.Exists(path)) throw new AttnScopeException($"vocabulary file not found: '{path}'");
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(File.ReadAllBytes(path)); }
        catch (DecoderFallbackException) { throw new AttnScopeException($"vocabulary file '{path}' is not valid UTF-8"); }
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return new SubwordVocabulary(lines.ToArray(), $"'{path}'");
    }

    public EncodedText Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        var wordIndex = new List<int>();
        var offsets = new List<(int, int)>();
        var pieces = new List<string>();
        var spans = Words.Spans(text);
        for (int w = 0; w < spans.Count; w++)
        {
            var (start, end) = spans[w];
            var word = text[start..end];
            if (!_cache.TryGetValue(word, out var wordPieces))
            {
                wordPieces = EncodeWord(word);
                if (Volatile.Read(ref _cached) < CacheLimit && _cache.TryAdd(word, wordPieces)) Interlocked.Increment(ref _cached);
            }
            foreach (var (id, s, e) in wordPieces)
            {
                ids.Add(id);
                wordIndex.Add(w);
                offsets.Add((start + s, start + e));
                pieces.Add(_pieces[id]);
            }
        }
        return new EncodedText(ids.ToArray(), wordIndex.ToArray(), offsets.ToArray(), pieces.ToArray());
    }

    private (int Id, int Start, int End)[] EncodeWord(string word)
    {
        if (IsBert) return EncodeBertWord(word);
        var tokens = _tokenizer.EncodeToTokens(word, out _, considerPreTokenization: false, considerNormalization: false);
        // WordPiece gives a whole word as unk when any part of it is unknown; keep that, with the word's span.
        if (tokens.Count == 0 || tokens.Any(t => t.Id == UnkId)) return [(UnkId, 0, word.Length)];
        return tokens.Select(t => (t.Id, t.Offset.Start.Value, t.Offset.End.Value)).ToArray();
    }

    /// <summary>A whitespace word of a BERT vocabulary: BERT's basic tokens (spans mapped back into the word), each split
    /// by WordPiece; a basic token WordPiece cannot cover is one [UNK] (as BERT does).</summary>
    private (int Id, int Start, int End)[] EncodeBertWord(string word)
    {
        var r = new List<(int, int, int)>();
        foreach (var basic in AttnScope.Sources.Tokenization.BertPreTokenizer.Split(word, LowerCase))
        {
            var tokens = _tokenizer.EncodeToTokens(basic.Text, out _, considerPreTokenization: false, considerNormalization: false);
            if (tokens.Count == 0 || tokens.Any(t => t.Id == UnkId)) { r.Add((UnkId, basic.OriginalStart, basic.OriginalEnd)); continue; }
            foreach (var t in tokens)
            {
                int s = Math.Clamp(t.Offset.Start.Value, 0, basic.Text.Length - 1), e = Math.Clamp(t.Offset.End.Value, s + 1, basic.Text.Length);
                r.Add((t.Id, basic.Starts[s], basic.Ends[e - 1]));
            }
        }
        return [.. r];
    }

    /// <summary>Detokenized text; pad/bos/eos are dropped.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var sb = new StringBuilder();
        foreach (var id in ids)
        {
            if (id is PadId or BosId or EosId) continue;
            var piece = PieceText(id);
            bool continues = id > EosId && id < _pieces.Length && piece.Length > WordPieceLearner.Prefix.Length
                             && piece.StartsWith(WordPieceLearner.Prefix, StringComparison.Ordinal);
            if (continues) sb.Append(piece, WordPieceLearner.Prefix.Length, piece.Length - WordPieceLearner.Prefix.Length);
            else
            {
                if (sb.Length > 0) sb.Append(' ');
                sb.Append(piece);
            }
        }
        return IsBert ? CloseUpPunctuation(sb.ToString()) : sb.ToString();
    }

    /// <summary>BERT's pieces come back space-separated: "hello , world ( yes ) don ' t" → "hello, world (yes) don't".</summary>
    internal static string CloseUpPunctuation(string text)
    {
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == ' ' && i + 1 < text.Length)
            {
                char next = text[i + 1], prev = sb.Length > 0 ? sb[^1] : ' ';
                bool closesLeft = ".,!?;:)]}%'".Contains(next) && (i + 2 >= text.Length || text[i + 2] == ' ' || next == '\'');
                bool opensRight = "([{'".Contains(prev) && (sb.Length < 2 || sb[^2] == ' ' || prev == '\'');
                if (closesLeft || opensRight) continue;
            }
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>The printable text of one piece (for capture token labels), e.g. "Hund", "##e" or "&lt;eos&gt;".</summary>
    public string PieceText(int id) => (uint)id < (uint)_pieces.Length ? _pieces[id] : $"<{id}>";

    /// <summary>Pads sequences of ids to one width with <see cref="PadId"/>: row-major [rows.Count, width], where width
    /// is the longest row (or <paramref name="minWidth"/> if larger).</summary>
    public static int[] PadRows(IReadOnlyList<int[]> rows, out int width, int minWidth = 0)
    {
        ArgumentNullException.ThrowIfNull(rows);
        width = Math.Max(minWidth, rows.Count == 0 ? 0 : rows.Max(r => r.Length));
        var padded = new int[rows.Count * width]; // PadId is 0
        for (int i = 0; i < rows.Count; i++) rows[i].CopyTo(padded, i * width);
        return padded;
    }

    /// <summary>The id of a piece as written in vocab.txt, or <see cref="UnkId"/>.</summary>
    public int IdOf(string piece) => Array.IndexOf(_pieces, piece) is var i and >= 0 ? i : UnkId;
}
