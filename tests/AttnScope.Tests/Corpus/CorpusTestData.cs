using AttnScope.Corpus;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Corpus;

/// <summary>Small corpora written for the corpus tests, and reading their databases back.</summary>
internal static class CorpusTestData
{
    /// <summary>Real English sentences of different lengths (with a blank line, skipped, at line 4).</summary>
    public static readonly string[] Lines =
    [
        "The cat sat on the mat.",
        "A quick brown fox jumps over the lazy dog near the river bank.",
        "Attention heads often look at the previous token.",
        "",
        "She said that the meeting would start at nine, but it began an hour later.",
        "Rain fell all night.",
        "The library keeps old maps, letters and photographs of the town.",
    ];

    /// <summary>The 1-based line numbers of the non-blank lines.</summary>
    public static long[] NonBlankLines(IReadOnlyList<string> lines) =>
        lines.Select((l, i) => (l, i)).Where(x => x.l.Trim().Length > 0).Select(x => (long)x.i + 1).ToArray();

    public static string WriteText(TempDir dir, IEnumerable<string> lines, string name = "input.txt")
    {
        var path = dir.File(name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    /// <summary>Runs <c>attnscope corpus</c> in process and fails with its output when it fails.</summary>
    public static (string Out, string Err) RunCorpus(params string[] args)
    {
        var (code, o, e) = CliTests.Run(["corpus", .. args]);
        Assert.True(code == 0, $"exit {code}\n{o}\n{e}");
        return (o, e);
    }

    /// <summary>Every value of a query's first column, as longs.</summary>
    public static List<long> Longs(string db, string sql)
    {
        using var d = CorpusDatabase.OpenReadOnly(db);
        using var cmd = d.Connection.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var list = new List<long>();
        while (r.Read()) list.Add(Convert.ToInt64(r.GetValue(0)));
        return list;
    }

    /// <summary>Checks that a database holds every expected line exactly once, with all its rows.</summary>
    public static void AssertComplete(string db, long[] expectedLines, int layers = 6, int heads = 12)
    {
        Assert.Equal(expectedLines, Longs(db, "SELECT line FROM sentences ORDER BY line"));
        var perLine = Longs(db, "SELECT count(*) FROM head_stats GROUP BY line ORDER BY line");
        Assert.Equal(expectedLines.Length, perLine.Count);
        Assert.All(perLine, c => Assert.Equal(layers * heads, c));
        Assert.Equal(0, Longs(db, "SELECT count(*) FROM (SELECT line, layer, head FROM head_stats GROUP BY ALL HAVING count(*) > 1)")[0]);
    }
}
