using System.Text.Json;

namespace AttnScope.Tests.Tokenization;

/// <summary>
/// A handwritten Llama style tokenizer.json: &lt;unk&gt; &lt;s&gt; &lt;/s&gt;, the 256 byte tokens &lt;0x00&gt;..&lt;0xFF&gt; (ids 3..258),
/// the letters of "hello world", "▁" and merges that build "▁hello" and "▁world". Ids are given here by hand, so
/// expected ids in tests come from this table, not from the code under test.
/// </summary>
internal static class TinySentencePieceJson
{
    public const int Unk = 0, Bos = 1, Eos = 2;
    public static int Byte(int b) => 3 + b;

    public static readonly string[] Pieces =
        ["▁", "h", "e", "l", "o", "w", "r", "d", "he", "ll", "hell", "hello", "▁hello", "or", "▁w", "▁wor", "ld", "▁world"];

    /// <summary>The id of a piece of <see cref="Pieces"/>.</summary>
    public static int Id(string piece) => 259 + Array.IndexOf(Pieces, piece);

    public static readonly string[][] Merges =
    [
        ["h", "e"], ["l", "l"], ["he", "ll"], ["hell", "o"], ["▁", "hello"], ["o", "r"], ["▁", "w"], ["▁w", "or"], ["l", "d"], ["▁wor", "ld"],
    ];

    /// <param name="byteFallback">model.byte_fallback.</param>
    /// <param name="metaspace">Newer layout: a Metaspace pre-tokenizer (prepend_scheme first) instead of the Prepend/Replace normalizer.</param>
    public static string Write(string path, bool byteFallback = true, bool metaspace = false)
    {
        var vocab = new Dictionary<string, int> { ["<unk>"] = Unk, ["<s>"] = Bos, ["</s>"] = Eos };
        for (int b = 0; b < 256; b++) vocab[$"<0x{b:X2}>"] = Byte(b);
        foreach (var p in Pieces) vocab[p] = Id(p);
        object? normalizer = metaspace ? null : new
        {
            type = "Sequence",
            normalizers = new object[] { new { type = "Prepend", prepend = "▁" }, new { type = "Replace", pattern = new { String = " " }, content = "▁" } },
        };
        object? preTokenizer = metaspace ? new { type = "Metaspace", replacement = "▁", prepend_scheme = "first", split = false } : null;
        var json = JsonSerializer.Serialize(new
        {
            version = "1.0",
            added_tokens = new[]
            {
                new { id = Unk, content = "<unk>", special = true }, new { id = Bos, content = "<s>", special = true }, new { id = Eos, content = "</s>", special = true },
            },
            normalizer,
            pre_tokenizer = preTokenizer,
            post_processor = new
            {
                type = "TemplateProcessing",
                single = new object[] { new { SpecialToken = new { id = "<s>", type_id = 0 } }, new { Sequence = new { id = "A", type_id = 0 } } },
            },
            model = new { type = "BPE", unk_token = "<unk>", fuse_unk = true, byte_fallback = byteFallback, vocab, merges = Merges },
        });
        File.WriteAllText(path, json);
        return path;
    }
}
