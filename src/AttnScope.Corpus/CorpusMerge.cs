using AttnScope.Capture;
using DuckDB.NET.Data;

namespace AttnScope.Corpus;

/// <summary>
/// Merges shard databases into one: every shard must have been built with the same settings (model, heads, stored
/// queries and keys); a line already in the target is skipped, so merging is idempotent and may be repeated as
/// shards finish. Each shard is copied in one transaction.
/// </summary>
internal static class CorpusMerge
{
    /// <summary>Merges <paramref name="shards"/> into <paramref name="target"/> (created when absent); returns the new lines per shard.</summary>
    public static IReadOnlyList<(string Shard, long Lines)> Merge(string target, IReadOnlyList<string> shards)
    {
        if (shards.Count == 0) throw new AttnScopeException("no shard databases to merge");
        var full = Path.GetFullPath(target);
        foreach (var s in shards)
        {
            if (!File.Exists(s)) throw new AttnScopeException($"corpus database not found: '{s}'");
            if (Path.GetFullPath(s) == full) throw new AttnScopeException($"'{s}' is the merge target itself");
            if (s.Contains('\'') || s.Contains(';')) throw new AttnScopeException($"a shard path may not contain quotes or ';': '{s}'");
        }
        using var db = CorpusDatabase.Open(target, create: true);
        var result = new List<(string, long)>();
        foreach (var shard in shards)
        {
            Dictionary<string, string> info;
            using (var s = CorpusDatabase.OpenReadOnly(shard)) info = s.Info();
            var mine = db.Info();
            if (mine.Count == 0)
            {
                foreach (var (k, v) in info)
                {
                    using var cmd = db.Connection.CreateCommand();
                    cmd.CommandText = "INSERT INTO corpus_info VALUES ($k, $v)";
                    cmd.Parameters.Add(new DuckDBParameter("k", k));
                    cmd.Parameters.Add(new DuckDBParameter("v", v));
                    cmd.ExecuteNonQuery();
                }
            }
            else
            {
                foreach (var key in new[] { "schema_version", "model", "layers", "heads", "qk_heads", "qk_tokens", "stats" })
                    if (mine.GetValueOrDefault(key) != info.GetValueOrDefault(key))
                        throw new AttnScopeException($"'{shard}' was built with {key} = '{info.GetValueOrDefault(key)}' but '{target}' holds {key} = '{mine.GetValueOrDefault(key)}'");
            }
            long before = Convert.ToInt64(db.Scalar("SELECT count(*) FROM sentences"));
            try
            {
                db.Execute($"ATTACH '{Path.GetFullPath(shard)}' AS shard (READ_ONLY)");
                try
                {
                    db.Execute("BEGIN TRANSACTION;\n" +
                        "CREATE TEMP TABLE new_lines AS SELECT line FROM shard.sentences WHERE line NOT IN (SELECT line FROM main.sentences);\n" +
                        string.Concat(new[] { "head_stats", "qk_vectors", "head_attention", "sentences" }.Select(t =>
                            $"INSERT INTO main.{t} SELECT * FROM shard.{t} WHERE line IN (SELECT line FROM new_lines);\n")) +
                        "DROP TABLE new_lines;\nCOMMIT;");
                }
                catch
                {
                    try { db.Execute("ROLLBACK"); } catch (DuckDBException) { /* no transaction left */ }
                    throw;
                }
                finally { db.Execute("DETACH shard"); }
            }
            catch (DuckDBException e)
            {
                throw new AttnScopeException($"could not merge '{shard}': {CorpusDatabase.FirstLine(e.Message)}");
            }
            result.Add((shard, Convert.ToInt64(db.Scalar("SELECT count(*) FROM sentences")) - before));
        }
        return result;
    }
}
