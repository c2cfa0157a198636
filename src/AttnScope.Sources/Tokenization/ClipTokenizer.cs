using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AttnScope.Capture;

namespace AttnScope.Sources.Tokenization;

/// <summary>
/// CLIP's BPE tokenizer (vocab.json + merges.txt), written from the algorithm of OpenAI's simple_tokenizer.py, which
/// Hugging Face's CLIPTokenizer follows: HTML entities unescaped (twice), whitespace runs collapsed to one space and
/// trimmed, lowercased; words split by CLIP's pattern (special tokens, 's 't 're 've 'm 'll 'd, letter runs, single
/// digits, runs of other non-space characters); each word's UTF-8 bytes mapped to GPT-2's byte alphabet, the last
/// symbol suffixed with <c>&lt;/w&gt;</c>, and merged by rank (lowest first, every occurrence of the pair left to
/// right). The ids are wrapped in <c>&lt;|startoftext|&gt;</c> … <c>&lt;|endoftext|&gt;</c>. ftfy's text repair is not
/// applied (Hugging Face skips it too when ftfy is absent, with the BasicTokenizer instead; plain ASCII and accented
/// text agree).
/// </summary>
internal sealed partial class ClipTokenizer
{
    public const string StartToken = "<|startoftext|>", EndToken = "<|endoftext|>";
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _byId;
    private readonly Dictionary<(string, string), int> _ranks;
    public int BosId { get; }
    public int EosId { get; }
    public int VocabSize => _byId.Length;

    [GeneratedRegex(@"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex WordPattern();

    public ClipTokenizer(IReadOnlyDictionary<string, int> vocab, IEnumerable<(string, string)> merges, string origin)
    {
        if (vocab.Count is 0 or > 4_000_000) throw new AttnScopeException($"{origin}: the vocabulary has {vocab.Count} entries");
        _vocab = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        int max = vocab.Values.Max();
        if (vocab.Values.Min() < 0 || max >= 4_000_000) throw new AttnScopeException($"{origin}: vocabulary ids must lie in 0…3999999");
        _byId = new string[max + 1];
        foreach (var (k, v) in vocab) _byId[v] = k;
        _ranks = new Dictionary<(string, string), int>();
        foreach (var pair in merges) _ranks.TryAdd(pair, _ranks.Count);
        BosId = _vocab.TryGetValue(StartToken, out var b) ? b : throw new AttnScopeException($"{origin}: the vocabulary has no {StartToken}");
        EosId = _vocab.TryGetValue(EndToken, out var e) ? e : throw new AttnScopeException($"{origin}: the vocabulary has no {EndToken}");
    }

    /// <summary>Whether a folder holds vocab.json and merges.txt.</summary>
    public static bool InFolder(string dir) => File.Exists(Path.Combine(dir, "vocab.json")) && File.Exists(Path.Combine(dir, "merges.txt"));

    public static ClipTokenizer Load(string dir)
    {
        string vp = Path.Combine(dir, "vocab.json"), mp = Path.Combine(dir, "merges.txt");
        if (!File.Exists(vp) || !File.Exists(mp)) throw new AttnScopeException($"'{dir}' has no vocab.json and merges.txt (CLIP's tokenizer)");
        Dictionary<string, int> vocab;
        try { vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vp)) ?? throw new AttnScopeException($"{vp} is empty"); }
        catch (JsonException e) { throw new AttnScopeException($"{vp} is not a JSON object of token → id: {e.Message}"); }
        var merges = new List<(string, string)>();
        int line = 0;
        foreach (var raw in File.ReadLines(mp))
        {
            line++;
            if (line == 1 && raw.StartsWith("#version", StringComparison.Ordinal)) continue;
            if (raw.Length == 0) continue;
            var parts = raw.Split(' ');
            if (parts.Length != 2) throw new AttnScopeException($"{mp} line {line}: a merge is two symbols separated by one space");
            merges.Add((parts[0], parts[1]));
        }
        return new ClipTokenizer(vocab, merges, dir);
    }

    /// <summary>The text as the tokenizer sees it: entities unescaped, whitespace collapsed, lowercased.</summary>
    public static string Clean(string text) =>
        Regex.Replace(WebUtility.HtmlDecode(WebUtility.HtmlDecode(text)), @"\s+", " ").Trim().ToLowerInvariant();

    /// <summary>Ids with the start and end tokens; the vocabulary form of each token beside them.</summary>
    public (int[] Ids, string[] Tokens) Encode(string text, int maxLength = 77)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int> { BosId };
        foreach (Match m in WordPattern().Matches(Clean(text)))
        {
            foreach (var piece in Bpe(m.Value))
            {
                if (!_vocab.TryGetValue(piece, out var id)) throw new AttnScopeException($"the token '{piece}' is not in the vocabulary");
                ids.Add(id);
            }
        }
        ids.Add(EosId);
        if (ids.Count > maxLength) { ids.RemoveRange(maxLength - 1, ids.Count - maxLength); ids[^1] = EosId; }
        return (ids.ToArray(), ids.Select(TokenText).ToArray());
    }

    public string TokenText(int id) => id >= 0 && id < _byId.Length && _byId[id] is { } s ? s : $"<{id}>";

    /// <summary>The readable form of a token: the byte alphabet decoded, <c>&lt;/w&gt;</c> dropped.</summary>
    public string Readable(int id)
    {
        var t = TokenText(id);
        if (t is StartToken or EndToken) return t;
        if (t.EndsWith("</w>", StringComparison.Ordinal)) t = t[..^4];
        var bytes = new List<byte>();
        foreach (var c in t)
            if (ByteLevelAlphabet.TryDecode(c, out var b)) bytes.Add(b);
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private List<string> Bpe(string token)
    {
        if (token is StartToken or EndToken) return [token];
        var bytes = Encoding.UTF8.GetBytes(token);
        var word = new List<string>(bytes.Length);
        foreach (var b in bytes) word.Add(ByteLevelAlphabet.Encode(b).ToString());
        word[^1] += "</w>";
        while (word.Count > 1)
        {
            int best = int.MaxValue;
            (string, string) pair = default;
            for (int i = 0; i + 1 < word.Count; i++)
                if (_ranks.TryGetValue((word[i], word[i + 1]), out var r) && r < best) { best = r; pair = (word[i], word[i + 1]); }
            if (best == int.MaxValue) break;
            var next = new List<string>(word.Count);
            for (int i = 0; i < word.Count;)
            {
                if (i + 1 < word.Count && word[i] == pair.Item1 && word[i + 1] == pair.Item2) { next.Add(pair.Item1 + pair.Item2); i += 2; }
                else { next.Add(word[i]); i++; }
            }
            word = next;
        }
        return word;
    }
}
