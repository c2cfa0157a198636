using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Sources.Tokenization;
using Xunit;

namespace AttnScope.Tests.Vision;

/// <summary>
/// CLIP's BPE tokenizer against tokenizer-golden.json, written by make_clip_goldens.py with its own Python
/// implementation of OpenAI's simple_tokenizer.py / Hugging Face's CLIPTokenizer algorithm (`transformers` is not
/// installed here) over a vocabulary and merges it trains itself (tiny-clip/vocab.json, merges.txt).
/// </summary>
public class ClipTokenizerTests
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "Golden", "tiny-clip");

    [Fact]
    public void MatchesPythonReference()
    {
        var tok = ClipTokenizer.Load(Folder);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "tokenizer-golden.json")));
        int n = 0;
        foreach (var c in doc.RootElement.EnumerateArray())
        {
            var text = c.GetProperty("text").GetString()!;
            var expected = c.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            Assert.True(expected.SequenceEqual(tok.Encode(text).Ids), $"'{text}': expected {string.Join(",", expected)}, got {string.Join(",", tok.Encode(text).Ids)}");
            n++;
        }
        Assert.Equal(10, n);
    }

    [Fact]
    public void WordsEndWithTheEndOfWordSuffixAndReadBack()
    {
        var tok = ClipTokenizer.Load(Folder);
        var (ids, tokens) = tok.Encode("A photo of a CAT");
        Assert.Equal(["<|startoftext|>", "a</w>", "photo</w>", "of</w>", "a</w>", "cat</w>", "<|endoftext|>"], tokens);
        Assert.Equal("photo", tok.Readable(ids[2]));
        Assert.Equal(tok.EosId, ids.Max());
        var cut = tok.Encode("a photo of a cat", maxLength: 4).Ids;
        Assert.Equal([tok.BosId, ids[1], ids[2], tok.EosId], cut);
    }

    [Fact]
    public void BadFilesAreClearErrors()
    {
        var dir = Path.Combine(Path.GetTempPath(), "clip-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            Assert.Throws<AttnScopeException>(() => ClipTokenizer.Load(dir));
            File.WriteAllText(Path.Combine(dir, "vocab.json"), "[1,2]");
            File.WriteAllText(Path.Combine(dir, "merges.txt"), "a b\n");
            Assert.Throws<AttnScopeException>(() => ClipTokenizer.Load(dir));
            File.WriteAllText(Path.Combine(dir, "vocab.json"), "{\"a\": 0}");
            Assert.Contains("<|startoftext|>", Assert.Throws<AttnScopeException>(() => ClipTokenizer.Load(dir)).Message);
            File.WriteAllText(Path.Combine(dir, "merges.txt"), "a b c\n");
            Assert.Contains("line 1", Assert.Throws<AttnScopeException>(() => ClipTokenizer.Load(dir)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
