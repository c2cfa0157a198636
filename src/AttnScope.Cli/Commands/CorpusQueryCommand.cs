using System.CommandLine;
using System.Text;
using AttnScope.Capture;
using AttnScope.Corpus;

namespace AttnScope.Cli;

/// <summary><c>attnscope corpus query DB "SELECT ..."</c>: runs SQL on a corpus database (read-only) and prints a table.</summary>
internal static class CorpusQueryCommand
{
    /// <summary>Widest cell printed; longer values end in an ellipsis.</summary>
    public const int MaxCellWidth = 60;

    public static Command Create(CliOutput output)
    {
        var db = new Argument<string>("database") { Description = "the corpus database" };
        var sql = new Argument<string>("sql") { Description = "the SQL query, e.g. \"SELECT layer, head, avg(entropy) FROM head_stats GROUP BY ALL\"" };
        var maxRows = new Option<int>("--max-rows") { Description = "most rows printed", DefaultValueFactory = _ => 100 };
        var csv = new Option<bool>("--csv") { Description = "print CSV instead of an aligned table" };
        var cmd = new Command("query", "Run SQL on a corpus database (read-only) and print the result.") { db, sql, maxRows, csv };
        cmd.SetAction(r => output.Guard(() =>
        {
            int max = r.GetValue(maxRows);
            if (max is < 1 or > 1_000_000) throw new AttnScopeException("--max-rows must be 1..1000000");
            using var database = CorpusDatabase.OpenReadOnly(r.GetValue(db)!);
            var table = CorpusQuery.Run(database, r.GetValue(sql)!, max);
            output.Out.Write(r.GetValue(csv) ? Csv(table) : Aligned(table));
            if (table.More) output.Note($"only the first {max} rows are printed (--max-rows)");
            return 0;
        }));
        return cmd;
    }

    /// <summary>The table with aligned columns, a rule under the header, and a row count.</summary>
    public static string Aligned(QueryTable t)
    {
        var cells = new List<string[]> { t.Columns.Select(Cell).ToArray() };
        cells.AddRange(t.Rows.Select(r => r.Select(Cell).ToArray()));
        int cols = t.Columns.Count;
        var width = Enumerable.Range(0, cols).Select(c => cells.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        for (int i = 0; i < cells.Count; i++)
        {
            sb.AppendLine(string.Join("  ", Enumerable.Range(0, cols).Select(c => cells[i][c].PadRight(width[c]))).TrimEnd());
            if (i == 0) sb.AppendLine(string.Join("  ", width.Select(w => new string('-', Math.Max(1, w)))));
        }
        sb.AppendLine($"({t.Rows.Count}{(t.More ? "+" : "")} row{(t.Rows.Count == 1 ? "" : "s")})");
        return sb.ToString();
    }

    private static string Cell(string value)
    {
        var v = TokenText.Escaped(value);
        return v.Length > MaxCellWidth ? v[..(MaxCellWidth - 1)] + "…" : v;
    }

    /// <summary>The table as CSV (RFC 4180 quoting), unabridged.</summary>
    public static string Csv(QueryTable t)
    {
        static string Q(string v) => v.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + v.Replace("\"", "\"\"") + "\"" : v;
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(",", t.Columns.Select(Q)));
        foreach (var r in t.Rows) sb.AppendLine(string.Join(",", r.Select(Q)));
        return sb.ToString();
    }
}
