using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Sources.Tokenization;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Core;

/// <summary>
/// A T5 folder (tiny-t5: random weights checked against PyTorch in <see cref="T5GoldenTests"/>, and a SentencePiece model
/// trained by Golden/make_t5_goldens.py) as a translator: its tokenizer against sentencepiece's own encoder, translation
/// and capture through the same model, the CLI's translate / capture / render / html on it, and hf: through a loopback Hub.
/// </summary>
public class T5TranslatorTests
{
    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", name);

    private static IEnumerable<(string Text, int[] Ids, string[] Pieces)> TokenizerCases(string folder)
    {
        var g = JsonDocument.Parse(File.ReadAllText(Path.Combine(Golden(folder), "tokenizer_golden.json"))).RootElement;
        foreach (var c in g.GetProperty("cases").EnumerateArray())
            yield return (c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                c.GetProperty("pieces").EnumerateArray().Select(e => e.GetString()!).ToArray());
    }

    [Theory]
    [InlineData("tiny-t5")]       // sentinel count inferred: vocab_size 64 − 60 pieces
    [InlineData("tiny-t5-gated")] // sentinel count from tokenizer_config.json (vocab_size 72 is padded)
    public void TheTokenizerGivesSentencepiecesIdsWithSentinelsAndEndOfSentence(string folder)
    {
        var tr = Seq2SeqTranslator.Load(Golden(folder));
        var tok = Assert.IsType<T5Tokenizer>(tr.Tokenizer);
        Assert.Equal(4, tok.ExtraIds);
        Assert.Equal((0, 1), (tok.PadId, tok.EosId));
        int n = 0;
        foreach (var (text, ids, pieces) in TokenizerCases(folder))
        {
            var e = tok.EncodeSource(text);
            Assert.Equal(ids, e.Ids);
            Assert.Equal(pieces, e.Pieces);
            n++;
        }
        Assert.Equal(5, n);
        Assert.Equal("<extra_id_0>", tok.TokenText(63));
        Assert.True(tok.IsSpecial(63) && tok.IsSpecial(1) && !tok.IsSpecial(10));
        // decoding drops pad and </s>, keeps sentinels, and reads ▁ as a space
        var sample = tok.EncodeSource("the dog sleeps <extra_id_1> house").Ids;
        Assert.Equal("the dog sleeps <extra_id_1> house", tok.Decode([0, .. sample]));
    }

    [Fact]
    public void TranslationAndCaptureAreTheModelsOwnDecoding()
    {
        var tr = Seq2SeqTranslator.Load(Golden("tiny-t5"));
        const string text = "translate English to German: the cat sat on the mat";
        var (_, ids, _) = TokenizerCases("tiny-t5").First();
        var t = tr.Translate(text, beam: 1, lengthPenalty: 1.0, maxNew: 10);
        Assert.Equal(ids, t.SourceIds);
        var greedy = tr.Model.Greedy(ids, 10);
        Assert.Equal(greedy, t.TargetIds);
        Assert.NotEmpty(t.TargetIds);
        var cap = tr.Capture(t, "tiny-t5");
        Assert.Equal("t5", cap.Metadata.Architecture);
        var enc = tr.Model.Encode(ids);
        var dec = tr.Model.Decode([0, .. t.TargetIds], enc.Hidden);
        Assert.Equal(enc.Attention!.Data, cap.Stack(AttentionStack.Encoder).Attention.Data);
        Assert.Equal(dec.Attention!.Data, cap.Stack(AttentionStack.Decoder).Attention.Data);
        Assert.Equal(dec.CrossAttention!.Data, cap.Stack(AttentionStack.Cross).Attention.Data);
        Assert.Equal(["<pad>", .. t.TargetIds.Select(tr.Tokenizer.TokenText)], cap.TargetTokens.Select(x => x.Text));
        // beam search ranks by log p / length^α over the same decoder: a wider beam never scores below greedy
        var wide = tr.Model.Beam(ids, 4, 1.0, 10);
        var one = tr.Model.Beam(ids, 1, 1.0, 10);
        Assert.True(wide.Best.Score >= one.Best.Score - 1e-9);
    }

