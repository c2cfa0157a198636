using System.Text;

namespace AttnScope.Training.Text;

/// <summary>
/// Learns a WordPiece vocabulary the way common trainers do: start from the characters (word-initial "c" and
/// continuing "##c"), then repeatedly merge the adjacent pair of symbols that occurs most often across the
/// word counts, adding each merged symbol, until the vocabulary is full. Pair counts are updated incrementally
/// (only words that contain the merged pair are recounted), so it scales to real corpora.
/// </summary>
internal static class WordPieceLearner
{
    public const string Prefix = "##";

    /// <summary>Words longer than this (in UTF-16 units) are left out of learning; the tokenizer maps them to unk.</summary>
    public const int MaxWordChars = 100;

    /// <summary>The vocabulary entries after the special tokens, in id order.</summary>
    public static List<string> Learn(IEnumerable<string> texts, int budget)
    {
        var wordCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            if (text is null) continue;
            foreach (var (s, e) in Words.Spans(text))
            {
                if (e - s > MaxWordChars) continue;
                var w = text[s..e];
                wordCounts[w] = wordCounts.GetValueOrDefault(w) + 1;
            }
        }

        // Alphabet: every character (code point) seen, most frequent first, in both forms.
        var charCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (w, n) in wordCounts)
            foreach (var r in w.EnumerateRunes())
            {
                var c = r.ToString();
                charCounts[c] = charCounts.GetValueOrDefault(c) + n;
            }
        var alphabet = charCounts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => kv.Key).Take(Math.Max(0, budget) / 2).ToList();
        var vocab = new List<string>();
        var symbolId = new Dictionary<string, int>(StringComparer.Ordinal);
        var symbols = new List<string>();
        int Symbol(string s)
        {
            if (!symbolId.TryGetValue(s, out var id)) { id = symbols.Count; symbols.Add(s); symbolId[s] = id; }
            return id;
        }
        var inVocab = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in alphabet) { vocab.Add(c); inVocab.Add(c); }
        foreach (var c in alphabet) { vocab.Add(Prefix + c); inVocab.Add(Prefix + c); }

        // Words as symbol sequences; words with a character outside the alphabet cannot be learned from.
        var words = new List<int[]>();
        var freqs = new List<long>();
        foreach (var (w, n) in wordCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var seq = new List<int>();
            bool ok = true;
            foreach (var r in w.EnumerateRunes())
            {
                var c = r.ToString();
                if (!inVocab.Contains(c)) { ok = false; break; }
                seq.Add(Symbol(seq.Count == 0 ? c : Prefix + c));
            }
            if (ok && seq.Count > 0) { words.Add(seq.ToArray()); freqs.Add(n); }
        }

        var pairCounts = new Dictionary<(int, int), long>();
        var pairWords = new Dictionary<(int, int), HashSet<int>>();
        var queue = new PriorityQueue<(int, int), (long, int, int)>();
        void Change((int, int) pair, long delta, int word)
        {
            long now = pairCounts.GetValueOrDefault(pair) + delta;
            pairCounts[pair] = now;
            if (delta > 0)
            {
                if (!pairWords.TryGetValue(pair, out var set)) pairWords[pair] = set = new HashSet<int>();
                set.Add(word);
            }
        }
        void Count(int w, int sign)
        {
            var seq = words[w];
            for (int i = 0; i + 1 < seq.Length; i++) Change((seq[i], seq[i + 1]), sign * freqs[w], w);
        }
        for (int w = 0; w < words.Count; w++) Count(w, +1);
        foreach (var (pair, n) in pairCounts) queue.Enqueue(pair, (-n, pair.Item1, pair.Item2));

        while (vocab.Count < budget && queue.TryDequeue(out var best, out var priority))
        {
            long count = pairCounts.GetValueOrDefault(best);
            if (count <= 0 || -priority.Item1 != count) continue; // stale entry
            var (a, b) = best;
            var merged = symbols[a] + symbols[b][Prefix.Length..];
            int m = Symbol(merged);
            if (inVocab.Add(merged)) vocab.Add(merged);
            var touched = new HashSet<(int, int)>();
            foreach (var w in pairWords[best].ToArray())
            {
                var seq = words[w];
                for (int i = 0; i + 1 < seq.Length; i++) touched.Add((seq[i], seq[i + 1]));
                Count(w, -1);
                var next = new List<int>(seq.Length);
                for (int i = 0; i < seq.Length; i++)
                {
                    if (i + 1 < seq.Length && seq[i] == a && seq[i + 1] == b) { next.Add(m); i++; }
                    else next.Add(seq[i]);
                }
                words[w] = next.ToArray();
                Count(w, +1);
                for (int i = 0; i + 1 < words[w].Length; i++) touched.Add((words[w][i], words[w][i + 1]));
            }
            pairWords.Remove(best);
            pairCounts.Remove(best);
            foreach (var pair in touched)
                if (pair != best && pairCounts.TryGetValue(pair, out var n) && n > 0)
                    queue.Enqueue(pair, (-n, pair.Item1, pair.Item2));
        }
        return vocab;
    }
}
