using System.Globalization;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using DuckDB.NET.Data;

namespace AttnScope.Corpus;

/// <summary>
/// The joint query/key embedding of one head over a sample of a corpus (AttentionViz-style): the stored queries and
/// keys of up to <c>maxSentences</c> sentences, keys translated so that their mean equals the queries' mean (which
/// leaves every softmax unchanged: each query's scores all shift by the same amount), projected on their first two
/// principal components, or mapped by exact t-SNE (<see cref="Tsne"/>; the sample is cut to whole sentences of at most
/// <see cref="Tsne.MaxPoints"/> points). Each point keeps its sentence and token, and each sentence its tokens and the
/// head's attention.
/// </summary>
internal static class HeadEmbedding
{
    /// <summary>Most sentences a view samples.</summary>
    public const int MaxSentencesLimit = 5000;

    /// <summary>One projected point.</summary>
    public sealed record Point(double X, double Y, bool IsKey, long Line, int Token);

    /// <summary>A sampled sentence: tokens and the head's attention [n, n].</summary>
    public sealed record Sentence(long Line, string Text, IReadOnlyList<string> Tokens, float[] Attention);

    /// <summary>The projections: <c>pca</c> (linear, axes with their share of variance) and <c>tsne</c> (neighbourhoods kept, axes without meaning).</summary>
    public static readonly string[] Projections = ["pca", "tsne"];

    /// <summary>
    /// The projection: points, sentences, the share of variance each axis explains (PCA; empty for t-SNE) and which
    /// projection made it.
    /// </summary>
    public sealed record Result(HeadRef Head, IReadOnlyList<Point> Points, IReadOnlyList<Sentence> Sentences, double[] VarianceShare, string Model,
        string Projection = "pca");

