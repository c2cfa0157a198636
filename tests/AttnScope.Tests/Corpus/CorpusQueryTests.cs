using AttnScope.Corpus;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using DuckDB.NET.Data;
using static AttnScope.Tests.Corpus.CorpusTestData;

namespace AttnScope.Tests.Corpus;

/// <summary><c>corpus query</c> prints SQL results; <c>corpus export</c> and <c>--parquet</c> write Parquet files that read back.</summary>
[Collection("minilm")]
public sealed class CorpusQueryTests
{
    [Fact]
    public void QueryPrintsATableAndExportWritesParquetThatReadsBack()
    {
        using var dir = new TempDir();
        var input = WriteText(dir, Lines);
        var db = dir.File("c.duckdb");
        var parquet = dir.File("pq");
        var (output, _) = RunCorpus("--input", input, "--out", db, "--qk-heads", "0.2", "--parquet", parquet);
        Assert.Contains("head_stats.parquet (432 rows)", output); // 6 sentences × 6 layers × 12 heads

        var (code, table, err) = CliTests.Run("corpus", "query", db, "SELECT line, n_tokens FROM sentences ORDER BY line");
        Assert.True(code == 0, err);
        var rows = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^line\s+n_tokens$", rows[0]);
        Assert.Matches(@"^-+\s+-+$", rows[1]);
        Assert.Equal("(6 rows)", rows[^1]);
        var lines = NonBlankLines(Lines);
        Assert.Equal(lines.Select(l => l.ToString()), rows[2..^1].Select(r => r.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]));

        var (csvCode, csv, _) = CliTests.Run("corpus", "query", db, "SELECT 'a,b' AS x, 2 AS y", "--csv");
        Assert.Equal(0, csvCode);
        Assert.Equal("x,y\n\"a,b\",2\n", csv.Replace("\r\n", "\n"));

        var exported = dir.File("export");
        var (ec, eo, ee) = CliTests.Run("corpus", "export", db, "--out", exported);
        Assert.True(ec == 0, ee);
        foreach (var table2 in CorpusSchema.Tables)
        {
            var path = Path.Combine(exported, table2 + ".parquet");
            Assert.True(File.Exists(path), path);
            Assert.Contains(path, eo);
            // Read back with a separate in-memory DuckDB: the same rows as the table.
            using var mem = new DuckDBConnection("Data Source=:memory:");
            mem.Open();
            using var cmd = mem.CreateCommand();
            cmd.CommandText = $"SELECT count(*) FROM read_parquet('{path}')";
            Assert.Equal(Longs(db, $"SELECT count(*) FROM {table2}")[0], Convert.ToInt64(cmd.ExecuteScalar()));
        }
        using (var mem = new DuckDBConnection("Data Source=:memory:"))
        {
            mem.Open();
            using var cmd = mem.CreateCommand();
            cmd.CommandText = $"SELECT round(sum(entropy), 3) FROM read_parquet('{Path.Combine(exported, "head_stats.parquet")}')";
            var fromParquet = Convert.ToDouble(cmd.ExecuteScalar());
            using var d = CorpusDatabase.OpenReadOnly(db);
            Assert.Equal(Convert.ToDouble(d.Scalar("SELECT round(sum(entropy), 3) FROM head_stats")), fromParquet, 6);
        }
    }

    [Fact]
    public void BadQueriesAndMissingDatabasesAreOneLine()
    {
        using var dir = new TempDir();
        var input = WriteText(dir, Lines.Take(2));
        var db = dir.File("c.duckdb");
        RunCorpus("--input", input, "--out", db);
        var (code, _, err) = CliTests.Run("corpus", "query", db, "SELEC nothing");
        CliTests.AssertOneLineError(code, err, "query failed");
        (code, _, err) = CliTests.Run("corpus", "query", db, "DELETE FROM sentences");
        CliTests.AssertOneLineError(code, err, "query failed");
        Assert.Equal(2, Longs(db, "SELECT count(*) FROM sentences")[0]); // read-only: nothing deleted
        (code, _, err) = CliTests.Run("corpus", "query", dir.File("none.duckdb"), "SELECT 1");
        CliTests.AssertOneLineError(code, err, "corpus database not found");
        File.WriteAllText(dir.File("junk.duckdb"), "not a database");
        (code, _, err) = CliTests.Run("corpus", "query", dir.File("junk.duckdb"), "SELECT 1");
        CliTests.AssertOneLineError(code, err, "cannot open");
    }
}
