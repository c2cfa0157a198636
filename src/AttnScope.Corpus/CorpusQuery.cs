using System.Globalization;
using AttnScope.Capture;
using DuckDB.NET.Data;

namespace AttnScope.Corpus;

/// <summary>The result of a SQL query as text cells: column names, up to a row limit, and whether more rows followed.</summary>
internal sealed record QueryTable(IReadOnlyList<string> Columns, IReadOnlyList<string[]> Rows, bool More);

/// <summary>Runs SQL on a corpus database opened read-only.</summary>
internal static class CorpusQuery
{
    /// <summary>Runs <paramref name="sql"/> and returns at most <paramref name="maxRows"/> rows as text.</summary>
    public static QueryTable Run(CorpusDatabase db, string sql, int maxRows)
    {
        if (string.IsNullOrWhiteSpace(sql)) throw new AttnScopeException("the query is empty");
        try
        {
            using var cmd = db.Connection.CreateCommand();
            cmd.CommandText = sql;
            using var r = cmd.ExecuteReader();
            var columns = Enumerable.Range(0, r.FieldCount).Select(r.GetName).ToList();
            var rows = new List<string[]>();
            bool more = false;
            while (r.Read())
            {
                if (rows.Count >= maxRows) { more = true; break; }
                var row = new string[r.FieldCount];
                for (int i = 0; i < row.Length; i++) row[i] = Format(r.IsDBNull(i) ? null : r.GetValue(i));
                rows.Add(row);
            }
            return new QueryTable(columns, rows, more);
        }
        catch (DuckDBException e)
        {
            throw new AttnScopeException($"query failed: {CorpusDatabase.FirstLine(e.Message)}");
        }
    }

    /// <summary>A value as text: invariant numbers (floats to 6 significant digits), lists in brackets, NULL for null.</summary>
    public static string Format(object? v) => v switch
    {
        null => "NULL",
        float f => f.ToString("G6", CultureInfo.InvariantCulture),
        double d => d.ToString("G6", CultureInfo.InvariantCulture),
        decimal m => m.ToString(CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        string s => s,
        System.Collections.IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(Format)) + "]",
        _ => v.ToString() ?? "",
    };
}
