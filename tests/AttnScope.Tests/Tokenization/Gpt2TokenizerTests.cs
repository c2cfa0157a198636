using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Sources.Tokenization;
using AttnScope.Tests.Support;
using Microsoft.ML.Tokenizers;

namespace AttnScope.Tests.Tokenization;

/// <summary>
/// GPT-2's byte-level BPE on the real GPT-2 vocabulary (<see cref="Gpt2Files"/>). Expected ids are the published ones
/// ("Hello world" → 15496, 995) or those of Microsoft.ML.Tokenizers' own tiktoken GPT-2 tokenizer, an independent
/// implementation.
/// </summary>
public class Gpt2TokenizerTests
{
    private static readonly Lazy<BpeTextEncoder> Encoder = new(() => BpeTextEncoder.FromVocabAndMerges(Gpt2Files.VocabJson, Gpt2Files.MergesTxt, 1024));
    private static readonly Lazy<Tokenizer> Tiktoken = new(() => TiktokenTokenizer.CreateForModel("gpt2"));
    private static BpeTextEncoder Tok => Encoder.Value;

    public static TheoryData<string> Texts => new()
    {
        "Hello world",
        "The quick brown fox jumps over the lazy dog. It's 2024, isn't it?",
        "I ❤️ emojis 🎉🎉 and ÅNGSTRÖM",
        "東京は日本の首都です。北京也是。",
        "e\u0301 cafe\u0301 n\u0303 a\u0308\u0304 (combining marks)",
        "  multiple   spaces\n\nand\ttabs \n  end  ",
        "code: if (x == 1) { return y[0]; } // done",
        "Ünïcödé mixed with 123456 digits and €100",
    };

    [Fact]
    public void HelloWorldGivesThePublishedIds()
    {
        var e = Tok.Encode("Hello world");
        Assert.Equal(new[] { 15496, 995 }, e.Ids);
        Assert.Empty(e.Warnings);
        Assert.Equal("Hello", e.Tokens[0].Text);
        Assert.Equal(" world", e.Tokens[1].Text); // a real space, not "Ġ"
        Assert.Equal("Ġworld", Tok.TokenText(995));
        Assert.Equal((5, 11), (e.Tokens[1].Start, e.Tokens[1].End));
        Assert.Equal(50257, Tok.VocabSize);
        Assert.Equal(BpeFlavour.ByteLevel, Tok.Flavour);
    }

    [Theory]
    [MemberData(nameof(Texts))]
    public void IdsAgreeWithTiktokensGpt2(string text) =>
        Assert.Equal(Tiktoken.Value.EncodeToIds(text).ToArray(), Tok.Encode(text).Ids);

    [Theory]
    [MemberData(nameof(Texts))]
    public void OffsetsRebuildTheText(string text) => OffsetChecks.CoverTheText(Tok.Encode(text), text);

    [Theory]
    [MemberData(nameof(Texts))]
    public void DecodingTheIdsGivesTheTextBack(string text) => Assert.Equal(text, Tok.Decode(Tok.Encode(text).Ids));

    [Fact]
    public void AnEmojiSplitBetweenTokensGivesEachTheWholeCharacter()
    {
        var text = "a🎉";
        var e = Tok.Encode(text);
        var pieces = e.Tokens.Where(t => t.Start == 1).ToList();
        Assert.True(pieces.Count >= 2, "GPT-2 has no single token for 🎉: its four bytes take more than one token");
        Assert.All(pieces, t => { Assert.Equal(3, t.End); Assert.Equal("🎉", t.Text); });
    }

    [Fact]
    public void EndOfTextIsMatchedWholeAsASpecialToken()
    {
        var e = Tok.Encode("Hi<|endoftext|>there");
        var special = Assert.Single(e.Tokens, t => t.IsSpecial);
        Assert.Equal(Gpt2Files.EndOfText, special.Id);
        Assert.Equal((-1, -1), (special.Start, special.End));
        Assert.Equal("<|endoftext|>", special.Text);
        Assert.Equal(Tok.Encode("Hi").Ids.Concat([Gpt2Files.EndOfText]).Concat(Tok.Encode("there").Ids), e.Ids);
        Assert.Equal("Hithere", Tok.Decode(e.Ids, skipSpecialTokens: true));
        Assert.Equal("Hi<|endoftext|>there", Tok.Decode(e.Ids));
    }

    [Fact]
    public void NoBosByDefaultButTokenizerConfigCanAskForOne()
    {
        Assert.False(Tok.AddsBos);
        Assert.Equal(Gpt2Files.EndOfText, Tok.BosId);
        Assert.Equal(Gpt2Files.EndOfText, Tok.EosId);
        using var dir = new TempDir();
        File.WriteAllText(dir.File("tokenizer_config.json"), "{\"add_bos_token\": true, \"bos_token\": {\"content\": \"<|endoftext|>\"}}");
        var withBos = BpeTextEncoder.FromVocabAndMerges(Gpt2Files.VocabJson, Gpt2Files.MergesTxt, 1024, TokenizerConfig.Read(dir.File("tokenizer_config.json")));
        Assert.Equal(new[] { Gpt2Files.EndOfText, 15496, 995 }, withBos.Encode("Hello world").Ids);
        Assert.True(withBos.Encode("Hello world").Tokens[0].IsSpecial);
    }