    /// <summary>Samples and projects the head's queries and keys (<paramref name="projection"/>: <c>pca</c> or <c>tsne</c>, seeded by <paramref name="seed"/>).</summary>
    public static Result Compute(CorpusDatabase db, HeadRef head, int maxSentences, string projection = "pca", int seed = 1)
    {
        if (!Projections.Contains(projection))
            throw new AttnScopeException($"unknown projection '{projection}': use {string.Join(" or ", Projections)}");
        if (maxSentences is < 1 or > MaxSentencesLimit) throw new AttnScopeException($"--sentences must be 1..{MaxSentencesLimit}");
        var info = db.Info();
        var stored = HeadRef.ParseList(info.GetValueOrDefault("qk_heads"));
        if (!stored.Contains(head))
            throw new AttnScopeException(stored.Count == 0
                ? $"'{db.Path}' stores no queries and keys: build it with --qk-heads {head}"
                : $"'{db.Path}' stores queries and keys of heads {string.Join(", ", stored)}, not {head}");
        var sentences = new List<Sentence>();
        using (var cmd = db.Connection.CreateCommand())
        {
            // A reproducible sample of sentences: ordered by a hash of the line number.
            cmd.CommandText = "SELECT s.line, s.text, s.tokens, a.weights FROM sentences s JOIN head_attention a ON a.line = s.line " +
                "WHERE a.layer = $l AND a.head = $h ORDER BY hash(s.line), s.line LIMIT $n";
            AddHead(cmd, head);
            cmd.Parameters.Add(new DuckDBParameter("n", maxSentences));
            using var r = cmd.ExecuteReader();
            while (r.Read())
                sentences.Add(new Sentence(r.GetInt64(0), r.GetString(1), ((IEnumerable<string>)r.GetValue(2)).ToList(), ((IEnumerable<float>)r.GetValue(3)).ToArray()));
        }
        var lines = sentences.Select(s => s.Line).ToHashSet();
        var queries = new List<float[]>();
        var keys = new List<float[]>();
        var where = new List<(long Line, int Token)>();
        using (var cmd = db.Connection.CreateCommand())
        {
            cmd.CommandText = "SELECT line, token, query, key FROM qk_vectors WHERE layer = $l AND head = $h ORDER BY line, token";
            AddHead(cmd, head);
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                long line = r.GetInt64(0);
                if (!lines.Contains(line)) continue;
                where.Add((line, r.GetInt32(1)));
                queries.Add(((IEnumerable<float>)r.GetValue(2)).ToArray());
                keys.Add(((IEnumerable<float>)r.GetValue(3)).ToArray());
            }
        }
        if (projection == "tsne" && 2 * queries.Count > Tsne.MaxPoints)
        {
            // Whole sentences, in the sample's order, while their queries and keys fit the exact t-SNE's limit.
            var perLine = where.GroupBy(w => w.Line).ToDictionary(g => g.Key, g => g.Count());
            var kept = new HashSet<long>();
            int total = 0;
            foreach (var sentence in sentences)
            {
                int c = 2 * perLine.GetValueOrDefault(sentence.Line);
                if (total + c > Tsne.MaxPoints) break;
                total += c;
                kept.Add(sentence.Line);
            }
            sentences = sentences.Where(x => kept.Contains(x.Line)).ToList();
            var keep = Enumerable.Range(0, where.Count).Where(i => kept.Contains(where[i].Line)).ToArray();
            where = keep.Select(i => where[i]).ToList();
            queries = keep.Select(i => queries[i]).ToList();
            keys = keep.Select(i => keys[i]).ToList();
        }
        if (queries.Count < 2) throw new AttnScopeException($"head {head} has {queries.Count} stored token(s); a projection needs at least 2");
        int d = queries[0].Length;
        var qMean = MeanOf(queries, d);
        var kMean = MeanOf(keys, d);
        var rows = new List<float[]>(queries.Count * 2);
        rows.AddRange(queries);
        foreach (var k in keys) rows.Add(k.Select((v, j) => (float)(v - kMean[j] + qMean[j])).ToArray());
        double[][] projected;
        double[] share;
        if (projection == "tsne")
        {
            if (rows.Count < 3) throw new AttnScopeException($"head {head} has {queries.Count} stored token(s); t-SNE needs at least 2");
            projected = Tsne.Compute(rows, new Tsne.Options { Perplexity = Math.Min(30, (rows.Count - 1) / 3.0), Seed = seed });
            share = [];
        }
        else
        {
            var pca = Pca.Compute(rows, 2);
            double total = TotalVariance(rows, d);
            projected = pca.Projected;
            share = pca.Variances.Select(v => total > 0 ? v / total : 0).ToArray();
        }
        var points = new List<Point>(rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var (line, token) = where[i % where.Count];
            points.Add(new Point(projected[i][0], projected[i][1], i >= where.Count, line, token));
        }
        return new Result(head, points, sentences, share, info.GetValueOrDefault("model") ?? "", projection);
    }

    private static void AddHead(DuckDBCommand cmd, HeadRef head)
    {
        cmd.Parameters.Add(new DuckDBParameter("l", head.Layer));
        cmd.Parameters.Add(new DuckDBParameter("h", head.Head));
    }

    private static double[] MeanOf(List<float[]> rows, int d)
    {
        var m = new double[d];
        foreach (var r in rows) for (int j = 0; j < d; j++) m[j] += r[j];
        for (int j = 0; j < d; j++) m[j] /= rows.Count;
        return m;
    }

    private static double TotalVariance(List<float[]> rows, int d)
    {
        var m = MeanOf(rows, d);
        double s = 0;
        foreach (var r in rows) for (int j = 0; j < d; j++) s += (r[j] - m[j]) * (r[j] - m[j]);
        return s / (rows.Count - 1);
    }

    /// <summary>The view's data as JSON: points in columns, sentences by line number (with the head's attention
    /// unless <paramref name="attention"/> is false).</summary>
    public static JsonObject ToJson(Result r, bool attention = true)
    {
        static JsonArray Numbers<T>(IEnumerable<T> values, Func<T, JsonNode?> f) { var a = new JsonArray(); foreach (var v in values) a.Add(f(v)); return a; }
        var sentences = new JsonObject();
        foreach (var s in r.Sentences)
        {
            var o = new JsonObject { ["text"] = s.Text, ["tokens"] = Numbers(s.Tokens, t => JsonValue.Create(t)) };
            if (attention) o["attention"] = Numbers(s.Attention, v => JsonValue.Create(Math.Round(v, 5)));
            sentences[s.Line.ToString(CultureInfo.InvariantCulture)] = o;
        }
        return new JsonObject
        {
            ["model"] = r.Model,
            ["head"] = r.Head.ToString(),
            ["projection"] = r.Projection,
            ["variance"] = Numbers(r.VarianceShare, v => JsonValue.Create(Math.Round(v, 4))),
            ["x"] = Numbers(r.Points, p => JsonValue.Create(Math.Round(p.X, 4))),
            ["y"] = Numbers(r.Points, p => JsonValue.Create(Math.Round(p.Y, 4))),
            ["key"] = Numbers(r.Points, p => JsonValue.Create(p.IsKey ? 1 : 0)),
            ["line"] = Numbers(r.Points, p => JsonValue.Create(p.Line)),
            ["token"] = Numbers(r.Points, p => JsonValue.Create(p.Token)),
            ["sentences"] = sentences,
        };
    }
}
