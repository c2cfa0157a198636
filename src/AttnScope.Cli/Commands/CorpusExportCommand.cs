using System.CommandLine;
using AttnScope.Corpus;

namespace AttnScope.Cli;

/// <summary><c>attnscope corpus export DB --out DIR</c>: every table as a Parquet file.</summary>
internal static class CorpusExportCommand
{
    public static Command Create(CliOutput output)
    {
        var db = new Argument<string>("database") { Description = "the corpus database" };
        var dir = new Option<string>("--out", "-o") { Description = "the folder for TABLE.parquet files", Required = true };
        var cmd = new Command("export", "Write every table of a corpus database as Parquet.") { db, dir };
        cmd.SetAction(r => output.Guard(() =>
        {
            using var database = CorpusDatabase.OpenReadOnly(r.GetValue(db)!);
            foreach (var (path, rows) in CorpusExport.ToParquet(database, r.GetValue(dir)!)) output.Out.WriteLine($"wrote {path} ({rows} rows)");
            return 0;
        }));
        return cmd;
    }
}
