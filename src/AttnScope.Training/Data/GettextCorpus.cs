using System.Security.Cryptography;
using System.Text;
using AttnScope.Capture;

namespace AttnScope.Training.Data;

/// <summary>A parallel corpus made from gettext catalogs, split into training and held-out pairs, with the counts of
/// what was dropped and a fingerprint of the result (two machines built the same corpus when the fingerprints match).</summary>
internal sealed record GettextCorpusSplit(
    IReadOnlyList<ParallelPair> Train, IReadOnlyList<ParallelPair> HeldOut, int Catalogs, int Messages,
    IReadOnlyDictionary<string, int> Dropped, string Fingerprint, int Seed, IReadOnlyList<string> RefusedCatalogs)
{
    /// <summary>How the held-out pairs were chosen, for logs and docs.</summary>
    public string Description =>
        $"{Messages:N0} messages from {Catalogs} catalogs{(RefusedCatalogs.Count > 0 ? $" ({RefusedCatalogs.Count} unreadable skipped)" : "")} → {Train.Count:N0} training pairs and {HeldOut.Count:N0} held-out pairs " +
        $"(held-out English strings drawn at random with seed {Seed}, one reference each, never seen in training; " +
        $"dropped {string.Join(", ", Dropped.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value:N0}"))}); fingerprint {Fingerprint}";
}

/// <summary>
/// Builds the project's real-data translation benchmark from gettext catalogs (see <see cref="GettextCatalogReader"/>):
/// whitespace (line breaks, tabs) collapsed to single spaces; messages without a letter, longer than the word
/// limit on either side, or repeated exactly are dropped and counted. The split is by English string: every
/// translation of a held-out string stays out of training (several packages often translate the same message),
/// and a held-out string keeps its first translation in catalog order as its reference.
/// </summary>
internal static class GettextCorpus
{
    public const string NoLetter = "no letter", OverLong = "over-long", Duplicate = "duplicate";

    public static GettextCorpusSplit Build(string folder, int heldOut = 2000, int seed = 1, int maxWords = 50)
    {
        if (heldOut < 1) throw new AttnScopeException($"held-out size must be at least 1 (got {heldOut})");
        if (maxWords < 1) throw new AttnScopeException($"the word limit must be at least 1 (got {maxWords})");
        var refused = new List<string>();
        var messages = GettextCatalogReader.ReadFolder(folder, refused);
        int catalogs = messages.Select(m => m.Catalog).Distinct().Count();
        return Split(messages, catalogs, heldOut, seed, maxWords) with { RefusedCatalogs = refused };
    }

    /// <summary>Filters, dedupes and splits already-read messages.</summary>
    public static GettextCorpusSplit Split(IReadOnlyList<CatalogMessage> messages, int catalogs, int heldOut, int seed, int maxWords)
    {
        var dropped = new Dictionary<string, int> { [NoLetter] = 0, [OverLong] = 0, [Duplicate] = 0 };
        var seen = new HashSet<(string, string)>();
        var bySource = new Dictionary<string, List<ParallelPair>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var m in messages)
        {
            string s = Collapse(m.Source), t = Collapse(m.Target);
            if (!s.Any(char.IsLetter) || !t.Any(char.IsLetter)) { dropped[NoLetter]++; continue; }
            if (Words(s) > maxWords || Words(t) > maxWords) { dropped[OverLong]++; continue; }
            if (!seen.Add((s, t))) { dropped[Duplicate]++; continue; }
            if (!bySource.TryGetValue(s, out var list)) { bySource[s] = list = []; order.Add(s); }
            list.Add(new ParallelPair(s, t));
        }
        if (order.Count <= heldOut)
            throw new AttnScopeException($"only {order.Count:N0} distinct English strings are left; cannot hold out {heldOut:N0} and still train");
        var shuffled = order.ToArray();
        new Random(seed).Shuffle(shuffled);
        var held = new HashSet<string>(shuffled.Take(heldOut), StringComparer.Ordinal);
        var train = new List<ParallelPair>();
        var test = new List<ParallelPair>();
        foreach (var s in order)
        {
            if (held.Contains(s)) test.Add(bySource[s][0]);
            else train.AddRange(bySource[s]);
        }
        return new GettextCorpusSplit(train, test, catalogs, messages.Count, dropped, Fingerprint(train, test), seed, []);
    }

    private static string Fingerprint(IEnumerable<ParallelPair> train, IEnumerable<ParallelPair> test)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (tag, pairs) in new[] { ("T", train), ("H", test) })
            foreach (var p in pairs) sha.AppendData(Encoding.UTF8.GetBytes($"{tag}\t{p.Source}\t{p.Target}\n"));
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    private static int Words(string s) => s.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;

    private static string Collapse(string s)
    {
        var b = new StringBuilder(s.Length);
        bool space = false;
        foreach (var c in s)
        {
            if (char.IsWhiteSpace(c)) { space = b.Length > 0; continue; }
            if (space) { b.Append(' '); space = false; }
            b.Append(c);
        }
        return b.ToString();
    }

    /// <summary>Writes pairs as a TSV whose header names the languages (what <c>attnscope train --corpus</c> reads).
    /// Tabs cannot occur in the pairs (whitespace is collapsed).</summary>
    public static void WriteTsv(string path, IEnumerable<ParallelPair> pairs, string sourceLanguage = "en", string targetLanguage = "de")
    {
        using var w = new StreamWriter(path, false, new UTF8Encoding(false));
        w.Write($"{sourceLanguage}\t{targetLanguage}\n");
        foreach (var p in pairs) w.Write($"{p.Source}\t{p.Target}\n");
    }
}
