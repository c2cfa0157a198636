using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Training.Data;
using Parquet;
using Parquet.Schema;

namespace AttnScope.Tests.Training;

/// <summary>The formats WMT14 users have: Hugging Face Parquet shards, SGML and XML test sets, JSON Lines in both
/// layouts, and two aligned files named on the command line. Fixtures are written by the tests themselves.</summary>
public class CorpusFormatsTests
{
    private static readonly (string De, string En)[] Sentences =
    [
        ("Wiederaufnahme der Sitzungsperiode", "Resumption of the session"),
        ("Der Hund schläft.", "The dog sleeps."),
        ("Ich danke Ihnen.", "Thank you."),
    ];

    /// <summary>A Parquet file in the HF wmt14 layout: a "translation" struct {de, en}, one row group per <paramref name="groups"/> entry.</summary>
    internal static async Task WriteTranslationParquet(string path, params (string? De, string? En)[][] groups)
    {
        var de = new DataField<string>("de", true);
        var en = new DataField<string>("en", true);
        await WriteParquet(path, new ParquetSchema(new StructField("translation", de, en)),
            groups.Select(rows => new (DataField, string?[])[] { (de, rows.Select(r => r.De).ToArray()), (en, rows.Select(r => r.En).ToArray()) }).ToArray());
    }

