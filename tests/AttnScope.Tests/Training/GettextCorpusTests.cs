using System.Buffers.Binary;
using System.Text;
using AttnScope.Capture;
using AttnScope.Training.Data;
using AttnScope.Training.Evaluation;

namespace AttnScope.Tests.Training;

/// <summary>
/// The real-data benchmark's corpus: compiled gettext catalogs. The fixtures in Golden/gettext were compiled by GNU
/// msgfmt (the reference compiler, make_sample.sh) from the .po files beside them, so the reader is checked against
/// another program's output; big-endian and hostile catalogs are built here byte by byte from the format's layout.
/// </summary>
public sealed class GettextCorpusTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", "gettext", name);

    [Theory]
    [InlineData("sample.mo")]
    [InlineData("sample-latin1.mo")]
    public void Reads_what_msgfmt_compiled(string file)
    {
        var messages = GettextCatalogReader.Read(Fixture(file)).ToDictionary(m => m.Source, m => m.Target);
        Assert.Equal("Datei öffnen", messages["Open file"]);
        Assert.Equal("Beenden", messages["Quit"]); // context "menu" dropped
        Assert.Equal("%d Datei entfernt", messages["%d file removed"]); // singular and first form
        Assert.Equal("Zwei\nZeilen", messages["Two\nlines"]);
        Assert.DoesNotContain("", messages.Keys); // the header entry
        Assert.DoesNotContain("Not translated", messages.Keys);
        Assert.Equal(4, messages.Count);
        Assert.All(GettextCatalogReader.Read(Fixture(file)), m => Assert.StartsWith("sample", m.Catalog));
    }

    /// <summary>A .mo image: header, originals table, translations table, then the NUL-terminated strings.</summary>
    private static byte[] Catalog(bool bigEndian, params (string Source, string Target)[] entries)
    {
        int n = entries.Length, originals = 28, translations = originals + 8 * n, strings = translations + 8 * n;
        var text = new List<byte>();
        var table = new (int Length, int Offset)[2 * n];
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < n; i++)
            {
                var b = Encoding.UTF8.GetBytes(k == 0 ? entries[i].Source : entries[i].Target);
                table[k * n + i] = (b.Length, strings + text.Count);
                text.AddRange(b);
                text.Add(0);
            }
        var bytes = new byte[strings + text.Count];
        void Put(int at, int v)
        {
            if (bigEndian) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(at), v);
            else BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), v);
        }
        Put(0, unchecked((int)0x950412de)); Put(4, 0); Put(8, n); Put(12, originals); Put(16, translations);
        for (int i = 0; i < 2 * n; i++) { Put(originals + 8 * i, table[i].Length); Put(originals + 8 * i + 4, table[i].Offset); }
        text.CopyTo(bytes, strings);
        return bytes;
    }

    [Fact]
    public void Reads_both_byte_orders_the_same()
    {
        (string, string)[] entries = [("", "Content-Type: text/plain; charset=UTF-8\n"), ("Save", "Speichern"), ("Close", "Schließen")];
        var little = GettextCatalogReader.Parse(Catalog(false, entries), "x", "x.mo");
        var big = GettextCatalogReader.Parse(Catalog(true, entries), "x", "x.mo");
        Assert.Equal(little, big);
        Assert.Equal([new CatalogMessage("Save", "Speichern", "x"), new CatalogMessage("Close", "Schließen", "x")], little);
    }

    [Fact]
    public void Hostile_catalogs_are_refused_with_one_line()
    {
        var good = Catalog(false, ("Save", "Speichern"));
        void Refused(byte[] bytes, string expect)
        {
            var e = Assert.Throws<AttnScopeException>(() => GettextCatalogReader.Parse(bytes, "x", "evil.mo"));
            Assert.Contains("evil.mo", e.Message);
            Assert.Contains(expect, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
        Refused(good[..20], "too short");
        Refused(Encoding.ASCII.GetBytes("this is not a catalog at all, honestly"), "not a compiled gettext catalog");
        var count = (byte[])good.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(count.AsSpan(8), int.MaxValue); // declares 2 G entries
        Refused(count, "runs past the end");
        var offset = (byte[])good.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(offset.AsSpan(28 + 4), good.Length - 2); // string starts near the end
        Refused(offset, "lies outside the file");
        var length = (byte[])good.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(length.AsSpan(28), int.MaxValue);
        Refused(length, "lies outside the file");
        var revision = (byte[])good.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(revision.AsSpan(4), 7 << 16);
        Refused(revision, "revision 7");
        Refused(Catalog(false, ("", "Content-Type: text/plain; charset=KOI8-R\n"), ("a", "b")), "KOI8-R");
    }

    [Fact]
    public void A_folder_skips_unreadable_catalogs_only_when_asked()
    {
        var dir = Directory.CreateTempSubdirectory("attnscope-mo-").FullName;
        try
        {
            File.Copy(Fixture("sample.mo"), Path.Combine(dir, "a.mo"));
            File.WriteAllText(Path.Combine(dir, "b.mo"), "garbage that is long enough to have a header");
            Assert.Throws<AttnScopeException>(() => GettextCatalogReader.ReadFolder(dir));
            var refused = new List<string>();
            var messages = GettextCatalogReader.ReadFolder(dir, refused);
            Assert.Equal(4, messages.Count);
            Assert.Single(refused);
            Assert.Contains("b.mo", refused[0]);
        }
        finally { Directory.Delete(dir, true); }
    }

    private static List<CatalogMessage> Messages(int distinct)
    {
        var list = new List<CatalogMessage>();
        for (int i = 0; i < distinct; i++)
        {
            list.Add(new CatalogMessage($"Message number {i}", $"Nachricht Nummer {i}", "a"));
            if (i % 3 == 0) list.Add(new CatalogMessage($"Message number {i}", $"Meldung Nummer {i}", "b")); // a second translation
            if (i % 5 == 0) list.Add(new CatalogMessage($"Message number {i}", $"Nachricht Nummer {i}", "c")); // an exact repeat
        }
        list.Add(new CatalogMessage("*** 100 %% ***", "*** 100 %% ***", "a"));
        list.Add(new CatalogMessage(string.Join(' ', Enumerable.Repeat("word", 60)), "Wort", "a"));
        list.Add(new CatalogMessage("Line one\n\tline  two", "Zeile eins\nZeile zwei", "a"));
        return list;
    }

    [Fact]
    public void The_split_holds_out_whole_english_strings_at_random_with_a_seed()
    {
        var split = GettextCorpus.Split(Messages(300), 3, heldOut: 40, seed: 7, maxWords: 50);
        Assert.Equal(40, split.HeldOut.Count);
        var trainSources = split.Train.Select(p => p.Source).ToHashSet();
        Assert.All(split.HeldOut, p => Assert.DoesNotContain(p.Source, trainSources));
        Assert.Equal(40, split.HeldOut.Select(p => p.Source).Distinct().Count());
        Assert.Equal(1, split.Dropped[GettextCorpus.NoLetter]);
        Assert.Equal(1, split.Dropped[GettextCorpus.OverLong]);
        Assert.Equal(60, split.Dropped[GettextCorpus.Duplicate]);
        Assert.Contains(split.Train.Concat(split.HeldOut), p => p.Source == "Line one line two" && p.Target == "Zeile eins Zeile zwei");
        // random, not the last lines: held-out strings come from all over the catalog
        var index = split.HeldOut.Select(p => p.Source == "Line one line two" ? 300 : int.Parse(p.Source.Split(' ')[^1])).ToList();
        Assert.True(index.Min() < 100 && index.Max() >= 200, string.Join(",", index));
        var again = GettextCorpus.Split(Messages(300), 3, 40, 7, 50);
        Assert.Equal(split.Fingerprint, again.Fingerprint);
        Assert.Equal(split.HeldOut, again.HeldOut);
        Assert.NotEqual(split.Fingerprint, GettextCorpus.Split(Messages(300), 3, 40, 8, 50).Fingerprint);
        Assert.Throws<AttnScopeException>(() => GettextCorpus.Split(Messages(10), 1, 50, 1, 50));
    }

    [Fact]
    public void Retrieval_returns_the_translation_of_the_most_similar_source()
    {
        var train = new List<ParallelPair>
        {
            new("Open the file", "Datei öffnen"),
            new("Close the window", "Fenster schließen"),
            new("Cannot open file %s", "Datei %s kann nicht geöffnet werden"),
            new("Print", "Drucken"),
        };
        var nn = new NearestNeighbourTranslator(train);
        Assert.Equal("Fenster schließen", nn.Translate("Close the window"));
        Assert.Equal("Datei %s kann nicht geöffnet werden", nn.Translate("cannot open file %s: no such file"));
        Assert.Equal("Drucken", nn.Translate("Print…"));
        Assert.Equal(["Datei öffnen", "Drucken"], nn.TranslateAll(["open the file!", "print"]));
    }

    /// <summary>The inverted index against a plain, independent computation of the documented similarity: dense
    /// TF-IDF vectors over every trigram, cosine by the definition, best index by a linear scan.</summary>
    [Fact]
    public void Retrieval_agrees_with_a_dense_computation_of_the_same_similarity()
    {
        var random = new Random(3);
        string Word() => new(Enumerable.Range(0, random.Next(2, 7)).Select(_ => (char)('a' + random.Next(6))).ToArray());
        string Sentence() => string.Join(' ', Enumerable.Range(0, random.Next(1, 6)).Select(_ => Word()));
        var train = Enumerable.Range(0, 200).Select(i => new ParallelPair(Sentence(), $"t{i}")).ToList();
        var nn = new NearestNeighbourTranslator(train);
        static List<string> Grams(string s) { var p = " " + s.ToLowerInvariant() + " "; return Enumerable.Range(0, p.Length - 2).Select(i => p.Substring(i, 3)).ToList(); }
        var vocab = train.SelectMany(p => Grams(p.Source)).Distinct().ToList();
        var idf = vocab.ToDictionary(g => g, g => Math.Log(200.0 / train.Count(p => Grams(p.Source).Contains(g))));
        double[] Vector(string s)
        {
            var v = vocab.Select(g => Grams(s).Count(x => x == g) * idf[g]).ToArray();
            double norm = Math.Sqrt(v.Sum(x => x * x));
            return norm == 0 ? v : v.Select(x => x / norm).ToArray();
        }
        var docs = train.Select(p => Vector(p.Source)).ToList();
        for (int q = 0; q < 40; q++)
        {
            var query = Sentence();
            var qv = Vector(query);
            var sims = docs.Select(d => d.Zip(qv, (a, b) => a * b).Sum()).ToList();
            double best = sims.Max();
            int got = nn.Nearest(query);
            Assert.True(Math.Abs(sims[got] - best) < 1e-5, $"query '{query}': picked {got} ({sims[got]:F6}), best {best:F6}");
        }
    }
}
