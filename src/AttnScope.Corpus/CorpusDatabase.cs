using System.Data.Common;
using AttnScope.Capture;
using DuckDB.NET.Data;

namespace AttnScope.Corpus;

/// <summary>
/// An embedded DuckDB database of corpus statistics. Opening creates the tables when new, removes rows of sentences
/// whose batch never committed, and reads which lines are finished, so that a run can resume after Ctrl-C or a crash.
/// </summary>
internal sealed class CorpusDatabase : IDisposable
{
    private readonly DuckDBConnection _connection;

    /// <summary>The database file.</summary>
    public string Path { get; }

    private CorpusDatabase(DuckDBConnection connection, string path) { _connection = connection; Path = path; }

    /// <summary>The open connection, for queries.</summary>
    public DuckDBConnection Connection => _connection;

    /// <summary>Opens (creating when absent) a database file for writing.</summary>
    public static CorpusDatabase Open(string path, bool create) => Open(path, create, readOnly: false);

    /// <summary>Opens an existing corpus database read-only (queries, export, views).</summary>
    public static CorpusDatabase OpenReadOnly(string path) => Open(path, create: false, readOnly: true);

    private static CorpusDatabase Open(string path, bool create, bool readOnly)
    {
        if (!create && !File.Exists(path)) throw new AttnScopeException($"corpus database not found: '{path}'");
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null && !Directory.Exists(dir)) throw new AttnScopeException($"folder not found for '{path}'");
        if (path.Contains(';')) throw new AttnScopeException($"a database path may not contain ';': '{path}'");
        var c = new DuckDBConnection($"Data Source={path}" + (readOnly ? ";ACCESS_MODE=READ_ONLY" : ""));
        try { c.Open(); }
        catch (DuckDBException e)
        {
            c.Dispose();
            throw new AttnScopeException($"cannot open '{path}' as a DuckDB database: {FirstLine(e.Message)}");
        }
        var db = new CorpusDatabase(c, path);
        if (create) db.Execute(CorpusSchema.Ddl());
        else if (!db.HasTable("corpus_info"))
        {
            db.Dispose();
            throw new AttnScopeException($"'{path}' is a DuckDB database but not a corpus database (no corpus_info table)");
        }
        return db;
    }

    /// <summary>The first line of a DuckDB error, for one-line messages.</summary>
    internal static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    /// <summary>Runs statements that return nothing.</summary>
    public void Execute(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Runs a query returning one value.</summary>
    public object? Scalar(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    /// <summary>Whether a table of that name exists.</summary>
    public bool HasTable(string name)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM information_schema.tables WHERE table_name = $name";
        cmd.Parameters.Add(new DuckDBParameter("name", name));
        return Convert.ToInt64(cmd.ExecuteScalar()) > 0;
    }

    /// <summary>The <c>corpus_info</c> rows.</summary>
    public Dictionary<string, string> Info()
    {
        var info = new Dictionary<string, string>();
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = "SELECT key, value FROM corpus_info";
        using var r = cmd.ExecuteReader();
        while (r.Read()) info[r.GetString(0)] = r.GetString(1);
        return info;
    }

    /// <summary>
    /// Makes the database ready for <paramref name="settings"/>: a new one records them, an existing one must match.
    /// Rows left by a batch that did not commit (none are expected, as batches are transactions) are removed.
    /// </summary>
    public void Prepare(CorpusSettings settings)
    {
        var stored = Info();
        if (stored.Count == 0)
        {
            using var tx = _connection.BeginTransaction();
            foreach (var (key, value) in settings.ToInfo())
            {
                using var cmd = _connection.CreateCommand();
                cmd.CommandText = "INSERT INTO corpus_info VALUES ($k, $v)";
                cmd.Parameters.Add(new DuckDBParameter("k", key));
                cmd.Parameters.Add(new DuckDBParameter("v", value));
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        }
        else settings.CheckSame(stored, Path);
        foreach (var t in new[] { "head_stats", "qk_vectors", "head_attention" })
            Execute($"DELETE FROM {t} WHERE line NOT IN (SELECT line FROM sentences)");
    }

    /// <summary>The line numbers already stored.</summary>
    public HashSet<long> FinishedLines()
    {
        var done = new HashSet<long>();
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = "SELECT line FROM sentences";
        using var r = cmd.ExecuteReader();
        while (r.Read()) done.Add(r.GetInt64(0));
        return done;
    }

    /// <summary>Writes a batch of finished sentences in one transaction.</summary>
    public void Write(IReadOnlyList<SentenceRecord> batch, int layers, int heads)
    {
        if (batch.Count == 0) return;
        using var tx = _connection.BeginTransaction();
        int stats = CorpusStatNames.All.Count;
        using (var a = _connection.CreateAppender("head_stats"))
            foreach (var s in batch)
                for (int l = 0; l < layers; l++)
                    for (int h = 0; h < heads; h++)
                    {
                        var row = a.CreateRow().AppendValue(s.Line).AppendValue(l).AppendValue(h);
                        int at = (l * heads + h) * stats;
                        for (int c = 0; c < stats; c++) row = row.AppendValue(s.Stats[at + c]);
                        row.EndRow();
                    }
        using (var a = _connection.CreateAppender("qk_vectors"))
            foreach (var s in batch)
                foreach (var v in s.Vectors)
                    a.CreateRow().AppendValue(s.Line).AppendValue(v.Head.Layer).AppendValue(v.Head.Head).AppendValue(v.Token)
                        .AppendValue(v.Query).AppendValue(v.Key).EndRow();
        using (var a = _connection.CreateAppender("head_attention"))
            foreach (var s in batch)
                foreach (var w in s.HeadWeights)
                    a.CreateRow().AppendValue(s.Line).AppendValue(w.Head.Layer).AppendValue(w.Head.Head).AppendValue(w.Weights).EndRow();
        using (var a = _connection.CreateAppender("sentences"))
            foreach (var s in batch)
                a.CreateRow().AppendValue(s.Line).AppendValue(s.Text).AppendValue(s.Pair).AppendValue(s.Tokens.Count)
                    .AppendValue(s.Tokens).AppendValue(s.Warnings).EndRow();
        tx.Commit();
    }

    /// <summary>Closes the database (its data is on disk).</summary>
    public void Dispose() => _connection.Dispose();
}
