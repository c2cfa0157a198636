using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Sources.Transformer.Families;

namespace AttnScope.Tests.Core;

/// <summary>
/// A Marian folder (tiny-marian's random weights + tiny-marian-spm's tokenizer with a 40-id vocab.json) loads as a
/// translator. The translation is checked against the model's own greedy decoding of sentencepiece-golden ids
/// (MarianTokenizerTests checks those ids against sentencepiece itself; MarianGoldenTests checks Greedy against PyTorch).
/// </summary>
public class MarianTranslatorTests
{
    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", name);

    internal static string MakeFolder(Func<Dictionary<string, int>, Dictionary<string, int>> vocabEdit)
    {
        var dir = Directory.CreateTempSubdirectory("marian-folder").FullName;
        foreach (var f in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(Golden("tiny-marian"), f), Path.Combine(dir, f));
        foreach (var f in new[] { "source.spm", "target.spm" }) File.Copy(Path.Combine(Golden("tiny-marian-spm"), f), Path.Combine(dir, f));
        var full = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(Golden("tiny-marian-spm"), "vocab.json")))!;
        File.WriteAllText(Path.Combine(dir, "vocab.json"), JsonSerializer.Serialize(vocabEdit(full)));
        return dir;
    }

    // The model has 40 ids, pad = decoder start = 39, eos = 0: keep the first 39 pieces and put <pad> at 39.
    internal static Dictionary<string, int> Fit40(Dictionary<string, int> full)
    {
        var v = full.Where(kv => kv.Value < 39 && kv.Key != "<pad>").ToDictionary(kv => kv.Key, kv => kv.Value);
        v["<pad>"] = 39;
        return v;
    }

    [Fact]
    public void Translates_the_tokenizer_ids_with_the_models_greedy_decoding()
    {
        var dir = MakeFolder(Fit40);
        try
        {
            var t = Seq2SeqTranslator.Load(dir);
            var (ids, text) = t.TranslateGreedy(">>de<< the river at night", maxNew: 12);
            // sentencepiece's ids for this sentence (language code, a piece vocab.json lacks → <unk>) (tokenizer_golden.json, all below 39) fed to the model directly.
            var g = JsonDocument.Parse(File.ReadAllText(Path.Combine(Golden("tiny-marian-spm"), "tokenizer_golden.json"))).RootElement;
            var src = g.GetProperty("source")[3].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.All(src, id => Assert.InRange(id, 0, 38));
            Assert.Equal(t.Model.Greedy(src, 12), ids);
            Assert.NotEmpty(ids);
            Assert.Equal(t.Tokenizer.Decode(ids), text);
            Assert.DoesNotContain("\u2581", text);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_vocab_json_that_does_not_fit_the_model_is_a_clear_error()
    {
        var dir = MakeFolder(full => full); // 94 ids for a 40-id model
        try { Assert.Contains("vocab_size", Assert.Throws<AttnScopeException>(() => Seq2SeqTranslator.Load(dir)).Message); }
        finally { Directory.Delete(dir, true); }
        dir = MakeFolder(full => { var v = Fit40(full); v.Remove("<pad>"); v["<pad>"] = 38; v.Remove(v.First(kv => kv.Value == 38 && kv.Key != "<pad>").Key); return v; });
        try { Assert.Contains("decoder start", Assert.Throws<AttnScopeException>(() => Seq2SeqTranslator.Load(dir)).Message); }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Translate_command_reads_a_marian_folder()
    {
        var dir = MakeFolder(Fit40);
        try
        {
            var expected = Seq2SeqTranslator.Load(dir).Translate(">>de<< the river at night", beam: 1).Text;
            var (code, stdout, err) = AttnScope.Tests.Cli.CliTests.Run("translate", dir, "--text", ">>de<< the river at night", "--beam", "1");
            Assert.True(code == 0, err);
            Assert.NotEmpty(expected);
            Assert.Equal(expected, stdout.TrimEnd('\r', '\n'));
            (code, _, err) = AttnScope.Tests.Cli.CliTests.Run("translate", dir, "--text", "x", "--output", Path.Combine(dir, "o.txt"));
            AttnScope.Tests.Cli.CliTests.AssertOneLineError(code, err, "give --input too");
        }
        finally { Directory.Delete(dir, true); }
    }
}
