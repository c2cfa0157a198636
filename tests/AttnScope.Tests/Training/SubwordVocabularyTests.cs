using System.Text;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Training.Data;
using AttnScope.Training.Text;
using Microsoft.ML.Tokenizers;

namespace AttnScope.Tests.Training;

public sealed class LearnedVocabularyFixture
{
    internal IReadOnlyList<ParallelPair> Train { get; }
    internal IReadOnlyList<ParallelPair> Test { get; }
    internal SubwordVocabulary Vocabulary { get; }

    public LearnedVocabularyFixture()
    {
        (Train, Test) = BuiltinCorpus.Generate(11, 3_000, 300);
        Vocabulary = SubwordVocabulary.Learn(Train.SelectMany(p => new[] { p.Source, p.Target }), 800);
    }
}

public class SubwordVocabularyTests(LearnedVocabularyFixture f) : IClassFixture<LearnedVocabularyFixture>
{
    [Fact]
    public void SpecialIdsAndSizeBound()
    {
        Assert.InRange(f.Vocabulary.Size, 700, 800);
        Assert.Equal(["<pad>", "<unk>", "<bos>", "<eos>"], Enumerable.Range(0, 4).Select(f.Vocabulary.PieceText));
        Assert.Equal("<12345>", f.Vocabulary.PieceText(12345));
    }

    [Fact]
    public void DecodeReversesEncodeOnHeldOutCorpusText()
    {
        foreach (var p in f.Test)
        {
            foreach (var text in new[] { p.Source, p.Target })
            {
                var e = f.Vocabulary.Encode(text);
                Assert.DoesNotContain(SubwordVocabulary.UnkId, e.Ids);
                Assert.Equal(text, f.Vocabulary.Decode(e.Ids));
                Assert.Equal(text, f.Vocabulary.Decode([SubwordVocabulary.BosId, .. e.Ids, SubwordVocabulary.EosId, SubwordVocabulary.PadId]));
            }
        }
    }

    [Fact]
    public void MergesMakeFrequentWordsSinglePieces()
    {
        var frequent = f.Train.SelectMany(p => p.Target.Split(' ')).CountBy(w => w).OrderByDescending(kv => kv.Value).Take(30).Select(kv => kv.Key);
        Assert.All(frequent, w => Assert.Equal([w], f.Vocabulary.Encode(w).Pieces));
        Assert.True(f.Test.Average(p => f.Vocabulary.Encode(p.Target).Ids.Length / (double)p.Target.Split(' ').Length) < 1.8);
    }

    [Fact]
    public void WordIndicesAndOffsetsPointIntoTheText()
    {
        const string text = "  Meine  Großmutter\tliest, weil\u00A0ein Vogel singt.";
        var e = f.Vocabulary.Encode(text);
        var words = Words.Spans(text);
        Assert.Equal(7, words.Count);
        Assert.Equal(e.Ids.Length, e.WordIndex.Length);
        Assert.Equal(e.Ids.Length, e.Offsets.Length);
        for (int i = 0; i < e.Ids.Length; i++)
        {
            var (s, end) = e.Offsets[i];
            var piece = e.Pieces[i].StartsWith("##") ? e.Pieces[i][2..] : e.Pieces[i];
            Assert.Equal(piece, text[s..end]);
            var w = words[e.WordIndex[i]];
            Assert.InRange(s, w.Start, w.End - 1);
            Assert.InRange(end, s + 1, w.End);
            Assert.Equal(e.Pieces[i], f.Vocabulary.PieceText(e.Ids[i]));
        }
        Assert.Equal(Enumerable.Range(0, 7), e.WordIndex.Distinct());
        Assert.Equal("Meine Großmutter liest, weil ein Vogel singt.", f.Vocabulary.Decode(e.Ids));
    }

    [Fact]
    public void UnknownCharactersBecomeUnkWithoutACrash()
    {
        var e = f.Vocabulary.Encode("Der Hund 🐕 die ☃x Q\u0000.");
        Assert.Equal(["Der", "Hund", "<unk>", "die", "<unk>", "<unk>"], e.Pieces);
        Assert.Equal([0, 1, 2, 3, 4, 5], e.WordIndex);
        Assert.Equal((9, 11), e.Offsets[2]); // the dog emoji: one surrogate pair
        Assert.Equal("Der Hund <unk> die <unk> <unk>", f.Vocabulary.Decode(e.Ids));
        Assert.Empty(f.Vocabulary.Encode("").Ids);
        Assert.Empty(f.Vocabulary.Encode(" \t ").Ids);
        Assert.Equal([SubwordVocabulary.UnkId], f.Vocabulary.Encode(new string('a', 150)).Ids);
    }

