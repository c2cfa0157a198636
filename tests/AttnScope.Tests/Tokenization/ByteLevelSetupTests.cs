using System.Text.Json;
using AttnScope.Sources.Tokenization;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Tokenization;

/// <summary>Byte-level tokenizer.json options on a handwritten vocabulary: ignore_merges and ByteLevel's prefix space.</summary>
public class ByteLevelSetupTests
{
    // Ids by hand. Merge order: "b c" before "a b", so "abc" merges to a + bc unless the whole word is taken.
    private static readonly Dictionary<string, int> Vocab = new()
    {
        ["a"] = 0, ["b"] = 1, ["c"] = 2, ["bc"] = 3, ["abc"] = 4, ["ab"] = 5, ["Ġ"] = 6, ["Ġa"] = 7,
    };

    private static BpeTextEncoder Load(TempDir dir, bool ignoreMerges, bool addPrefixSpace)
    {
        var path = dir.File("tokenizer.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            pre_tokenizer = new { type = "ByteLevel", add_prefix_space = addPrefixSpace, use_regex = true },
            model = new { type = "BPE", ignore_merges = ignoreMerges, vocab = Vocab, merges = new[] { "b c", "a b", "ab c", "Ġ a" } },
        }));
        return BpeTextEncoder.FromTokenizerJson(path, 16);
    }

    [Theory]
    [InlineData(false, new[] { 0, 3 })]
    [InlineData(true, new[] { 4 })]
    public void IgnoreMergesTakesAWholeWordFromTheVocabulary(bool ignoreMerges, int[] expected)
    {
        using var dir = new TempDir();
        var e = Load(dir, ignoreMerges, addPrefixSpace: false).Encode("abc");
        Assert.Equal(expected, e.Ids);
        Assert.Equal(3, e.Tokens[^1].End);
    }

    [Fact]
    public void AnInsertedPrefixSpaceIsPartOfTheTokenButNotOfItsSpan()
    {
        using var dir = new TempDir();
        var tok = Load(dir, ignoreMerges: false, addPrefixSpace: true);
        var e = tok.Encode("a");
        Assert.Equal(new[] { 7 }, e.Ids);
        Assert.Equal(("a", 0, 1), (e.Tokens[0].Text, e.Tokens[0].Start, e.Tokens[0].End));
        Assert.False(tok.AddsBos);
    }
}
