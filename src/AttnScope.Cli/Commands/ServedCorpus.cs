using System.Globalization;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Corpus;
using AttnScope.Web.Server;
using DuckDB.NET.Data;

namespace AttnScope.Cli;

/// <summary>
/// A corpus database opened read-only for <c>attnscope serve --corpus DB</c>. One connection, used by one request at a
/// time (a lock); histograms and embeddings are kept once computed (the database cannot change while it is open
/// read-only), at most <see cref="MaxKept"/> of them.
/// </summary>
internal sealed class ServedCorpus : ICorpusSource, IDisposable
{
    private const int MaxKept = 32;
    private readonly CorpusDatabase _db;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, JsonObject> _kept = [];
    private readonly Dictionary<string, string> _info;

    /// <summary>Opens <paramref name="path"/> read-only; a missing file or one that is not a corpus database is one clear error.</summary>
    public ServedCorpus(string path)
    {
        _db = CorpusDatabase.OpenReadOnly(path);
        _info = _db.Info();
        if (!_info.ContainsKey("model") || !_info.ContainsKey("layers") || !_info.ContainsKey("heads"))
        {
            _db.Dispose();
            throw new AttnScopeException($"'{path}' is not a complete corpus database (corpus_info lacks the model or its sizes)");
        }
    }

    public string Path => _db.Path;
    public string Model => _info["model"];

    public JsonObject Describe()
    {
        long sentences;
        lock (_lock) sentences = Convert.ToInt64(_db.Scalar("SELECT count(*) FROM sentences"), CultureInfo.InvariantCulture);
        return new JsonObject
        {
            ["model"] = Model,
            ["layers"] = int.Parse(_info["layers"], CultureInfo.InvariantCulture),
            ["heads"] = int.Parse(_info["heads"], CultureInfo.InvariantCulture),
            ["stats"] = new JsonArray(CorpusStatNames.All.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray()),
            ["qkHeads"] = new JsonArray(HeadRef.ParseList(_info.GetValueOrDefault("qk_heads")).Select(h => (JsonNode?)JsonValue.Create(h.ToString())).ToArray()),
            ["sentences"] = sentences,
        };
    }

    public JsonObject Histograms(string stat, int bins) => Kept($"h|{stat}|{bins}", () =>
    {
        var d = StatDistribution.Compute(_db, stat, bins);
        return new JsonObject
        {
            ["stat"] = d.Stat, ["min"] = d.Min, ["max"] = d.Max, ["bins"] = d.Bins, ["sentences"] = d.Sentences,
            ["layers"] = d.Counts.Length, ["heads"] = d.Counts.Length == 0 ? 0 : d.Counts[0].Length,
            ["counts"] = new JsonArray(d.Counts.Select(l => (JsonNode?)new JsonArray(l.Select(h => (JsonNode?)new JsonArray(h.Select(c => (JsonNode?)JsonValue.Create(c)).ToArray())).ToArray())).ToArray()),
            ["means"] = new JsonArray(d.Means.Select(l => (JsonNode?)new JsonArray(l.Select(m => (JsonNode?)(float.IsNaN(m) ? null : JsonValue.Create(m))).ToArray())).ToArray()),
        };
    });

    public JsonObject Embedding(string head, string projection, int sentences)
    {
        var h = HeadRef.Parse(head);
        return Kept($"e|{h}|{projection}|{sentences}", () =>
            HeadEmbedding.ToJson(HeadEmbedding.Compute(_db, h, sentences, projection, seed: 1), attention: false));
    }

    public CorpusSentence? Sentence(long line)
    {
        lock (_lock)
        {
            using var cmd = _db.Connection.CreateCommand();
            cmd.CommandText = "SELECT text, pair, tokens FROM sentences WHERE line = $line";
            cmd.Parameters.Add(new DuckDBParameter("line", line));
            using var r = cmd.ExecuteReader();
            if (!r.Read()) return null;
            return new CorpusSentence(line, r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), ((IEnumerable<string>)r.GetValue(2)).ToList());
        }
    }

    /// <summary>A result computed once under the lock (copies go out, so a caller cannot change what is kept).</summary>
    private JsonObject Kept(string key, Func<JsonObject> compute)
    {
        lock (_lock)
        {
            if (!_kept.TryGetValue(key, out var value))
            {
                value = compute();
                if (_kept.Count >= MaxKept) _kept.Clear();
                _kept[key] = value;
            }
            return (JsonObject)value.DeepClone();
        }
    }

    public void Dispose() => _db.Dispose();
}