    [Fact]
    public void CliTranslatesCapturesAndEveryViewOpensATranslationOfT5()
    {
        using var tmp = new TempDir();
        string dir = Golden("tiny-t5-gated");
        const string text = "translate English to German: the dog sleeps in the house";
        var cap = tmp.File("t5.safetensors");
        var (code, stdout, err) = CliTests.Run("translate", dir, "--text", text, "--beam", "3", "--capture", cap);
        Assert.True(code == 0, err);
        var tr = Seq2SeqTranslator.Load(dir);
        var t = tr.Translate(text, 3, 1.0);
        Assert.Equal(t.Text, stdout.TrimEnd('\r', '\n'));
        var c = AttentionCapture.Load(cap);
        Assert.Equal("t5", c.Metadata.Architecture);
        Assert.Equal(tr.Tokenizer.EncodeSource(text).Pieces, c.Tokens.Select(x => x.Text));
        Assert.Equal([3, 4, 1 + t.TargetIds.Length, c.Tokens.Count], c.Stack(AttentionStack.Cross).Attention.Shape);
        CliTests.AssertEveryStaticViewRenders(cap, tmp);
        var html = tmp.File("t5.html");
        (code, _, err) = CliTests.Run("html", cap, "-o", html);
        Assert.True(code == 0, err);
        Assert.Contains("class=\"attnscope-data\"", File.ReadAllText(html));
        // capture --model T5 writes the same cross attention (beam 4, length penalty 1)
        var cap2 = tmp.File("t5b.safetensors");
        (code, _, err) = CliTests.Run("capture", "--model", dir, "--text", text, "-o", cap2);
        Assert.True(code == 0, err);
        Assert.Equal(tr.Capture(tr.Translate(text, 4, 1.0), dir).Stack(AttentionStack.Cross).Attention.Data,
            AttentionCapture.Load(cap2).Stack(AttentionStack.Cross).Attention.Data);
    }

    [Fact]
    public void AHubT5ModelDownloadsItsOwnFilesAndTranslatesAsTheLocalFolder()
    {
        using var hub = new LoopbackHub();
        using var cache = new TempDir();
        var files = new[] { "config.json", "model.safetensors", "spiece.model", "tokenizer_config.json" }
            .ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(Golden("tiny-t5-gated"), f)));
        hub.AddRepo("org/tiny-t5", files);
        var client = new AttnScope.Sources.Models.HubClient(hub.Endpoint, cache.Path, false, "");
        var folder = Seq2SeqTranslator.ResolveFolder("hf:org/tiny-t5", client);
        Assert.True(File.Exists(Path.Combine(folder, "spiece.model")));
        Assert.False(File.Exists(Path.Combine(folder, "vocab.json")));
        const string text = "translate English to German: the river";
        Assert.Equal(Seq2SeqTranslator.Load(Golden("tiny-t5-gated")).Translate(text, 2, 1.0).TargetIds, Seq2SeqTranslator.Load(folder).Translate(text, 2, 1.0).TargetIds);
        hub.AddRepo("org/no-spiece", files.Where(kv => kv.Key != "spiece.model").ToDictionary());
        Assert.Contains("spiece.model", Assert.ThrowsAny<Exception>(() => Seq2SeqTranslator.ResolveFolder("hf:org/no-spiece", client)).Message);
    }

    [Fact]
    public void MissingOrMismatchedTokenizerFilesAreClearErrors()
    {
        using var tmp = new TempDir();
        foreach (var f in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(Golden("tiny-t5"), f), tmp.File(f));
        var (code, _, err) = CliTests.Run("translate", tmp.Path, "--text", "the cat");
        CliTests.AssertOneLineError(code, err, "spiece.model");
        // the gated model's padded vocabulary with tiny-t5's 64: a tokenizer_config.json asking for 100 sentinels does not fit
        File.Copy(Path.Combine(Golden("tiny-t5"), "spiece.model"), tmp.File("spiece.model"));
        File.WriteAllText(tmp.File("tokenizer_config.json"), "{\"extra_ids\": 100}");
        (code, _, err) = CliTests.Run("translate", tmp.Path, "--text", "the cat");
        CliTests.AssertOneLineError(code, err, "vocab_size is 64");
        File.WriteAllText(tmp.File("tokenizer_config.json"), "{not json");
        (code, _, err) = CliTests.Run("translate", tmp.Path, "--text", "the cat");
        CliTests.AssertOneLineError(code, err, "not JSON");
        // a truncated or foreign spiece.model
        File.Delete(tmp.File("tokenizer_config.json"));
        File.WriteAllBytes(tmp.File("spiece.model"), File.ReadAllBytes(Path.Combine(Golden("tiny-t5"), "spiece.model"))[..200]);
        (code, _, err) = CliTests.Run("translate", tmp.Path, "--text", "the cat");
        CliTests.AssertOneLineError(code, err, "malformed SentencePiece model");
        File.WriteAllBytes(tmp.File("spiece.model"), [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2, 3]);
        (code, _, err) = CliTests.Run("translate", tmp.Path, "--text", "the cat");
        CliTests.AssertOneLineError(code, err, "SentencePiece model");
        File.Copy(Path.Combine(Golden("tiny-t5"), "spiece.model"), tmp.File("spiece.model"), overwrite: true);
    }
}
