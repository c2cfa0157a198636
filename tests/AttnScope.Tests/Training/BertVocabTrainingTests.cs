using AttnScope.Capture;
using AttnScope.Sources.Tokenization;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Decoding;
using AttnScope.Training.Text;
using AttnScope.Training.Training;

namespace AttnScope.Tests.Training;

/// <summary>
/// train --vocab FILE|minilm: the translation model trained with a given BERT WordPiece vocab.txt. Its pieces are
/// BERT's (checked against the engine's own BERT tokenizer, itself checked against Hugging Face's), [PAD] [UNK] [CLS]
/// [SEP] are the model's pad, unk, bos and eos, "##" pieces join when decoding, and a run trained so translates.
/// </summary>
public class BertVocabTrainingTests
{
    private static string MiniLmVocab => RunTrainer.BertVocabPath("minilm");

    [Fact]
    public void Pieces_are_berts_and_the_specials_are_pad_unk_bos_eos()
    {
        var v = SubwordVocabulary.FromBertVocab(MiniLmVocab);
        Assert.True(v.IsBert);
        Assert.True(v.LowerCase); // all-MiniLM-L6-v2 is uncased
        Assert.Equal(30522, v.Size);
        Assert.Equal(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]" }, Enumerable.Range(0, 4).Select(v.PieceText));
        Assert.Equal((0, 1, 2, 3), (SubwordVocabulary.PadId, SubwordVocabulary.UnkId, SubwordVocabulary.BosId, SubwordVocabulary.EosId));
        // the engine's BERT tokenizer on the same file: the same pieces, in the same order
        var bert = WordPieceTextEncoder.FromVocabFile(MiniLmVocab, lowerCase: true, maxLength: 512);
        const string text = "Tokenization of Übermäßig long words, e.g. \"unaffable\" (don't) — 3.5 cats!";
        var reference = bert.Encode(text).Ids.Where(id => !bert.IsSpecial(id)).Select(bert.TokenText).ToArray();
        var mine = v.Encode(text);
        Assert.Equal(reference, mine.Pieces);
        Assert.Contains(mine.Pieces, p => p.StartsWith("##", StringComparison.Ordinal));
        // ids above [SEP]'s original line keep their vocab.txt line numbers
        var lines = File.ReadAllLines(MiniLmVocab);
        Assert.Equal(Array.IndexOf(lines, "cats"), v.IdOf("cats"));
        Assert.Equal(SubwordVocabulary.UnkId, v.Encode("\U0001F99C").Ids.Single()); // a parrot emoji: not in the vocabulary
        // word indices are whitespace words (for alignments); offsets point into the original text
        var e = v.Encode("Hello, world");
        Assert.Equal(new[] { "hello", ",", "world" }, e.Pieces);
        Assert.Equal(new[] { 0, 0, 1 }, e.WordIndex);
        Assert.Equal(new[] { (0, 5), (5, 6), (7, 12) }, e.Offsets);
    }

    [Theory]
    [InlineData("hello, world! the cat's mat (small).", "hello, world! the cat's mat (small).")]
    [InlineData("Tokenization is UNAFFABLE?", "tokenization is unaffable?")]
    [InlineData("Über  alles;  gut: ja", "uber alles; gut: ja")]
    public void Decode_joins_wordpieces_and_closes_up_punctuation(string text, string expected)
    {
        var v = SubwordVocabulary.FromBertVocab(MiniLmVocab);
        var ids = v.Encode(text).Ids;
        Assert.Equal(expected, v.Decode([SubwordVocabulary.BosId, .. ids, SubwordVocabulary.EosId, SubwordVocabulary.PadId]));
    }

