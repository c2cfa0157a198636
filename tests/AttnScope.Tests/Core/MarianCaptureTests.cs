using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using Xunit.Abstractions;

namespace AttnScope.Tests.Core;

/// <summary>
/// A pretrained Marian model (tiny-marian's random weights with tiny-marian-spm's tokenizer) translates with beam search,
/// captures encoder, decoder and cross attention (against PyTorch: Golden/make_marian_capture_golden.py), opens in the
/// static views and the offline page, translates files, and loads from hf: through a loopback Hub.
/// </summary>
public class MarianCaptureTests(ITestOutputHelper output)
{
    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", name);

    private void Near(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> got, float tol)
    {
        Assert.Equal(expected.Length, got.Length);
        float worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = MathF.Max(worst, MathF.Abs(expected[i] - got[i]));
        output.WriteLine($"{what}: max |Δ| {worst:E2}");
        Assert.True(worst <= tol, $"{what}: max |Δ| {worst} > {tol}");
    }

    [Fact]
    public void CaptureOfAGreedyTranslationMatchesThePyTorchReference()
    {
        var dir = MarianTranslatorTests.MakeFolder(MarianTranslatorTests.Fit40);
        try
        {
            var tr = Seq2SeqTranslator.Load(dir);
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Golden("tiny-marian"), "capture_golden.json")));
            int[] Ids(string key) => doc.RootElement.GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var source = Ids("source_ids");
            var t = tr.Translate("golden ids", source, null, beam: 1, lengthPenalty: 1.0, maxNew: 8);
            Assert.Equal(Ids("produced_ids"), t.TargetIds);
            Assert.False(t.Finished);
            Assert.Single(t.Warnings);
            var cap = tr.Capture(t, "tiny-marian");
            Assert.Equal(source, cap.Tokens.Select(x => x.Id));
            Assert.Equal(Ids("decoder_inputs"), cap.TargetTokens.Select(x => x.Id));
            Assert.True(cap.TargetTokens[0].IsSpecial);
            var g = SafeTensorsFile.Open(Path.Combine(Golden("tiny-marian"), "capture_golden.safetensors"));
            foreach (var (stack, key) in new[] { (AttentionStack.Encoder, "encoder_attention"), (AttentionStack.Decoder, "decoder_attention"), (AttentionStack.Cross, "cross_attention") })
            {
                var want = g.ReadFloat(key);
                var got = cap.Stack(stack).Attention;
                Assert.Equal(want.Shape, got.Shape);
                Near(stack, want.Data, got.Data, 1e-5f);
            }
            // the capture survives a save and reload with its source and target tokens
            var path = Path.Combine(dir, "c.safetensors");
            cap.Save(path);
            var back = AttentionCapture.Load(path);
            Assert.Equal(cap.TargetTokens.Select(x => x.Text), back.TargetTokens.Select(x => x.Text));
            Assert.Equal(cap.Stack(AttentionStack.Cross).Attention.Data, back.Stack(AttentionStack.Cross).Attention.Data);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>All hypotheses of at most <paramref name="maxNew"/> tokens (ending in EOS, or unfinished at the limit),
    /// scored from the decoder's own log-softmax, pad banned; the best by log p / length^α.</summary>
    private static (int[] Ids, double Score) Exhaustive(EncoderDecoderModel m, int[] source, int maxNew, double alpha)
    {
        var memory = m.Encode(source).Hidden;
        int pad = m.DecoderStartId, eos = m.EosId!.Value;
        (int[] Ids, double Score) best = ([], double.NegativeInfinity);
        void Visit(List<int> prefix, double logp)
        {
            var row = m.Decode([pad, .. prefix], memory, LogitRows.Last).Logits!.Data;
            double max = row.Max(), sum = row.Sum(x => Math.Exp(x - max));
            for (int t = 0; t < row.Length; t++)
            {
                if (t == pad) continue;
                double lp = logp + row[t] - max - Math.Log(sum);
                if (t == eos || prefix.Count + 1 == maxNew)
                {
                    int len = prefix.Count + 1;
                    double score = lp / Math.Pow(len, alpha);
                    if (score > best.Score) best = (t == eos ? [.. prefix] : [.. prefix, t], score);
                }
                else { prefix.Add(t); Visit(prefix, lp); prefix.RemoveAt(prefix.Count - 1); }
            }
        }
        Visit([], 0);
        return best;
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.6)]
    [InlineData(1.0)]
    [InlineData(3.0)]
    public void BeamSearchWideEnoughEqualsExhaustiveSearchUnderTheSameScore(double alpha)
    {
        var model = MarianFamily.Load(Path.Combine(Golden("tiny-marian"), "config.json"), AttnScope.Sources.Models.SafetensorsWeights.Load(Path.Combine(Golden("tiny-marian"), "model.safetensors")));
        int[] source = [12, 5, 27, 0];
        // beam 40 ≥ the vocabulary: nothing is pruned at the first step, and every second-step candidate has length 2.
        var beam = model.Beam(source, beam: 40, lengthPenalty: alpha, maxNew: 2, banned: [model.DecoderStartId]).Best;
        var (ids, score) = Exhaustive(model, source, 2, alpha);
        output.WriteLine($"α {alpha}: beam [{string.Join(",", beam.Ids)}] {beam.Score:F6} finished {beam.Finished}; exhaustive [{string.Join(",", ids)}] {score:F6}");
        Assert.Equal(ids, beam.Ids);
        Assert.Equal(score, beam.Score, 9);
    }

    [Fact]
    public void BeamOneIsGreedyAndBadArgumentsAreClearErrors()
    {
        var model = MarianFamily.Load(Path.Combine(Golden("tiny-marian"), "config.json"), AttnScope.Sources.Models.SafetensorsWeights.Load(Path.Combine(Golden("tiny-marian"), "model.safetensors")));
        int[] source = [12, 5, 27, 33, 8, 19, 2, 30, 0];
        Assert.Equal(model.Greedy(source, 6, stopAtEos: true), model.Beam(source, 1, 1.0, 6).Best.Ids);
        Assert.Contains("at least 1", Assert.Throws<AttnScopeException>(() => model.Beam(source, 0, 1.0, 6)).Message);
        Assert.Contains("finite", Assert.Throws<AttnScopeException>(() => model.Beam(source, 2, double.NaN, 6)).Message);
    }

    [Fact]
    public void CliCapturesASeq2SeqTranslationAndEveryViewOpensIt()
    {
        var dir = MarianTranslatorTests.MakeFolder(MarianTranslatorTests.Fit40);
        using var tmp = new TempDir();
        try
        {
            const string text = ">>de<< the river at night";
            var cap = tmp.File("m.safetensors");
            var (code, stdout, err) = CliTests.Run("translate", dir, "--text", text, "--beam", "3", "--length-penalty", "0.8", "--capture", cap);
            Assert.True(code == 0, err);
            var tr = Seq2SeqTranslator.Load(dir);
            var t = tr.Translate(text, 3, 0.8);
            Assert.Equal(t.Text, stdout.TrimEnd('\r', '\n'));
            var c = AttentionCapture.Load(cap);
            var expected = tr.Capture(t, dir);
            foreach (var s in new[] { AttentionStack.Encoder, AttentionStack.Decoder, AttentionStack.Cross })
                Assert.Equal(expected.Stack(s).Attention.Data, c.Stack(s).Attention.Data);
            Assert.Equal(tr.Tokenizer.EncodeSource(text).Pieces, c.Tokens.Select(x => x.Text));
            Assert.Equal(1 + t.TargetIds.Length, c.TargetTokens.Count);

            // capture --model MARIAN gives the same file contents (beam 4, length penalty 1)
            var cap2 = tmp.File("m2.safetensors");
            (code, stdout, err) = CliTests.Run("capture", "--model", dir, "--text", text, "-o", cap2);
            Assert.True(code == 0, err);
            Assert.Contains("cross.attention [2, 4,", stdout);
            Assert.Equal(tr.Capture(tr.Translate(text, 4, 1.0), dir).Stack(AttentionStack.Cross).Attention.Data,
                AttentionCapture.Load(cap2).Stack(AttentionStack.Cross).Attention.Data);

            // every static view of every stack renders
            CliTests.AssertEveryStaticViewRenders(cap, tmp);
            var gif = tmp.File("a.gif");
            (code, _, err) = CliTests.Run("translate", dir, "--text", text, "--beam", "2", "--animate", gif);
            Assert.True(code == 0, err);
            Assert.Equal("GIF89a", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(gif), 0, 6));
            // the interactive viewer's offline page holds the source and target tokens as data
            var html = tmp.File("m.html");
            (code, _, err) = CliTests.Run("html", cap, "-o", html);
            Assert.True(code == 0, err);
            var page = File.ReadAllText(html);
            Assert.Contains("class=\"attnscope-data\"", page);
            // what the viewer reads: source tokens, target tokens, and the cross stack's axes (target queries, source keys)
            var meta = new AttnScope.Web.Data.ViewerData(c, "m").Meta("", includeNorm: false);
            Assert.Equal(c.Tokens.Select(x => TokenText.Printable(x.Text)), meta["tokens"]!.AsArray().Select(x => (string)x!["label"]!));
            Assert.Equal(c.TargetTokens.Select(x => TokenText.Printable(x.Text)), meta["targetTokens"]!.AsArray().Select(x => (string)x!["label"]!));
            var cross = meta["stacks"]!.AsArray().Single(x => (string)x!["name"]! == "cross")!;
            Assert.Equal("targetTokens", (string)cross["queryAxis"]!);
            Assert.Equal("tokens", (string)cross["keyAxis"]!);
            Assert.Equal(c.TargetTokens.Count, (int)cross["queries"]!);
            Assert.Equal(c.Tokens.Count, (int)cross["keys"]!);

            (code, _, err) = CliTests.Run("translate", dir, "--text", text, "--length-penalty", "nan");
            Assert.NotEqual(0, code);
            (code, _, err) = CliTests.Run("translate", dir, "--text", text, "--input", tmp.File("none.txt"));
            CliTests.AssertOneLineError(code, err, "not both");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void TranslateInputFileWritesOneTranslationPerLine()
    {
        var dir = MarianTranslatorTests.MakeFolder(MarianTranslatorTests.Fit40);
        using var tmp = new TempDir();
        try
        {
            string[] lines = [">>de<< the river at night", "", "the night", ">>de<< river"];
            var input = tmp.File("in.txt");
            File.WriteAllText(input, string.Join("\n", lines) + "\n");
            var outPath = tmp.File("out.txt");
            var (code, _, err) = CliTests.Run("translate", dir, "--input", input, "--output", outPath, "--beam", "2", "--threads", "2");
            Assert.True(code == 0, err);
            Assert.Contains("translated 4 lines", err);
            var tr = Seq2SeqTranslator.Load(dir);
            var want = lines.Select(l => l.Length == 0 ? "" : tr.Translate(l, 2, 1.0).Text).ToArray();
            Assert.Contains(want, w => w.Length > 0);
            Assert.Equal(want, File.ReadAllText(outPath).Split('\n')[..^1]);
            (code, _, err) = CliTests.Run("translate", dir, "--input", input, "--capture", tmp.File("x.safetensors"));
            CliTests.AssertOneLineError(code, err, "one sentence");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AHubMarianModelDownloadsAndTranslatesAsTheLocalFolder()
    {
        var dir = MarianTranslatorTests.MakeFolder(MarianTranslatorTests.Fit40);
        using var hub = new LoopbackHub();
        using var cache = new TempDir();
        try
        {
            var files = new[] { "config.json", "model.safetensors", "source.spm", "target.spm", "vocab.json" }.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(dir, f)));
            hub.AddRepo("org/tiny-marian", files);
            var folder = Seq2SeqTranslator.ResolveFolder("hf:org/tiny-marian", new AttnScope.Sources.Models.HubClient(hub.Endpoint, cache.Path, false, ""));
            Assert.StartsWith(cache.Path, Path.GetFullPath(folder));
            var remote = Seq2SeqTranslator.Load(folder).Translate(">>de<< the river at night", 2, 1.0);
            var local = Seq2SeqTranslator.Load(dir).Translate(">>de<< the river at night", 2, 1.0);
            Assert.Equal(local.TargetIds, remote.TargetIds);
            Assert.NotEmpty(remote.TargetIds);
            // a repository without the tokenizer's files is a clear error
            hub.AddRepo("org/no-spm", files.Where(kv => !kv.Key.EndsWith(".spm")).ToDictionary());
            var e = Assert.ThrowsAny<Exception>(() => Seq2SeqTranslator.ResolveFolder("hf:org/no-spm", new AttnScope.Sources.Models.HubClient(hub.Endpoint, cache.Path, false, "")));
            Assert.Contains("source.spm", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
