using System.Text;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Training.Data;

namespace AttnScope.Tests.Training;

public class ParallelCorpusReaderTests
{
    private static void Write(string path, params byte[][] lines)
    {
        using var fs = File.Create(path);
        foreach (var l in lines) { fs.Write(l); fs.WriteByte((byte)'\n'); }
    }

    private static byte[] U(string s) => Encoding.UTF8.GetBytes(s);

    private static readonly byte[] BadUtf8 = [0x48, 0x61, 0xC3, 0x28, 0x6C, 0x6C, 0x6F]; // "Ha\xC3(llo"

    [Fact]
    public void AlignedPlainTextFilesWithBadLines()
    {
        using var dir = new TempDir();
        Write(dir.File("train.en"), U("\uFEFFThe dog sleeps."), U(""), U("one two three four five six"), BadUtf8, U("The cat runs.\r"), U("extra"), U("extra too"));
        Write(dir.File("train.de"), U("Der Hund schläft."), U("Leer?"), U("eins zwei"), U("Hallo"), U("  Die Katze läuft.  "));
        var r = ParallelCorpusReader.Read(dir.File("train"), maxWords: 5);
        Assert.Equal([("The dog sleeps.", "Der Hund schläft."), ("The cat runs.", "Die Katze läuft.")], r.Pairs.Select(p => (p.Source, p.Target)));
        Assert.All(r.Pairs, p => Assert.Null(p.Gold));
        Assert.Equal(2, r.Report.Kept);
        Assert.Equal(1, r.Report.Skipped[CorpusSkipReason.Empty]);
        Assert.Equal(1, r.Report.Skipped[CorpusSkipReason.OverLong]);
        Assert.Equal(1, r.Report.Skipped[CorpusSkipReason.InvalidUtf8]);
        Assert.Equal(2, r.Report.Skipped[CorpusSkipReason.Misaligned]);
        Assert.Contains(r.Report.Notes, n => n.Contains("2 more line(s)") && n.Contains("train.en"));
        Assert.Contains(r.Report.Notes, n => n.StartsWith("line 4:") && n.Contains("UTF-8"));
        Assert.Equal("kept 2 pairs; skipped 5 (empty 1, invalid UTF-8 1, misaligned 2, over-long 1)", r.Report.ToString());

        // A folder holding train.en + train.de reads the same; other language codes find the other files.
        Assert.Equal(2, ParallelCorpusReader.Read(dir.Path, maxWords: 5).Report.Kept);
        Write(dir.File("train.fr"), U("Le chien dort."));
        var fr = ParallelCorpusReader.Read(dir.File("train"), "fr", "de");
        Assert.Equal(("Le chien dort.", "Der Hund schläft."), (fr.Pairs[0].Source, fr.Pairs[0].Target));
        Assert.Equal(4, fr.Report.Skipped[CorpusSkipReason.Misaligned]);
    }

    [Fact]
    public void TsvWithHeaderWrongColumnsAndCrLf()
    {
        using var dir = new TempDir();
        Write(dir.File("corpus.tsv"), U("en\tde"), U("Good morning.\tGuten Morgen.\r"), U("no tab here"), U("a\tb\tc"), U("\t"), U("   "), BadUtf8,
            U("Thank you.\tDanke."));
        var r = ParallelCorpusReader.Read(dir.File("corpus.tsv"));
        Assert.Equal([("Good morning.", "Guten Morgen."), ("Thank you.", "Danke.")], r.Pairs.Select(p => (p.Source, p.Target)));
        Assert.Equal(2, r.Report.Skipped[CorpusSkipReason.Misaligned]);
        Assert.Equal(2, r.Report.Skipped[CorpusSkipReason.Empty]);
        Assert.Equal(1, r.Report.Skipped[CorpusSkipReason.InvalidUtf8]);
        Assert.Contains(r.Report.Notes, n => n.Contains("header"));
        Assert.Contains(r.Report.Notes, n => n.StartsWith("line 4: 3 tab-separated"));
    }

    [Fact]
    public void JsonLinesInTheWmtLayout()
    {
        using var dir = new TempDir();
        Write(dir.File("wmt.jsonl"),
            U("{\"translation\": {\"de\": \"Wiederaufnahme der Sitzungsperiode\", \"en\": \"Resumption of the session\"}}"),
            U("{\"translation\": {\"en\": \"broken"),
            U("[1, 2]"),
            U("{\"translation\": {\"en\": \"only English\"}}"),
            U("{\"translation\": {\"en\": 5, \"de\": \"Zahl\"}}"),
            U("{\"translation\": {\"en\": \"\", \"de\": \"leer\"}}"),
            U(""),
            BadUtf8,
            U("{\"translation\": {\"en\": \"Escaped \\\"quote\\\" \\u00e9\", \"de\": \"Zitat \\u00fc\"}, \"id\": 7}"));
        var r = ParallelCorpusReader.Read(dir.File("wmt.jsonl"));
        Assert.Equal([("Resumption of the session", "Wiederaufnahme der Sitzungsperiode"), ("Escaped \"quote\" é", "Zitat ü")],
            r.Pairs.Select(p => (p.Source, p.Target)));
        Assert.Equal(4, r.Report.Skipped[CorpusSkipReason.Malformed]);
        Assert.Equal(2, r.Report.Skipped[CorpusSkipReason.Empty]);
        Assert.Equal(1, r.Report.Skipped[CorpusSkipReason.InvalidUtf8]);
        Assert.Contains(r.Report.Notes, n => n.StartsWith("line 4:") && n.Contains("\"de\""));
    }

    [Fact]
    public void ManyBadLinesKeepOnlyAFewNotes()
    {
        using var dir = new TempDir();
        Write(dir.File("c.tsv"), Enumerable.Range(0, 100).Select(i => U($"bad line {i}")).Append(U("a\tb")).ToArray());
        var r = ParallelCorpusReader.Read(dir.File("c.tsv"));
        Assert.Equal(100, r.Report.Skipped[CorpusSkipReason.Misaligned]);
        Assert.Single(r.Pairs);
        Assert.InRange(r.Report.Notes.Count, 1, 5);
    }

    [Fact]
    public void MissingFilesAreClearErrors()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(dir.File("nothing")));
        Assert.Contains("corpus not found", e.Message);
        Assert.Contains("nothing.en", e.Message);
        Write(dir.File("half.en"), U("x"));
        Assert.Contains("half.de", Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(dir.File("half"))).Message);
        Assert.Contains("train.tsv", Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(dir.Path)).Message);
        Write(dir.File("data.txt"), U("x"));
        Assert.Contains("not a .tsv, .jsonl", Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(dir.File("data.txt"))).Message);
        Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(dir.File("half"), "en", "en"));
    }
}