    [Fact]
    public void With_fuzzy_repair_the_separator_is_appended_once_and_the_run_translates()
    {
        var v = SubwordVocabulary.FromBertVocab(MiniLmVocab, ["<sep>"]);
        Assert.Equal(30523, v.Size);
        Assert.Equal(30522, v.IdOf("<sep>"));
        using var dir = new TempDir();
        var path = dir.File("vocab.txt");
        File.WriteAllLines(path, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "<sep>", "hello", "##s"]);
        Assert.Equal(7, SubwordVocabulary.FromBertVocab(path, ["<sep>"]).Size); // already there: not twice
        var run = dir.File("run");
        var (code, stdout, err) = CliTests.Run(["train", "--out", run, "--steps", "2", "--vocab", "minilm", "--fuzzy", .. TinyRunFixture.TinyArgs]);
        Assert.True(code == 0, err + stdout);
        Assert.Equal(30522, RunFolder.Open(run).LoadVocabulary().IdOf("<sep>"));
        (code, stdout, err) = CliTests.Run("translate", run, "--text", "the dog sees the cat.");
        Assert.True(code == 0, err + stdout);
    }

    [Fact]
    public void A_malformed_vocab_file_is_a_clear_error()
    {
        using var dir = new TempDir();
        void Bad(string content, string message)
        {
            var path = dir.File("vocab.txt");
            File.WriteAllText(path, content);
            Assert.Contains(message, Assert.Throws<AttnScopeException>(() => SubwordVocabulary.FromBertVocab(path)).Message);
        }
        Bad("[PAD]\n[UNK]\n[CLS]\nhello\nworld\n", "no [SEP]");
        Bad("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n\nworld\n", "line 6 is empty");
        Bad("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nhel lo\n", "line 6");
        Bad("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nhello\n", "appears twice");
        File.WriteAllBytes(dir.File("vocab.txt"), [0x5B, 0xFF, 0xFE, 0x0A]);
        Assert.Contains("UTF-8", Assert.Throws<AttnScopeException>(() => SubwordVocabulary.FromBertVocab(dir.File("vocab.txt"))).Message);
        Assert.Contains("not found", Assert.Throws<AttnScopeException>(() => SubwordVocabulary.FromBertVocab(dir.File("missing.txt"))).Message);
        var (code, _, err) = CliTests.Run("train", "--out", dir.File("run"), "--steps", "1", "--builtin-pairs", "50", "--builtin-test-pairs", "5", "--vocab", dir.File("vocab.txt"));
        CliTests.AssertOneLineError(code, err, "UTF-8");
    }

    [Fact]
    public void A_short_run_with_vocab_minilm_translates_evaluates_and_captures()
    {
        using var dir = new TempDir();
        var run = dir.File("run");
        var (code, stdout, err) = CliTests.Run(["train", "--out", run, "--steps", "3", "--vocab", "minilm", .. TinyRunFixture.TinyArgs]);
        Assert.True(code == 0, err + stdout);
        Assert.Contains("BERT WordPiece vocabulary", stdout);
        var folder = RunFolder.Open(run);
        Assert.Equal("minilm", folder.Config.Vocab);
        Assert.Equal(30522, folder.Config.Model.VocabSize);
        var vocab = folder.LoadVocabulary();
        Assert.True(vocab.IsBert);
        var translator = Translator.Open(run);
        Assert.NotNull(translator.Translate("the dog sees the cat."));
        (code, stdout, err) = CliTests.Run("translate", run, "--text", "the dog sees the cat.");
        Assert.True(code == 0, err + stdout);
        (code, stdout, err) = CliTests.Run("evaluate", run, "--limit", "3");
        Assert.True(code == 0, err + stdout);
        Assert.Contains("held-out BLEU", stdout);
        var capture = dir.File("c.safetensors");
        (code, stdout, err) = CliTests.Run("capture", "--model", run, "--text", "The dog sees the cat.", "--output", capture);
        Assert.True(code == 0, err + stdout);
        var tokens = AttentionCapture.Load(capture).Tokens.Select(t => t.Text).ToArray();
        Assert.Equal(vocab.Encode("The dog sees the cat.").Pieces.Append("[SEP]").ToArray(), tokens); // BERT's lower-cased pieces, then eos
        (code, _, err) = CliTests.Run("train", "--out", run, "--resume", "--steps", "4", "--vocab", "minilm");
        CliTests.AssertOneLineError(code, err, "--vocab");
    }
}
