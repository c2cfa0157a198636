using AttnScope.Capture;
using AttnScope.Sources.Tokenization;
using AttnScope.Tests.Support;
using T = AttnScope.Tests.Tokenization.TinySentencePieceJson;

namespace AttnScope.Tests.Tokenization;

/// <summary>Llama style SentencePiece BPE from a handwritten tokenizer.json (<see cref="TinySentencePieceJson"/>).</summary>
public class SentencePieceBpeTests
{
    private static BpeTextEncoder Load(TempDir dir, bool byteFallback = true, bool metaspace = false, int maxLength = 64) =>
        BpeTextEncoder.FromTokenizerJson(T.Write(dir.File("tokenizer.json"), byteFallback, metaspace), maxLength);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SpacesBecomeTheWordStartMarkAndBosComesFirst(bool metaspace)
    {
        using var dir = new TempDir();
        var tok = Load(dir, metaspace: metaspace);
        var e = tok.Encode("hello world");
        Assert.Equal(new[] { T.Bos, T.Id("▁hello"), T.Id("▁world") }, e.Ids);
        Assert.Equal(BpeFlavour.SentencePiece, tok.Flavour);
        Assert.True(e.Tokens[0].IsSpecial);
        Assert.Equal((-1, -1), (e.Tokens[0].Start, e.Tokens[0].End));
        // The inserted "▁" of "▁hello" covers nothing: the span is "hello"; the "▁" of "▁world" is the real space.
        Assert.Equal(("hello", 0, 5), (e.Tokens[1].Text, e.Tokens[1].Start, e.Tokens[1].End));
        Assert.Equal((" world", 5, 11), (e.Tokens[2].Text, e.Tokens[2].Start, e.Tokens[2].End));
        Assert.Equal("▁world", tok.TokenText(T.Id("▁world")));
        Assert.Equal("hello world", tok.Decode(e.Ids, skipSpecialTokens: true));
    }

    [Fact]
    public void AnUnseenCharacterFallsBackToItsUtf8Bytes()
    {
        using var dir = new TempDir();
        var tok = Load(dir);
        var text = "hello é";
        var e = tok.Encode(text);
        // "é" is U+00E9 = C3 A9 in UTF-8; the space before it is the lone "▁".
        Assert.Equal(new[] { T.Bos, T.Id("▁hello"), T.Id("▁"), T.Byte(0xC3), T.Byte(0xA9) }, e.Ids);
        Assert.All(e.Tokens.Skip(3), t => Assert.Equal(("é", 6, 7), (t.Text, t.Start, t.End)));
        Assert.Equal((" ", 5, 6), (e.Tokens[2].Text, e.Tokens[2].Start, e.Tokens[2].End));
        OffsetChecks.CoverTheText(e, text);
        Assert.Equal(text, tok.Decode(e.Ids, skipSpecialTokens: true));
        Assert.Empty(e.Warnings);
    }

    [Fact]
    public void AnEmojiFallsBackToFourBytesAndDecodesBack()
    {
        using var dir = new TempDir();
        var tok = Load(dir);
        var text = "world 🎉 hello";
        var e = tok.Encode(text);
        Assert.Equal(new[] { T.Byte(0xF0), T.Byte(0x9F), T.Byte(0x8E), T.Byte(0x89) }, e.Ids.Skip(3).Take(4));
        OffsetChecks.CoverTheText(e, text);
        Assert.Equal(text, tok.Decode(e.Ids, skipSpecialTokens: true));
    }

    [Fact]
    public void ATokenMadeOnlyOfTheInsertedMarkHasAnEmptySpan()
    {
        using var dir = new TempDir();
        var tok = Load(dir);
        var e = tok.Encode("é");
        Assert.Equal(new[] { T.Bos, T.Id("▁"), T.Byte(0xC3), T.Byte(0xA9) }, e.Ids);
        Assert.Equal(("▁", 0, 0), (e.Tokens[1].Text, e.Tokens[1].Start, e.Tokens[1].End));
        Assert.False(e.Tokens[1].IsSpecial);
    }

    [Fact]
    public void WithoutByteFallbackUnseenCharactersBecomeOneFusedUnknownWithAWarning()
    {
        using var dir = new TempDir();
        var tok = Load(dir, byteFallback: false);
        var e = tok.Encode("hello éé");
        Assert.Equal(new[] { T.Bos, T.Id("▁hello"), T.Id("▁"), T.Unk }, e.Ids);
        Assert.Equal((6, 8), (e.Tokens[3].Start, e.Tokens[3].End));
        Assert.Contains(e.Warnings, w => w.Contains("not in the vocabulary"));
    }

    [Fact]
    public void SpecialTokensInTheTextAreMatchedWhole()
    {
        using var dir = new TempDir();
        var tok = Load(dir);
        var e = tok.Encode("hello</s>world");
        // The text after an added token is normalised on its own, so it gets its own "▁" (Hugging Face's legacy Llama behaviour).
        Assert.Equal(new[] { T.Bos, T.Id("▁hello"), T.Eos, T.Id("▁world") }, e.Ids);
        Assert.True(e.Tokens[2].IsSpecial);
        Assert.Equal(("world", 9, 14), (e.Tokens[3].Text, e.Tokens[3].Start, e.Tokens[3].End));
    }

    [Fact]
    public void TokenizerConfigCanTurnBosOffAndEosOn()
    {
        using var dir = new TempDir();
        T.Write(dir.File("tokenizer.json"));
        File.WriteAllText(dir.File("tokenizer_config.json"), "{\"add_bos_token\": false, \"add_eos_token\": true, \"eos_token\": \"</s>\"}");
        var tok = BpeTextEncoder.FromTokenizerJson(dir.File("tokenizer.json"), 64, TokenizerConfig.Read(dir.File("tokenizer_config.json")));
        Assert.Equal(new[] { T.Id("▁hello"), T.Eos }, tok.Encode("hello").Ids);
    }

    [Fact]
    public void TruncationKeepsBosAndNamesTheCut()
    {
        using var dir = new TempDir();
        var tok = Load(dir, maxLength: 3);
        var e = tok.Encode("hello world hello");
        Assert.Equal(new[] { T.Bos, T.Id("▁hello"), T.Id("▁world") }, e.Ids);
        Assert.Contains("character 11", Assert.Single(e.Warnings));
    }

    [Fact]
    public void AContinuationKeepsTheSpaceOfTheFirstPiece()
    {
        using var dir = new TempDir();
        var tok = Load(dir);
        var d = tok.StartContinuation();
        var first = d.Append(T.Id("▁world"));
        Assert.Equal((" world", 0, 6), (first.Text, first.Start, first.End));
        Assert.Equal("", d.Append(T.Byte(0xC3)).Text);
        var e = d.Append(T.Byte(0xA9));
        Assert.Equal(("é", 6, 7), (e.Text, e.Start, e.End));
        Assert.True(d.Append(T.Eos).IsSpecial);
        Assert.Equal(" worldé", d.Finish());
    }
}
