using System.Text;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Hardening;

/// <summary>
/// Broken model folders (config.json, vocab.txt, tokenizer.json, weights): one line and exit 1, no capture written,
/// and no allocation sized by a number the file declares.
/// </summary>
public class ModelFileHardeningTests
{
    private static (int Code, string Out, string Err) Capture(string folder, string output) =>
        CliTests.Run("capture", "--model", folder, "--text", "the cat sat on the mat", "-o", output);

    private static string Folder(TempDir dir, Action<string>? change = null)
    {
        var folder = TinyBert.WriteFolder(dir.File("model"));
        change?.Invoke(folder);
        return folder;
    }

    private static void EditConfig(string folder, Action<JsonObject> edit)
    {
        var path = Path.Combine(folder, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    private static void AssertRefused(TempDir dir, string folder, string expected)
    {
        var output = dir.File("cap.safetensors");
        var (code, _, err) = Capture(folder, output);
        CliTests.AssertOneLineError(code, err, expected);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void TheTinyModelCapturesAsIs()
    {
        using var dir = new TempDir();
        var (code, _, err) = Capture(Folder(dir), dir.File("cap.safetensors"));
        Assert.True(code == 0, err);
    }

    [Theory]
    [InlineData("hidden_size", "\"16\"", "hidden_size must be a whole number")]
    [InlineData("num_hidden_layers", "2.5", "num_hidden_layers must be a whole number")]
    [InlineData("num_attention_heads", "[4]", "num_attention_heads must be a whole number")]
    [InlineData("layer_norm_eps", "\"small\"", "layer_norm_eps must be a number")]
    [InlineData("hidden_act", "3", "hidden_act must be a string")]
    [InlineData("model_type", "{}", "model_type must be a string")]
    [InlineData("do_lower_case", "\"yes\"", "do_lower_case must be true or false")]
    [InlineData("vocab_size", "99999999999", "vocab_size 99999999999 is out of range")]
    [InlineData("hidden_size", "null", "is incomplete")]
    [InlineData("vocab_size", "null", "is incomplete")]
    [InlineData("max_position_embeddings", "2000000000", "max_position_embeddings 2000000000 is more than")]
    [InlineData("num_hidden_layers", "100000", "num_hidden_layers 100000 is more than")]
    [InlineData("layer_norm_eps", "-0.5", "layer_norm_eps -0.5 must be a finite number")]
    [InlineData("layer_norm_eps", "1e300", "layer_norm_eps")]
    public void ConfigValuesOfTheWrongTypeNullOrOutOfRangeAreOneLine(string key, string value, string expected)
    {
        using var dir = new TempDir();
        var folder = Folder(dir, f => EditConfig(f, c => c[key] = JsonNode.Parse(value)));
        AssertRefused(dir, folder, expected);
    }

    [Fact]
    public void NullForAnOptionalConfigValueTakesItsDefault()
    {
        using var dir = new TempDir();
        var folder = Folder(dir, f => EditConfig(f, c => { c["hidden_act"] = null; c["type_vocab_size"] = null; }));
        var (code, _, err) = Capture(folder, dir.File("cap.safetensors"));
        Assert.True(code == 0, err);
    }

    [Fact]
    public void ARepeatedLineInVocabTxtIsOneLine()
    {
        using var dir = new TempDir();
        var folder = Folder(dir, f =>
        {
            var lines = TinyBert.Vocab.ToList();
            lines[^1] = "cat"; // "cat" is also id 6
            File.WriteAllText(Path.Combine(f, "vocab.txt"), string.Join("\n", lines) + "\n");
        });
        AssertRefused(dir, folder, "lists the token \"cat\" twice (ids 6 and 24)");
    }

    [Fact]
    public void ALineBreakInsideAVocabLineDoesNotShiftIds()
    {
        using var dir = new TempDir();
        // A lone carriage return inside a line: the tokenizer library would read it as two lines.
        var folder = Folder(dir, f =>
        {
            var lines = TinyBert.Vocab.ToList();
            lines[^1] = "sm\rall";
            File.WriteAllText(Path.Combine(f, "vocab.txt"), string.Join("\n", lines) + "\n");
        });
        var (code, _, err) = Capture(folder, dir.File("cap.safetensors"));
        Assert.True(code == 0, err);
        var cap = AttentionCapture.Load(dir.File("cap.safetensors"));
        Assert.Equal(6, cap.Tokens.Single(t => t.Text == "cat").Id);
        Assert.Equal(9, cap.Tokens.Single(t => t.Text == "mat").Id);
    }

    private static string TokenizerJsonFolder(TempDir dir, string vocabJson)
    {
        return Folder(dir, f =>
        {
            File.Delete(Path.Combine(f, "vocab.txt"));
            File.WriteAllText(Path.Combine(f, "tokenizer.json"), $"{{\"model\":{{\"type\":\"WordPiece\",\"vocab\":{vocabJson}}}}}");
        });
    }

    private static string TinyVocabJson(params (string Name, string Id)[] extra)
    {
        var items = TinyBert.Vocab.Select((t, i) => $"\"{t}\":{i}").Concat(extra.Select(e => $"\"{e.Name}\":{e.Id}"));
        return "{" + string.Join(",", items) + "}";
    }

    [Fact]
    public void TheTokenizerJsonOfTheTinyModelWorks()
    {
        using var dir = new TempDir();
        var (code, _, err) = Capture(TokenizerJsonFolder(dir, TinyVocabJson()), dir.File("cap.safetensors"));
        Assert.True(code == 0, err);
    }

    [Theory]
    [InlineData("-1", "has id -1, outside the model's vocabulary")]
    [InlineData("25", "has id 25, outside the model's vocabulary")]
    [InlineData("2147483647", "has id 2147483647, outside")]
    [InlineData("2147483648", "has id 2147483648, outside")]
    [InlineData("-9223372036854775808", "outside")]
    [InlineData("1e400", "is not a whole number")]
    [InlineData("\"3\"", "is not a whole number")]
    [InlineData("5", "id 5 is given to both")]
    public void NegativeHugeOrRepeatedIdsInTokenizerJsonAreOneLine(string id, string expected)
    {
        using var dir = new TempDir();
        AssertRefused(dir, TokenizerJsonFolder(dir, TinyVocabJson(("extra", id))), expected);
    }

    [Fact]
    public void ATinyTokenizerJsonDeclaringAHugeIdIsRefusedBeforeAllocating()
    {
        using var dir = new TempDir();
        var folder = Folder(dir, f =>
        {
            File.Delete(Path.Combine(f, "vocab.txt"));
            // 95 bytes: three tokens, one of them at id 3,000,000.
            var json = "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"[CLS]\":0,\"[SEP]\":1,\"[UNK]\":3000000}}}";
            json += new string(' ', 95 - json.Length);
            File.WriteAllText(Path.Combine(f, "tokenizer.json"), json);
        });
        Assert.Equal(95, new FileInfo(Path.Combine(folder, "tokenizer.json")).Length);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var (code, _, err) = Capture(folder, dir.File("cap.safetensors"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        CliTests.AssertOneLineError(code, err, "has id 3000000");
        // Reading the tiny model itself takes a few MB; three million vocabulary slots would take over 100 MB.
        Assert.True(allocated < 48L << 20, $"allocated {allocated} bytes");
    }

    private static void EditWeight(string folder, string name, Action<float[]> edit)
    {
        var weights = TinyBert.Weights(7);
        var (_, tensor) = weights.Single(w => w.Item1 == name);
        edit(tensor.Data);
        File.WriteAllBytes(Path.Combine(folder, "model.safetensors"),
            SafeTensorsFile.Serialize(weights, new Dictionary<string, string> { ["format"] = "pt" }));
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void NaNOrInfiniteWeightsAreRefusedNamingTheTensor(float value)
    {
        using var dir = new TempDir();
        var folder = Folder(dir, f => EditWeight(f, "bert.encoder.layer.1.attention.self.key.weight", d => d[3] = value));
        AssertRefused(dir, folder, "'encoder.layer.1.attention.self.key.weight' holds");
    }

    [Fact]
    public void HugeEmbeddingsGiveOneLineInsteadOfAWrongCapture()
    {
        using var dir = new TempDir();
        // Finite weights whose sums overflow float: the layer norm then yields NaN or infinite numbers.
        var folder = Folder(dir, f => EditWeight(f, "bert.embeddings.word_embeddings.weight", d => Array.Fill(d, 3e38f)));
        AssertRefused(dir, folder, "produced invalid numbers");
    }

    [Fact]
    public void AnAttentionRowThatDoesNotSumToOneIsNamed()
    {
        var attention = new FloatTensor([2, 2, 3, 3]);
        for (int i = 0; i < attention.Data.Length; i++) attention.Data[i] = 1f / 3;
        var ok = new SequenceAttention { LastHidden = new FloatTensor([3, 4]), Attention = attention };
        OutputCheck.Verify(ok, "m");

        attention[1, 0, 2, 1] = 0; // row (layer 1, head 0, query 2) now sums to 2/3
        var e = Assert.Throws<AttnScopeException>(() => OutputCheck.Verify(ok, "m"));
        Assert.Contains("layer 1, head 0, query 2 sums to 0.6667, not 1", e.Message);

        attention[1, 0, 2, 1] = 1f / 3;
        var hidden = new FloatTensor([3, 4]);
        hidden.Data[5] = float.NaN;
        e = Assert.Throws<AttnScopeException>(() => OutputCheck.Verify(new SequenceAttention { LastHidden = hidden, Attention = attention }, "m"));
        Assert.Contains("the last hidden state: NaN at element 5 of [3, 4]", e.Message);
    }
}
