using AttnScope.Training.Data;

namespace AttnScope.Training.Evaluation;

/// <summary>
/// The baselines a trained translation model must beat on held-out text: copying the source unchanged, and
/// retrieval — answering with the translation of the most similar training source. Similarity is the cosine of
/// TF-IDF-weighted character-trigram vectors of the lower-cased sources (each padded with one space at both ends);
/// IDF is ln(N / df) over the training sources. Ties go to the earlier training pair.
/// </summary>
internal sealed class NearestNeighbourTranslator
{
    private readonly IReadOnlyList<ParallelPair> _train;
    private readonly Dictionary<string, int> _gramIds = new(StringComparer.Ordinal);
    private readonly List<List<(int Doc, float Weight)>> _postings = [];
    private readonly float[] _idf;

    public NearestNeighbourTranslator(IReadOnlyList<ParallelPair> train)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count == 0) throw new ArgumentException("retrieval needs at least one training pair", nameof(train));
        _train = train;
        var counts = new List<Dictionary<int, int>>(train.Count);
        var df = new List<int>();
        foreach (var p in train)
        {
            var c = new Dictionary<int, int>();
            foreach (var g in Trigrams(p.Source))
            {
                if (!_gramIds.TryGetValue(g, out int id)) { id = _gramIds.Count; _gramIds[g] = id; df.Add(0); _postings.Add([]); }
                if (c.TryGetValue(id, out int n)) c[id] = n + 1;
                else { c[id] = 1; df[id]++; }
            }
            counts.Add(c);
        }
        _idf = df.Select(d => (float)Math.Log((double)train.Count / d)).ToArray();
        for (int doc = 0; doc < counts.Count; doc++)
        {
            double norm = 0;
            foreach (var (id, n) in counts[doc]) norm += Math.Pow(n * _idf[id], 2);
            if (norm == 0) continue;
            float inv = (float)(1 / Math.Sqrt(norm));
            foreach (var (id, n) in counts[doc]) _postings[id].Add((doc, n * _idf[id] * inv));
        }
    }

    /// <summary>Index of the most similar training pair (0 when nothing is shared).</summary>
    public int Nearest(string source, float[]? scratch = null)
    {
        var scores = scratch ?? new float[_train.Count];
        DotProducts(source, scores);
        int best = 0;
        for (int i = 1; i < scores.Length; i++) if (scores[i] > scores[best]) best = i;
        return best;
    }

    /// <summary>
    /// The most similar training pair that <paramref name="skip"/> does not rule out, with the cosine similarity of the
    /// two TF-IDF vectors (0..1; the query's trigrams unseen in training count in its norm), or (-1, 0) when no
    /// pair shares a trigram with <paramref name="source"/>. Ties go to the earlier pair.
    /// </summary>
    public (int Index, float Cosine) Best(string source, float[]? scratch = null, Func<int, bool>? skip = null)
    {
        var scores = scratch ?? new float[_train.Count];
        double norm = DotProducts(source, scores);
        int best = -1;
        for (int i = 0; i < scores.Length; i++)
            if (scores[i] > 0 && (best < 0 || scores[i] > scores[best]) && (skip is null || !skip(i))) best = i;
        if (best < 0 || norm <= 0) return (-1, 0f);
        return (best, (float)Math.Min(1.0, scores[best] / Math.Sqrt(norm)));
    }

    /// <summary>
    /// The <paramref name="k"/> most similar training pairs, best first, with their cosine similarity as in
    /// <see cref="Best"/> (ties go to the earlier pair); only pairs that share a trigram with the source are listed.
    /// </summary>
    public List<(int Index, float Cosine)> Top(string source, int k, float[]? scratch = null)
    {
        if (k < 1) return [];
        var scores = scratch ?? new float[_train.Count];
        double norm = DotProducts(source, scores);
        var best = new List<(int Index, float Score)>(k + 1);
        if (norm <= 0) return [];
        for (int i = 0; i < scores.Length; i++)
        {
            float v = scores[i];
            if (v <= 0 || (best.Count == k && v <= best[^1].Score)) continue;
            int pos = best.Count;
            while (pos > 0 && best[pos - 1].Score < v) pos--;
            best.Insert(pos, (i, v));
            if (best.Count > k) best.RemoveAt(k);
        }
        double inv = 1 / Math.Sqrt(norm);
        return best.Select(b => (b.Index, (float)Math.Min(1.0, b.Score * inv))).ToList();
    }

    /// <summary>
    /// Fills <paramref name="scores"/> with the dot product of the source's TF-IDF vector and each training source's
    /// unit vector, and returns the squared norm of the source's vector. A trigram no training source has would get
    /// the largest IDF, ln(N); it counts in the norm and so lowers every pair's cosine alike.
    /// </summary>
    private double DotProducts(string source, float[] scores)
    {
        Array.Clear(scores);
        var c = new Dictionary<int, int>();
        var unseen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var g in Trigrams(source))
            if (_gramIds.TryGetValue(g, out int id)) c[id] = c.GetValueOrDefault(id) + 1;
            else unseen[g] = unseen.GetValueOrDefault(g) + 1;
        double norm = 0;
        foreach (var (id, n) in c)
        {
            float q = n * _idf[id];
            norm += (double)q * q;
            foreach (var (doc, w) in _postings[id]) scores[doc] += q * w;
        }
        foreach (var n in unseen.Values) norm += Math.Pow(n * Math.Log(_train.Count + 1.0), 2);
        return norm;
    }

    /// <summary>The translation of the most similar training source.</summary>
    public string Translate(string source) => _train[Nearest(source)].Target;

    /// <summary>Translations of many sources, on all cores.</summary>
    public string[] TranslateAll(IReadOnlyList<string> sources)
    {
        var result = new string[sources.Count];
        Parallel.For(0, sources.Count, () => new float[_train.Count], (i, _, scratch) =>
        {
            result[i] = _train[Nearest(sources[i], scratch)].Target;
            return scratch;
        }, _ => { });
        return result;
    }

    internal static IEnumerable<string> Trigrams(string text)
    {
        var s = " " + text.ToLowerInvariant() + " ";
        for (int i = 0; i + 3 <= s.Length; i++) yield return s.Substring(i, 3);
    }
}
