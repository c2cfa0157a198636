using System.Text;
using System.Text.RegularExpressions;
using AttnScope.Capture;
using Microsoft.ML.Tokenizers;

namespace AttnScope.Sources.Tokenization;

/// <summary>
/// The tokenizer of T5 models, as Hugging Face's T5Tokenizer: one SentencePiece unigram model (spiece.model) for both
/// sides whose ids are the model's ids (pad 0, &lt;/s&gt; 1, &lt;unk&gt; 2 in T5's models), then <c>extra_ids</c> sentinel
/// tokens &lt;extra_id_0&gt; … counted down from the top (&lt;extra_id_N&gt; = pieces + extra − 1 − N). Every sequence
/// ends in &lt;/s&gt;; &lt;pad&gt; is the decoder start. A task prefix ("translate English to German: ") is ordinary text.
/// Sentinels and &lt;/s&gt;, &lt;pad&gt;, &lt;unk&gt; written in the text are one token each, the text between them cut
/// by SentencePiece (Microsoft.ML.Tokenizers' implementation).
/// </summary>
internal sealed partial class T5Tokenizer : ISeq2SeqTokenizer
{
    private readonly SentencePieceTokenizer _sp;
    private readonly string[] _pieces;
    private readonly int _spSize;

    public int ExtraIds { get; }
    public int VocabSize => _spSize + ExtraIds;
    public int EosId { get; }
    public int PadId { get; }
    public int UnkId { get; }

    private T5Tokenizer(SentencePieceTokenizer sp, int pieces, int extraIds, string origin)
    {
        _sp = sp;
        var vocab = sp.Vocabulary;
        _spSize = pieces;
        if (extraIds is < 0 or > 10_000) throw new AttnScopeException($"{origin}: {extraIds} extra ids (must be 0..10000)");
        ExtraIds = extraIds;
        _pieces = new string[_spSize + extraIds];
        foreach (var (p, i) in vocab) if ((uint)i < (uint)pieces) _pieces[i] ??= p;
        for (int n = 0; n < extraIds; n++) _pieces[_spSize + extraIds - 1 - n] = $"<extra_id_{n}>";
        EosId = Need("</s>"); PadId = Need("<pad>"); UnkId = sp.UnknownId;
        int Need(string p) => vocab.TryGetValue(p, out int id) ? id : throw new AttnScopeException($"{origin}: the SentencePiece model has no {p} piece (T5 models have <pad>, </s> and <unk>)");
    }

    /// <summary>Whether a folder holds a T5 tokenizer (spiece.model).</summary>
    public static bool IsT5Folder(string dir) => File.Exists(Path.Combine(dir, "spiece.model"));

    /// <summary>
    /// Reads spiece.model from a model folder; the sentinel count is tokenizer_config.json's <c>extra_ids</c> when given,
    /// else what fills the model's vocabulary up to the standard 100 (T5's own), capped by <paramref name="modelVocab"/>.
    /// </summary>
    public static T5Tokenizer Load(string dir, int modelVocab)
    {
        var path = Path.Combine(dir, "spiece.model");
        if (!File.Exists(path)) throw new AttnScopeException($"{dir}: a T5 tokenizer needs spiece.model");
        var info = new FileInfo(path);
        if (info.Length > MaxModelBytes) throw new AttnScopeException($"{path} is {info.Length:N0} bytes; a SentencePiece model is at most 64 MiB");
        return FromBytes(File.ReadAllBytes(path), modelVocab, ExtraIdsOf(Path.Combine(dir, "tokenizer_config.json")), path);
    }

    private const long MaxModelBytes = 64 << 20;

