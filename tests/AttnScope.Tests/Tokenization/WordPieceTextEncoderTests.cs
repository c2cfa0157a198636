using AttnScope.Capture;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Tests.Tokenization;

/// <summary>
/// Tokenizer tests on the embedded all-MiniLM-L6-v2 vocabulary (bert-base-uncased's). Expected ids are the
/// published bert-base-uncased ids ([CLS]=101, [SEP]=102, "the"=1996, "cat"=4937, ...); expected splits follow
/// Hugging Face's BertTokenizer rules (tabs/newlines separate words, emoji not in the vocab become [UNK]).
/// </summary>
public class WordPieceTextEncoderTests
{
    private static readonly Lazy<WordPieceTextEncoder> Encoder = new(() =>
        WordPieceTextEncoder.FromVocabFile(EmbeddedMiniLm.Extract().VocabPath, lowerCase: true, maxLength: 512));

    private static WordPieceTextEncoder Tok => Encoder.Value;

    [Fact]
    public void KnownSentenceGivesBertBaseUncasedIds()
    {
        var e = Tok.Encode("The cat sat on the mat.");
        Assert.Equal(new[] { 101, 1996, 4937, 2938, 2006, 1996, 13523, 1012, 102 }, e.Ids);
        Assert.All(e.TypeIds, t => Assert.Equal(0, t));
        Assert.True(e.Tokens[0].IsSpecial);
        Assert.True(e.Tokens[^1].IsSpecial);
        Assert.Equal("[CLS]", e.Tokens[0].Text);
    }

    [Theory]
    [InlineData("The cat sat on the mat.")]
    [InlineData("Café Müller's naïve résumé!")]
    [InlineData("東京は日本の首都です")]
    [InlineData("I ❤️ emojis 🎉🎉 and ÅNGSTRÖM")]
    [InlineData("  spaces\tand\nnewlines  ")]
    [InlineData("unaffable tokenization, (punctuation)... \"quotes\"")]
    public void OffsetsPointBackIntoTheOriginalText(string text)
    {
        var e = Tok.Encode(text);
        int last = 0;
        foreach (var t in e.Tokens.Where(t => !t.IsSpecial))
        {
            Assert.InRange(t.Start, 0, text.Length - 1);
            Assert.InRange(t.End, t.Start + 1, text.Length);
            Assert.True(t.Start >= last, "offsets must not go backwards");
            last = t.Start;
            var original = text[t.Start..t.End];
            if (t.Text == "[UNK]") continue;
            // The original slice, normalised as BERT does, is the token text without its ## prefix.
            var normalised = string.Concat(BertPreTokenizer.Split(original, lowerCase: true).Select(w => w.Text));
            Assert.Equal(t.Text.StartsWith("##") ? t.Text[2..] : t.Text, normalised);
        }
    }

    [Fact]
    public void AccentsAndCapitalsMapToTheirOriginalCharacters()
    {
        var text = "Café Müller";
        var e = Tok.Encode(text);
        var cafe = e.Tokens.Single(t => t.Text == "cafe");
        Assert.Equal("Café", text[cafe.Start..cafe.End]);
        var muller = e.Tokens.Single(t => t.Text == "muller");
        Assert.Equal("Müller", text[muller.Start..muller.End]);
    }

    [Fact]
    public void CjkIdeographsAreSingleTokensWithTheirOwnOffsets()
    {
        var text = "東京";
        var e = Tok.Encode(text);
        Assert.Equal(4, e.Length);
        Assert.Equal((0, 1), (e.Tokens[1].Start, e.Tokens[1].End));
        Assert.Equal((1, 2), (e.Tokens[2].Start, e.Tokens[2].End));
    }

    [Fact]
    public void EmojiOutsideTheVocabularyBecomesUnknownSpanningTheSurrogatePair()
    {
        var text = "hi 🎉";
        var e = Tok.Encode(text);
        var unk = e.Tokens.Single(t => t.Text == "[UNK]");
        Assert.Equal(100, unk.Id);
        Assert.Equal("🎉", text[unk.Start..unk.End]);
        Assert.Contains(e.Warnings, w => w.Contains("[UNK]"));
    }

    [Theory]
    [InlineData(true, "hello|,|world|!|(|x|)|don|'|t|cafe|x|tokyo")]
    [InlineData(false, "Hello|,|WORLD|!|(|x|)|Don|'|t|Café|x|TOKYO")]
    public void PreTokenizerSplitsPunctuationAndFoldsCaseAsBertDoes(bool lower, string expected)
    {
        var words = BertPreTokenizer.Split("Hello, WORLD! (x) Don't Café x　TOKYO", lower);
        Assert.Equal(expected, string.Join("|", words.Select(w => w.Text)));
    }

    [Fact]
    public void TabsAndNewlinesSeparateWords()
    {
        var e = Tok.Encode("spaces\tand\nnewlines");
        Assert.Contains(e.Tokens, t => t.Text == "and");
        Assert.Contains(e.Tokens, t => t.Text == "spaces");
    }

    [Fact]
    public void SentencePairsGetSegmentsAndTokenTypes()
    {
        var e = Tok.Encode("The cat sat.", "It slept.");
        int sep = Array.IndexOf(e.Ids, 102);
        Assert.Equal(new[] { 101 }, e.Ids[..1]);
        Assert.Equal(102, e.Ids[^1]);
        for (int i = 0; i < e.Length; i++)
        {
            Assert.Equal(i <= sep ? 0 : 1, e.TypeIds[i]);
            Assert.Equal(i <= sep ? Segment.A : Segment.B, e.Tokens[i].Segment);
        }
        var it = e.Tokens.Single(t => t.Text == "it");
        Assert.Equal("It", "It slept."[it.Start..it.End]);
    }

    [Fact]
    public void LongTextIsTruncatedWithAWarningNamingTheCut()
    {
        var text = string.Join(" ", Enumerable.Range(0, 700).Select(i => "word"));
        var e = Tok.Encode(text);
        Assert.Equal(512, e.Length);
        var w = Assert.Single(e.Warnings);
        Assert.Contains("truncated at character", w);
        Assert.Contains("190 of 700 tokens dropped", w);
    }

    [Fact]
    public void PairsAreTruncatedLongestFirst()
    {
        var a = string.Join(" ", Enumerable.Range(0, 600).Select(i => "cat"));
        var b = string.Join(" ", Enumerable.Range(0, 50).Select(i => "dog"));
        var e = Tok.Encode(a, b);
        Assert.Equal(512, e.Length);
        Assert.Equal(50, e.Tokens.Count(t => t.Text == "dog"));
        Assert.Equal(509 - 50, e.Tokens.Count(t => t.Text == "cat"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \t\n")]
    public void EmptyTextIsAnError(string text)
    {
        var ex = Assert.Throws<AttnScopeException>(() => Tok.Encode(text));
        Assert.Contains("empty", ex.Message);
    }

    [Fact]
    public void TextWithOnlyControlCharactersProducesNoTokensError()
    {
        var ex = Assert.Throws<AttnScopeException>(() => Tok.Encode("\u0001\u0002\u200b"));
        Assert.Contains("produces no tokens", ex.Message);
    }
}
