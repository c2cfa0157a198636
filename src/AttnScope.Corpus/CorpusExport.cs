using AttnScope.Capture;
using DuckDB.NET.Data;

namespace AttnScope.Corpus;

/// <summary>Writes every table of a corpus database as a Parquet file (<c>TABLE.parquet</c>) in a folder.</summary>
internal static class CorpusExport
{
    /// <summary>Exports the tables; returns the files written with their row counts.</summary>
    public static IReadOnlyList<(string Path, long Rows)> ToParquet(CorpusDatabase db, string folder)
    {
        Directory.CreateDirectory(folder);
        var written = new List<(string, long)>();
        foreach (var table in CorpusSchema.Tables)
        {
            var path = Path.GetFullPath(Path.Combine(folder, table + ".parquet"));
            try
            {
                string order = table == "corpus_info" ? "key" : "line";
                db.Execute($"COPY (SELECT * FROM {table} ORDER BY {order}) TO '{path.Replace("'", "''")}' (FORMAT parquet)");
            }
            catch (DuckDBException e)
            {
                throw new AttnScopeException($"could not write '{path}': {CorpusDatabase.FirstLine(e.Message)}");
            }
            written.Add((path, Convert.ToInt64(db.Scalar($"SELECT count(*) FROM {table}"))));
        }
        return written;
    }
}
