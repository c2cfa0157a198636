using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AttnScope.Capture;
using Microsoft.ML.Tokenizers;

namespace AttnScope.Sources.Tokenization;

/// <summary>
/// The tokenizer of Marian (opus-mt) translation models, as Hugging Face's MarianTokenizer: two SentencePiece
/// unigram models (source.spm for the encoder side, target.spm for the decoder side) cut text into pieces, and
/// vocab.json maps pieces to model ids (a piece missing from vocab.json becomes &lt;unk&gt;). Every sequence ends in
/// &lt;/s&gt;; &lt;pad&gt; is the decoder start. A leading language code ("&gt;&gt;de&lt;&lt;") that vocab.json knows is one token.
/// </summary>
/// <remarks>The unigram segmentation (Viterbi over the model's piece scores, with its normalizer) is
/// Microsoft.ML.Tokenizers' SentencePiece implementation; this class adds Marian's id mapping.</remarks>
internal sealed partial class MarianTokenizer : ISeq2SeqTokenizer
{
    private readonly SentencePieceTokenizer _source;
    private readonly SentencePieceTokenizer _target;
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _pieces;

    public int VocabSize => _pieces.Length;
    public int EosId { get; }
    public int UnkId { get; }
    public int PadId { get; }
    /// <summary>The decoder start token (Marian uses &lt;pad&gt;).</summary>
    public int DecoderStartId => PadId;

    private MarianTokenizer(SentencePieceTokenizer source, SentencePieceTokenizer target, Dictionary<string, int> vocab, string origin)
    {
        _source = source; _target = target; _vocab = vocab;
        int max = vocab.Count == 0 ? -1 : vocab.Values.Max();
        if (vocab.Values.Any(v => v < 0)) throw new AttnScopeException($"{origin}: vocab.json has a negative id");
        if (max >= 10_000_000) throw new AttnScopeException($"{origin}: vocab.json has an id of {max}, too large");
        _pieces = new string[max + 1];
        foreach (var (p, i) in vocab) _pieces[i] ??= p;
        EosId = Need("</s>"); UnkId = Need("<unk>"); PadId = Need("<pad>");
        int Need(string p) => vocab.TryGetValue(p, out int id) ? id : throw new AttnScopeException($"{origin}: vocab.json has no {p}");
    }

    /// <summary>Whether a folder holds Marian tokenizer files (source.spm, target.spm, vocab.json).</summary>
    public static bool IsMarianFolder(string dir) =>
        File.Exists(Path.Combine(dir, "source.spm")) && File.Exists(Path.Combine(dir, "target.spm")) && File.Exists(Path.Combine(dir, "vocab.json"));

    /// <summary>Reads source.spm, target.spm and vocab.json from a model folder.</summary>
    public static MarianTokenizer Load(string dir)
    {
        if (!IsMarianFolder(dir)) throw new AttnScopeException($"{dir}: a Marian tokenizer needs source.spm, target.spm and vocab.json");
        var vocabPath = Path.Combine(dir, "vocab.json");
        Dictionary<string, int> vocab;
        try
        {
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabPath))
                    ?? throw new AttnScopeException($"{vocabPath}: empty");
        }
        catch (JsonException e) { throw new AttnScopeException($"{vocabPath}: not a piece → id map ({e.Message})"); }
        return new MarianTokenizer(Spm(Path.Combine(dir, "source.spm")), Spm(Path.Combine(dir, "target.spm")), vocab, vocabPath);
    }

    private static SentencePieceTokenizer Spm(string path)
    {
        try
        {
            using var s = File.OpenRead(path);
            return SentencePieceTokenizer.Create(s, addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not AttnScopeException)
        {
            throw new AttnScopeException($"{path}: not a SentencePiece model this build reads ({e.Message})");
        }
    }

    [GeneratedRegex(@"^>>.+?<<")]
    private static partial Regex LanguageCode();

    /// <summary>Encodes source text (encoder input).</summary>
    public EncodedText EncodeSource(string text) => Encode(_source, text);

    /// <summary>Encodes target text (decoder labels).</summary>
    public EncodedText EncodeTarget(string text) => Encode(_target, text);

    private EncodedText Encode(SentencePieceTokenizer sp, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(); var pieces = new List<string>(); var spans = new List<(int Start, int End)>();
        var m = LanguageCode().Match(text);
        if (m.Success && _vocab.TryGetValue(m.Value, out int code))
        {
            ids.Add(code); pieces.Add(m.Value); spans.Add((-1, -1));
        }
        var rest = m.Success && ids.Count > 0 ? text[m.Length..] : text;
        if (rest.Length > 0)
        {
            bool lastUnk = false;
            var tokens = sp.EncodeToTokens(rest, out string? normalized);
            string norm = normalized ?? rest; // offsets index the normalized text ("▁" inserted, spaces folded)
            foreach (var t in tokens)
            {
                int s = Math.Clamp(t.Offset.Start.Value, 0, norm.Length), e = Math.Clamp(t.Offset.End.Value, s, norm.Length);
                // SentencePiece makes one piece of a run of unknown characters (its surface text, which Marian then looks up in
                // vocab.json, where the other side's model may have it); this library gives one token per character.
                bool unk = t.Id == sp.UnknownId;
                if (unk && lastUnk)
                {
                    spans[^1] = (spans[^1].Start, Math.Max(spans[^1].End, e));
                    pieces[^1] = norm[spans[^1].Start..spans[^1].End];
                    ids[^1] = _vocab.TryGetValue(pieces[^1], out int merged) ? merged : UnkId;
                    continue;
                }
                lastUnk = unk;
                string piece = unk ? norm[s..e] : t.Value;
                ids.Add(_vocab.TryGetValue(piece, out int id) ? id : UnkId);
                pieces.Add(piece);
                spans.Add((s, e));
            }
        }
        ids.Add(EosId); pieces.Add("</s>"); spans.Add((-1, -1));
        return new EncodedText([.. ids], [.. pieces]);
    }

    /// <summary>The vocab.json piece of an id ("&lt;id&gt;" when there is none).</summary>
    public string TokenText(int id) => id >= 0 && id < _pieces.Length && _pieces[id] is { } p ? p : $"<{id}>";

    public bool IsSpecial(int id) => id == EosId || id == PadId || id == UnkId;

    /// <summary>Target ids back to text: special tokens dropped, pieces joined, "▁" read as a space (as SentencePiece decodes).</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        foreach (int id in ids)
        {
            if (IsSpecial(id)) continue;
            sb.Append(TokenText(id));
        }
        var s = sb.Replace('\u2581', ' ').ToString();
        return s.StartsWith(' ') ? s[1..] : s;
    }
}