    /// <summary>A T5 tokenizer from spiece.model's bytes; <paramref name="extraIds"/> null infers the sentinel count (see
    /// <see cref="Load"/>). Any malformed model is refused with one line, before or while a trial text is encoded.</summary>
    internal static T5Tokenizer FromBytes(byte[] model, int modelVocab, int? extraIds, string origin)
    {
        if (model.Length > MaxModelBytes) throw new AttnScopeException($"{origin} is {model.Length:N0} bytes; a SentencePiece model is at most 64 MiB");
        var (bytes, pieces) = SentencePieceModelFile.Prepare(model, origin);
        try
        {
            using var s = new MemoryStream(bytes, writable: false);
            var sp = SentencePieceTokenizer.Create(s, addBeginningOfSentence: false, addEndOfSentence: false);
            var tok = new T5Tokenizer(sp, pieces, extraIds ?? Math.Clamp(modelVocab - pieces, 0, 100), origin);
            tok.EncodeSource("A trial: text, digits 123 and ünïcode.");
            return tok;
        }
        catch (Exception e) when (e is not AttnScopeException)
        {
            throw new AttnScopeException($"{origin}: not a SentencePiece model this build reads ({e.Message})");
        }
    }
    private static int? ExtraIdsOf(string path)
    {
        if (!File.Exists(path)) return null;
        if (new FileInfo(path).Length > 4 << 20) throw new AttnScopeException($"{path} is larger than 4 MiB");
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.TryGetProperty("extra_ids", out var e) && e.ValueKind == System.Text.Json.JsonValueKind.Number ? e.GetInt32() : null;
        }
        catch (System.Text.Json.JsonException e) { throw new AttnScopeException($"{path}: not JSON ({e.Message})"); }
    }

    [GeneratedRegex(@"<extra_id_(\d{1,5})>|</s>|<pad>|<unk>")]
    private static partial Regex SpecialToken();

    public EncodedText EncodeSource(string text) => Encode(text);
    public EncodedText EncodeTarget(string text) => Encode(text);

    private EncodedText Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        var pieces = new List<string>();
        int at = 0;
        foreach (Match m in SpecialToken().Matches(text))
        {
            int special = m.Value switch
            {
                "</s>" => EosId,
                "<pad>" => PadId,
                "<unk>" => UnkId,
                _ => int.TryParse(m.Groups[1].Value, out int n) && n < ExtraIds ? _spSize + ExtraIds - 1 - n : -1,
            };
            if (special < 0) continue; // a sentinel this model lacks: ordinary text
            Pieces(text[at..m.Index], ids, pieces);
            ids.Add(special);
            pieces.Add(m.Value);
            at = m.Index + m.Length;
        }
        Pieces(text[at..], ids, pieces);
        ids.Add(EosId);
        pieces.Add("</s>");
        return new EncodedText([.. ids], [.. pieces]);
    }

    private void Pieces(string part, List<int> ids, List<string> pieces)
    {
        part = part.Trim();
        if (part.Length == 0) return;
        bool lastUnk = false;
        foreach (var t in _sp.EncodeToTokens(part, out _))
        {
            bool unk = t.Id == UnkId;
            if (unk && lastUnk) continue; // a run of unknown characters is one <unk>, as SentencePiece gives it
            lastUnk = unk;
            ids.Add(t.Id);
            pieces.Add(t.Value);
        }
    }

    public string TokenText(int id) => id >= 0 && id < _pieces.Length && _pieces[id] is { } p ? p : $"<{id}>";

    public bool IsSpecial(int id) => id == EosId || id == PadId || id == UnkId || id >= _spSize && id < VocabSize;

    /// <summary>Ids back to text: pad, &lt;/s&gt; and &lt;unk&gt; dropped, sentinels kept as written, "▁" read as a space.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        foreach (int id in ids)
        {
            if (id == EosId || id == PadId || id == UnkId) continue;
            if (id >= _spSize && id < VocabSize) { sb.Append(' ').Append(TokenText(id)); continue; }
            sb.Append(TokenText(id));
        }
        var s = sb.Replace('\u2581', ' ').ToString();
        return string.Join(' ', s.Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }
}