    /// <summary>Writes row groups of string columns.</summary>
    internal static async Task WriteParquet(string path, ParquetSchema schema, params (DataField Field, string?[] Values)[][] groups)
    {
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema, stream);
        foreach (var columns in groups)
        {
            using var group = writer.CreateRowGroup();
            foreach (var (field, values) in columns) await group.WriteAsync(field, values!, null);
        }
    }

    [Fact]
    public async Task HuggingFaceParquetShardsWithATranslationStruct()
    {
        using var dir = new TempDir();
        var folder = Directory.CreateDirectory(dir.File("de-en")).FullName;
        // two train shards (the second with two row groups and a null), and a test shard that a folder read skips
        await WriteTranslationParquet(Path.Combine(folder, "train-00000-of-00002.parquet"), [Sentences[0], Sentences[1]]);
        await WriteTranslationParquet(Path.Combine(folder, "train-00001-of-00002.parquet"), [Sentences[2]], [("Nur Deutsch", null), Sentences[1]]);
        await WriteTranslationParquet(Path.Combine(folder, "test-00000-of-00001.parquet"), [("Test", "Test sentence")]);

        var r = ParallelCorpusReader.Read(folder, "en", "de", CorpusFilterOptions.Default);
        Assert.Equal(Sentences.Select(s => (s.En, s.De)), r.Pairs.Select(p => (p.Source, p.Target)));
        Assert.Equal(1, r.Report.Skipped[CorpusSkipReason.Malformed]);   // the null side
        Assert.Equal(1, r.Report.Skipped[CorpusSkipReason.Duplicate]);   // Sentences[1] again
        Assert.Contains(r.Report.Notes, n => n.Contains("train-00001-of-00002.parquet row 2") && n.Contains("null"));

        // one shard read directly, the other direction
        var test = ParallelCorpusReader.Read(Path.Combine(folder, "test-00000-of-00001.parquet"), "de", "en", CorpusFilterOptions.Default);
        Assert.Equal(("Test", "Test sentence"), (test.Pairs[0].Source, test.Pairs[0].Target));
    }

    [Fact]
    public async Task ParquetWithTwoStringColumnsAndOneWithout()
    {
        using var dir = new TempDir();
        var path = dir.File("flat.parquet");
        var de = new DataField<string>("de");
        var en = new DataField<string>("en");
        await WriteParquet(path, new ParquetSchema(en, de), [(en, Sentences.Select(s => s.En).ToArray()), (de, Sentences.Select(s => s.De).ToArray())]);
        var r = ParallelCorpusReader.Read(path, "de", "en", CorpusFilterOptions.Default);
        Assert.Equal(Sentences.Select(s => (s.De, s.En)), r.Pairs.Select(p => (p.Source, p.Target)));

        var other = dir.File("other.parquet");
        var text = new DataField<string>("text");
        await WriteParquet(other, new ParquetSchema(text), [(text, ["a"])]);
        var e = Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(other, "de", "en", CorpusFilterOptions.Default));
        Assert.Contains("its columns: text", e.Message);
    }

    [Fact]
    public async Task HostileParquetFilesAreOneLineErrors()
    {
        using var dir = new TempDir();
        var fake = dir.File("fake.parquet");
        File.WriteAllText(fake, "de\ten\nHallo\tHello\n");
        var e = Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(fake, "de", "en", CorpusFilterOptions.Default));
        Assert.Contains("not a Parquet file", e.Message);

        // a real file cut short: the footer is gone
        var good = dir.File("good.parquet");
        await WriteTranslationParquet(good, [.. Sentences]);
        var bytes = File.ReadAllBytes(good);
        var cut = dir.File("cut.parquet");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        e = Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(cut, "de", "en", CorpusFilterOptions.Default));
        Assert.Contains("cut.parquet", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        // every byte of the footer length flipped in turn: never anything but a one-line error or a clean read
        for (int i = bytes.Length - 8; i < bytes.Length - 4; i++)
        {
            var bad = (byte[])bytes.Clone();
            bad[i] ^= 0xFF;
            File.WriteAllBytes(cut, bad);
            try { ParallelCorpusReader.Read(cut, "de", "en", CorpusFilterOptions.Default); }
            catch (AttnScopeException x) { Assert.DoesNotContain('\n', x.Message); }
        }
    }

    private const string SgmSource = """
        <srcset setid="newstest2014" srclang="any">
        <doc sysid="ref" docid="1012-bbc" genre="news" origlang="en">
        <p>
        <seg id="1">Gutach: Mehr Sicherheit f&uuml;r Fu&szlig;g&auml;nger</seg>
        <seg id="2">Sie stehen &amp; warten.</seg>
        <seg id="3">Nur in der Quelle.</seg>
        </p>
        </doc>
        <doc sysid="ref" docid="1013-bbc" genre="news" origlang="de">
        <seg id=1>Zweites Dokument.</seg>
        </doc>
        </srcset>
        """;

    private const string SgmReference = """
        <refset setid="newstest2014" srclang="any" trglang="en">
        <doc sysid="ref" docid="1013-bbc" genre="news" origlang="de">
        <seg id="1">Second document.</seg>
        </doc>
        <doc sysid="ref" docid="1012-bbc" genre="news" origlang="en">
        <seg id="2">They stand &amp; wait.</seg>
        <seg id="1">Gutach: Increased safety for pedestrians</seg>
        </doc>
        </refset>
        """;

    [Fact]
    public void WmtSgmlTestSetsPairSegmentsByDocumentAndId()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("newstest2014-deen-src.de.sgm"), SgmSource);
        File.WriteAllText(dir.File("newstest2014-deen-ref.en.sgm"), SgmReference);
        var expected = new[]
        {
            ("Gutach: Mehr Sicherheit für Fußgänger", "Gutach: Increased safety for pedestrians"),
            ("Sie stehen & warten.", "They stand & wait."),
            ("Zweites Dokument.", "Second document."),
        };
        // either file finds its partner
        foreach (var name in new[] { "newstest2014-deen-src.de.sgm", "newstest2014-deen-ref.en.sgm" })
        {
            var r = ParallelCorpusReader.Read(dir.File(name), "de", "en", CorpusFilterOptions.Default);
            Assert.Equal(expected, r.Pairs.Select(p => (p.Source, p.Target)));
            Assert.Equal(1, r.Report.Skipped[CorpusSkipReason.Misaligned]); // segment 3 has no reference
        }
        // both named explicitly, and the other direction
        var en = ParallelCorpusReader.Read($"{dir.File("newstest2014-deen-ref.en.sgm")},{dir.File("newstest2014-deen-src.de.sgm")}", "en", "de", CorpusFilterOptions.Default);
        // in the order of the source file (the English one here)
        Assert.Equal(expected.Select(p => (p.Item2, p.Item1)).Reverse(), en.Pairs.Select(p => (p.Source, p.Target)));

        File.WriteAllText(dir.File("plain.sgm"), "no segments here");
        Assert.Contains("SOURCE.sgm,TARGET.sgm", Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(dir.File("plain.sgm"), "de", "en", CorpusFilterOptions.Default)).Message);
        File.WriteAllText(dir.File("x-src.de.sgm"), "no segments here");
        File.WriteAllText(dir.File("x-ref.en.sgm"), SgmReference);
        Assert.Contains("no <seg> elements", Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(dir.File("x-src.de.sgm"), "de", "en", CorpusFilterOptions.Default)).Message);
        File.Delete(dir.File("x-ref.en.sgm"));
        Assert.Contains("x-ref.en.sgm", Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(dir.File("x-src.de.sgm"), "de", "en", CorpusFilterOptions.Default)).Message);
    }

    [Fact]
    public void WmtXmlTestSetsPickSidesByLanguage()
    {
        using var dir = new TempDir();
        var xml = dir.File("wmttest2022.en-de.xml");
        File.WriteAllText(xml, """
            <?xml version="1.0" encoding="utf-8"?>
            <dataset id="wmttest2022"><collection id="general">
              <doc id="doc-1" origlang="en">
                <src lang="en"><p><seg id="1">Hello &amp; welcome.</seg><seg id="2">Only a source.</seg></p></src>
                <ref lang="de" translator="A"><p><seg id="1">Hallo &amp; willkommen.</seg></p></ref>
                <ref lang="de" translator="B"><p><seg id="1">Servus.</seg></p></ref>
              </doc>
              <doc id="doc-2" origlang="en">
                <src lang="en"><p><seg id="1">Second.</seg></p></src>
                <ref lang="de" translator="A"><p><seg id="1">Zweitens.</seg></p></ref>
              </doc>
            </collection></dataset>
            """);
        var r = ParallelCorpusReader.Read(xml, "en", "de", CorpusFilterOptions.Default);
        Assert.Equal([("Hello & welcome.", "Hallo & willkommen."), ("Second.", "Zweitens.")], r.Pairs.Select(p => (p.Source, p.Target)));
        Assert.Equal(1, r.Report.Skipped[CorpusSkipReason.Misaligned]);
        var de = ParallelCorpusReader.Read(xml, "de", "en", CorpusFilterOptions.Default);
        Assert.Equal(("Hallo & willkommen.", "Hello & welcome."), (de.Pairs[0].Source, de.Pairs[0].Target));

        var e = Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(xml, "fr", "de", CorpusFilterOptions.Default));
        Assert.Contains("'de', 'en'", e.Message);
        File.WriteAllText(xml, "<dataset><doc id=\"1\"><src lang=\"en\"><seg id=\"1\">broken</src></doc>");
        e = Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(xml, "en", "de", CorpusFilterOptions.Default));
        Assert.Contains("not well-formed XML", e.Message);
        File.WriteAllText(xml, "<!DOCTYPE x [<!ENTITY a \"aaaaaaaa\">]><dataset/>");
        Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(xml, "en", "de", CorpusFilterOptions.Default));
    }

    [Fact]
    public void JsonLinesFlatLayoutAndTwoNamedFiles()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("flat.jsonl"), ["{\"de\": \"Hallo\", \"en\": \"Hello\", \"id\": 1}", "{\"text\": \"x\"}", "{\"en\": \"only\"}"]);
        var r = ParallelCorpusReader.Read(dir.File("flat.jsonl"), "de", "en", CorpusFilterOptions.Default);
        Assert.Equal([("Hallo", "Hello")], r.Pairs.Select(p => (p.Source, p.Target)));
        Assert.Equal(2, r.Report.Skipped[CorpusSkipReason.Malformed]);

        File.WriteAllLines(dir.File("a.txt"), ["Hello", "Thanks"]);
        File.WriteAllLines(dir.File("b.txt"), ["Hallo", "Danke"]);
        var two = ParallelCorpusReader.Read($"{dir.File("a.txt")},{dir.File("b.txt")}", "en", "de", CorpusFilterOptions.Default);
        Assert.Equal([("Hello", "Hallo"), ("Thanks", "Danke")], two.Pairs.Select(p => (p.Source, p.Target)));
        Assert.Contains("c.txt", Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read($"{dir.File("a.txt")},{dir.File("c.txt")}", "en", "de", CorpusFilterOptions.Default)).Message);
    }
}