    [Fact]
    public void LongInputIsCutWithAWarningNamingWhere()
    {
        var small = BpeTextEncoder.FromVocabAndMerges(Gpt2Files.VocabJson, Gpt2Files.MergesTxt, 4);
        var e = small.Encode("one two three four five six");
        Assert.Equal(4, e.Length);
        Assert.Equal(Tok.Encode("one two three four").Ids, e.Ids);
        var warning = Assert.Single(e.Warnings);
        Assert.Contains("maximum of 4 tokens", warning);
        Assert.Contains("character 18", warning); // " five" starts after "one two three four"
        Assert.Contains("2 of 6 tokens dropped", warning);
    }

    [Fact]
    public void PairsAreRefused()
    {
        var ex = Assert.Throws<AttnScopeException>(() => Tok.Encode("a", "b"));
        Assert.Contains("one text", ex.Message);
        Assert.False(Tok.AcceptsPairs);
    }

    [Fact]
    public void AContinuationHoldsBackBytesUntilTheCharacterIsComplete()
    {
        var ids = Tok.Encode(" party 🎉!").Ids;
        var decoder = Tok.StartContinuation();
        var tokens = ids.Select(decoder.Append).ToList();
        Assert.Equal(" party 🎉!", decoder.Finish());
        var emojiTokens = tokens.Where(t => t.Text.Contains("🎉") || t.Start == t.End).ToList();
        Assert.Contains(emojiTokens, t => t.Text == "" && t.Start == t.End); // a token that completes no character
        Assert.Contains(emojiTokens, t => t.Text.Contains("🎉"));
        foreach (var t in tokens) Assert.Equal(decoder.Text[t.Start..t.End], t.Text);
        var end = decoder.Append(Gpt2Files.EndOfText);
        Assert.True(end.IsSpecial);
        Assert.Equal((-1, -1), (end.Start, end.End));
    }

    /// <summary>The same vocabulary written as a tokenizer.json (GPT-2's layout) gives the same ids.</summary>
    [Theory]
    [MemberData(nameof(Texts))]
    public void TokenizerJsonGivesTheSameIdsAsVocabAndMerges(string text)
    {
        var viaJson = Gpt2Json.Value;
        Assert.Equal(Tok.Encode(text).Ids, viaJson.Encode(text).Ids);
        OffsetChecks.CoverTheText(viaJson.Encode(text), text);
    }

    private static readonly Lazy<BpeTextEncoder> Gpt2Json = new(() =>
    {
        var path = Path.Combine(Gpt2Files.Dir, "tokenizer.json");
        File.WriteAllText(path, Gpt2TokenizerJson(normalizer: null, preTokenizer: new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true }));
        return BpeTextEncoder.FromTokenizerJson(path, 1024);
    });

    /// <summary>GPT-2's vocabulary in a tokenizer.json with the given normalizer and pre-tokenizer.</summary>
    internal static string Gpt2TokenizerJson(object? normalizer, object preTokenizer)
    {
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Gpt2Files.VocabJson))!;
        var merges = File.ReadAllLines(Gpt2Files.MergesTxt).Skip(1).Where(l => l.Length > 0).ToArray();
        return JsonSerializer.Serialize(new
        {
            version = "1.0",
            added_tokens = new[] { new { id = Gpt2Files.EndOfText, content = "<|endoftext|>", single_word = false, lstrip = false, rstrip = false, normalized = true, special = true } },
            normalizer,
            pre_tokenizer = preTokenizer,
            post_processor = new { type = "ByteLevel", add_prefix_space = true, trim_offsets = false, use_regex = true },
            decoder = new { type = "ByteLevel" },
            model = new { type = "BPE", dropout = (object?)null, unk_token = (string?)null, continuing_subword_prefix = "", end_of_word_suffix = "", fuse_unk = false, byte_fallback = false, vocab, merges },
        });
    }

    /// <summary>
    /// A Qwen2 style setup (NFC normaliser, Split with a regex, then ByteLevel without its own regex) keeps exact
    /// offsets when NFC changes the text: a decomposed "é" becomes one character whose span is both original ones.
    /// </summary>
    [Fact]
    public void NfcAndASplitPatternKeepOffsetsOnTheOriginalText()
    {
        using var dir = new TempDir();
        var path = dir.File("tokenizer.json");
        File.WriteAllText(path, Gpt2TokenizerJson(
            normalizer: new { type = "NFC" },
            preTokenizer: new
            {
                type = "Sequence",
                pretokenizers = new object[]
                {
                    new { type = "Split", pattern = new { Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+" }, behavior = "Isolated", invert = false },
                    new { type = "ByteLevel", add_prefix_space = false, trim_offsets = false, use_regex = false },
                },
            }));
        var tok = BpeTextEncoder.FromTokenizerJson(path, 1024);
        var decomposed = "cafe\u0301 123";
        var e = tok.Encode(decomposed);
        OffsetChecks.CoverTheText(e, decomposed);
        // NFC made the same "café" as the composed text; its tokens span the five original chars.
        Assert.Equal(Tok.Encode("café").Ids, e.Tokens.Where(t => t.End <= 5).Select(t => t.Id));
        Assert.Equal(5, e.Tokens.Where(t => t.End <= 5).Max(t => t.End));
        Assert.Equal(3, e.Tokens.Count(t => t.Text.Length == 1 && char.IsDigit(t.Text[0]))); // \p{N} splits digits one by one
        Assert.Equal("café 123", tok.Decode(e.Ids));
    }
}
