using System.Globalization;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using DuckDB.NET.Data;

namespace AttnScope.Corpus;

/// <summary>
/// The joint query/key embedding of one head over a sample of a corpus (AttentionViz-style): the stored queries and
/// keys of up to <c>maxSentences</c> sentences, keys translated so that their mean equals the queries' mean (which
/// leaves every softmax unchanged: each query's scores all shift by the same amount), projected on their first two
/// principal components. Each point keeps its sentence and token, and each sentence its tokens and the head's attention.
/// </summary>
public static class HeadEmbedding
{
    /// <summary>Most sentences a view samples.</summary>
    public const int MaxSentencesLimit = 5000;

    /// <summary>One projected point.</summary>
    public sealed record Point(double X, double Y, bool IsKey, long Line, int Token);

    /// <summary>A sampled sentence: tokens and the head's attention [n, n].</summary>
    public sealed record Sentence(long Line, string Text, IReadOnlyList<string> Tokens, float[] Attention);

    /// <summary>The projection: points, sentences, and the share of variance each axis explains.</summary>
    public sealed record Result(HeadRef Head, IReadOnlyList<Point> Points, IReadOnlyList<Sentence> Sentences, double[] VarianceShare, string Model);

    /// <summary>Samples and projects the head's queries and keys.</summary>
    public static Result Compute(CorpusDatabase db, HeadRef head, int maxSentences)
    {
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
        if (queries.Count < 2) throw new AttnScopeException($"head {head} has {queries.Count} stored token(s); a projection needs at least 2");
        int d = queries[0].Length;
        var qMean = MeanOf(queries, d);
        var kMean = MeanOf(keys, d);
        var rows = new List<float[]>(queries.Count * 2);
        rows.AddRange(queries);
        foreach (var k in keys) rows.Add(k.Select((v, j) => (float)(v - kMean[j] + qMean[j])).ToArray());
        var pca = Pca.Compute(rows, 2);
        double total = TotalVariance(rows, d);
        var points = new List<Point>(rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var (line, token) = where[i % where.Count];
            points.Add(new Point(pca.Projected[i][0], pca.Projected[i][1], i >= where.Count, line, token));
        }
        var share = pca.Variances.Select(v => total > 0 ? v / total : 0).ToArray();
        return new Result(head, points, sentences, share, info.GetValueOrDefault("model") ?? "");
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

    /// <summary>The view's data as JSON: points in columns, sentences by line number.</summary>
    public static JsonObject ToJson(Result r)
    {
        static JsonArray Numbers<T>(IEnumerable<T> values, Func<T, JsonNode?> f) { var a = new JsonArray(); foreach (var v in values) a.Add(f(v)); return a; }
        var sentences = new JsonObject();
        foreach (var s in r.Sentences)
            sentences[s.Line.ToString(CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["text"] = s.Text,
                ["tokens"] = Numbers(s.Tokens, t => JsonValue.Create(t)),
                ["attention"] = Numbers(s.Attention, v => JsonValue.Create(Math.Round(v, 5))),
            };
        return new JsonObject
        {
            ["model"] = r.Model,
            ["head"] = r.Head.ToString(),
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