    [Fact]
    public void SavedVocabularyIsAStandardWordPieceFileTheLibraryLoads()
    {
        using var dir = new TempDir();
        var folder = Path.Combine(dir.Path, "tok");
        f.Vocabulary.Save(folder);
        var path = Path.Combine(folder, "vocab.txt");
        var lines = File.ReadAllLines(path, Encoding.UTF8);
        Assert.Equal(f.Vocabulary.Size, lines.Length);
        Assert.Equal(["<pad>", "<unk>", "<bos>", "<eos>"], lines[..4]);

        // Loaded straight from the file by Microsoft.ML.Tokenizers, with no help from our class.
        var library = WordPieceTokenizer.Create(path, new WordPieceOptions { UnknownToken = "<unk>", ContinuingSubwordPrefix = "##" });
        var loaded = SubwordVocabulary.Load(folder);
        foreach (var p in f.Test.Take(50))
        {
            var ours = loaded.Encode(p.Target);
            var theirs = p.Target.Split(' ').SelectMany(w => library.EncodeToIds(w, considerPreTokenization: false, considerNormalization: false)).ToArray();
            Assert.Equal(theirs, ours.Ids);
            Assert.Equal(f.Vocabulary.Encode(p.Target).Ids, ours.Ids);
        }
    }

    [Fact]
    public void LearningIsDeterministicAndKeepsSurrogatePairsWhole()
    {
        string[] texts = ["der Hund 😀 lacht", "die Katze 😀😀 lacht", "das Kind lacht", "der Hund lacht"];
        var a = SubwordVocabulary.Learn(texts, 40);
        var b = SubwordVocabulary.Learn(texts, 40);
        using var dir = new TempDir();
        a.Save(dir.File("a"));
        b.Save(dir.File("b"));
        var bytes = File.ReadAllBytes(Path.Combine(dir.File("a"), "vocab.txt"));
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(dir.File("b"), "vocab.txt")));
        var strict = new UTF8Encoding(false, true).GetString(bytes); // throws on a lone surrogate
        Assert.Contains("\n😀\n", strict);
        Assert.Contains("\n##😀\n", strict);
        Assert.Equal("die Katze 😀😀 lacht", a.Decode(a.Encode("die Katze 😀😀 lacht").Ids));
        Assert.Single(a.Encode("lacht").Ids);
    }

    [Fact]
    public void BadVocabularyFilesAreClearErrors()
    {
        using var dir = new TempDir();
        var missing = Assert.Throws<AttnScopeException>(() => SubwordVocabulary.Load(dir.Path));
        Assert.Contains("vocab.txt", missing.Message);
        File.WriteAllText(dir.File("vocab.txt"), "[PAD]\n[UNK]\nHund\n");
        Assert.Contains("must be <pad>", Assert.Throws<AttnScopeException>(() => SubwordVocabulary.Load(dir.Path)).Message);
        File.WriteAllText(dir.File("vocab.txt"), "<pad>\n<unk>\n<bos>\n<eos>\nHund\nHund\n");
        Assert.Contains("appears twice", Assert.Throws<AttnScopeException>(() => SubwordVocabulary.Load(dir.Path)).Message);
        File.WriteAllBytes(dir.File("vocab.txt"), [.. "<pad>\n<unk>\n<bos>\n<eos>\n"u8, 0xFF, 0x0A]);
        Assert.Contains("UTF-8", Assert.Throws<AttnScopeException>(() => SubwordVocabulary.Load(dir.Path)).Message);
        Assert.Throws<AttnScopeException>(() => SubwordVocabulary.Learn(["a b"], 5));
    }

    [Fact]
    public void TruncationAndPadding()
    {
        var e = f.Vocabulary.Encode("Der Hund sieht die Katze im Garten.");
        var t = e.Truncate(3);
        Assert.Equal(3, t.Length);
        Assert.Equal(e.Ids[..3], t.Ids);
        Assert.Equal(e.Offsets[..3], t.Offsets);
        Assert.Same(e, e.Truncate(100));
        var padded = SubwordVocabulary.PadRows([[5, 6, 7], [8], []], out int width);
        Assert.Equal(3, width);
        Assert.Equal([5, 6, 7, 8, 0, 0, 0, 0, 0], padded);
        SubwordVocabulary.PadRows([[1]], out width, minWidth: 4);
        Assert.Equal(4, width);
    }
}
