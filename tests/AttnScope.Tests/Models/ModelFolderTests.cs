using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources;
using AttnScope.Sources.Models;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Models;

/// <summary>Loading models from Hugging Face folders and .onnx paths, and what happens when pieces are missing.</summary>
public class ModelFolderTests
{
    [Fact]
    public void AHuggingFaceFolderCapturesWithTheManagedEngine()
    {
        using var dir = new TempDir();
        TinyBert.WriteFolder(dir.Path);
        using var session = ModelSession.Open(dir.Path, EngineKind.Managed);
        var cap = session.Capture("the cat sat on the mat.", "it slept");
        var att = cap.Stack("encoder").Attention;
        Assert.Equal(new[] { TinyBert.Layers, TinyBert.Heads, cap.Tokens.Count, cap.Tokens.Count }, att.Shape);
        Assert.Equal("[CLS] the cat sat on the mat . [SEP] it slept [SEP]", string.Join(" ", cap.Tokens.Select(t => t.Text)));
        for (int row = 0; row < att.Data.Length / cap.Tokens.Count; row++)
            Assert.Equal(1.0, att.Data.AsSpan(row * cap.Tokens.Count, cap.Tokens.Count).ToArray().Sum(), 4);
    }

    /// <summary>
    /// The same weights stored as F16 and BF16 must load as the float32 values they encode. The expected values
    /// come from .NET's own Half conversion and from the bfloat16 definition (the top 16 bits of a float32).
    /// </summary>
    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    public void HalfPrecisionWeightsLoadAsTheirFloatValues(string dtype)
    {
        using var dir = new TempDir();
        var values = new[] { 0f, 1f, -2.5f, 0.1f, 65504f, 1e-3f };
        var raw = new byte[values.Length * 2];
        var expected = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (dtype == "F16")
            {
                var h = (Half)values[i];
                BinaryPrimitives.WriteHalfLittleEndian(raw.AsSpan(i * 2), h);
                expected[i] = (float)h;
            }
            else
            {
                var bits = (ushort)(BitConverter.SingleToInt32Bits(values[i]) >> 16);
                BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(i * 2), bits);
                expected[i] = BitConverter.Int32BitsToSingle(bits << 16);
            }
        }
        var header = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["bert.embeddings.LayerNorm.weight"] = new { dtype, shape = new[] { 2, 3 }, data_offsets = new[] { 0, raw.Length } },
        });
        var hb = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + hb.Length + raw.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)hb.Length);
        hb.CopyTo(file, 8);
        raw.CopyTo(file, 8 + hb.Length);
        var path = dir.File("model.safetensors");
        File.WriteAllBytes(path, file);
        var store = SafetensorsWeights.Load(path);
        Assert.Equal(expected, store.Get("embeddings.LayerNorm.weight", 2, 3).Data);
    }

    [Theory]
    [InlineData(null, "the")]
    [InlineData("{\"do_lower_case\": true}", "the")]
    [InlineData("{\"do_lower_case\": false}", "[UNK]")]
    public void TokenizerConfigDecidesLowerCasing(string? tokenizerConfig, string expected)
    {
        // The tiny vocabulary holds only lower-case "the": a cased tokenizer cannot find "The".
        using var dir = new TempDir();
        TinyBert.WriteFolder(dir.Path);
        if (tokenizerConfig is not null) File.WriteAllText(dir.File("tokenizer_config.json"), tokenizerConfig);
        using var session = ModelSession.Open(dir.Path, EngineKind.Managed);
        Assert.Equal(expected, session.Encode("The").Tokens[1].Text);
        Assert.Equal(tokenizerConfig?.Contains("false") != true, session.Config.DoLowerCase);
    }

    [Fact]
    public void FolderWithoutWeightsIsAClearError()
    {
        using var dir = new TempDir();
        TinyBert.WriteFolder(dir.Path);
        File.Delete(dir.File("model.safetensors"));
        var e = Assert.Throws<AttnScopeException>(() => ModelSession.Open(dir.Path));
        Assert.Contains("no model.safetensors, model.safetensors.index.json or model.onnx", e.Message);
    }

    [Fact]
    public void ShardedCheckpoint_LoadsLikeOneFile()
    {
        using var whole = new TempDir();
        TinyBert.WriteFolder(whole.Path);
        using var dir = new TempDir();
        TinyBert.WriteFolder(dir.Path);
        File.Delete(dir.File("model.safetensors"));
        var weights = TinyBert.Weights(7);
        var half = weights.Count / 2;
        SafeTensorsFile.Write(dir.File("model-00001-of-00002.safetensors"), weights.Take(half), new Dictionary<string, string>());
        SafeTensorsFile.Write(dir.File("model-00002-of-00002.safetensors"), weights.Skip(half), new Dictionary<string, string>());
        var map = weights.Select((w, i) => $"\"{w.Item1}\": \"model-0000{(i < half ? 1 : 2)}-of-00002.safetensors\"");
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{\"metadata\": {}, \"weight_map\": {" + string.Join(", ", map) + "}}");
        using var a = ModelSession.Open(whole.Path);
        using var b = ModelSession.Open(dir.Path);
        Assert.Equal(a.Capture("the cat sat").Stacks["encoder"].Attention.Data, b.Capture("the cat sat").Stacks["encoder"].Attention.Data);

        // A shard name that leaves the folder is refused before anything is read.
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{\"weight_map\": {\"x\": \"../outside.safetensors\"}}");
        Assert.Contains("plain .safetensors file name", Assert.Throws<AttnScopeException>(() => ModelSession.Open(dir.Path)).Message);
    }

    [Fact]
    public void FolderWithoutVocabularyIsAClearError()
    {
        using var dir = new TempDir();
        TinyBert.WriteFolder(dir.Path);
        File.Delete(dir.File("vocab.txt"));
        var e = Assert.Throws<AttnScopeException>(() => ModelSession.Open(dir.Path));
        Assert.Contains("no vocab.txt or tokenizer.json", e.Message);
    }

    [Fact]
    public void MissingWeightTensorIsNamed()
    {
        using var dir = new TempDir();
        TinyBert.WriteFolder(dir.Path);
        var weights = TinyBert.Weights(7).Where(w => w.Item1 != "bert.encoder.layer.1.intermediate.dense.weight");
        File.WriteAllBytes(dir.File("model.safetensors"), SafeTensorsFile.Serialize(weights, new Dictionary<string, string>()));
        var e = Assert.Throws<AttnScopeException>(() => ModelSession.Open(dir.Path));
        Assert.Contains("encoder.layer.1.intermediate.dense.weight", e.Message);
    }

    [Fact]
    public void WrongWeightShapeIsNamed()
    {
        using var dir = new TempDir();
        TinyBert.WriteFolder(dir.Path);
        var weights = TinyBert.Weights(7).Select(w => w.Item1 == "bert.encoder.layer.0.attention.self.query.weight"
            ? (w.Item1, new FloatTensor([TinyBert.Hidden, TinyBert.Hidden + 1])) : w);
        File.WriteAllBytes(dir.File("model.safetensors"), SafeTensorsFile.Serialize(weights, new Dictionary<string, string>()));
        var e = Assert.Throws<AttnScopeException>(() => ModelSession.Open(dir.Path));
        Assert.Contains("encoder.layer.0.attention.self.query.weight", e.Message);
    }

    [Fact]
    public void ConfigOfAnotherArchitectureIsRefused()
    {
        using var dir = new TempDir();
        TinyBert.WriteFolder(dir.Path);
        File.WriteAllText(dir.File("config.json"), "{\"model_type\": \"llama\", \"hidden_size\": 16}");
        var e = Assert.Throws<AttnScopeException>(() => ModelSession.Open(dir.Path));
        Assert.Contains("llama", e.Message);
    }

    [Fact]
    public void NonOnnxBytesInAnOnnxFileAreAClearError()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("model.onnx"), Encoding.ASCII.GetBytes("this is not a protobuf model at all, just text"));
        File.WriteAllText(dir.File("vocab.txt"), string.Join("\n", TinyBert.Vocab));
        var e = Assert.Throws<AttnScopeException>(() => ModelSession.Open(dir.File("model.onnx"), EngineKind.Onnx));
        Assert.Contains("not an ONNX model", e.Message);
    }

    [Fact]
    public void AnOnnxFileWithoutConfigHasItsSizesInferredAndSaysSo()
    {
        using var dir = new TempDir();
        var (onnx, vocab) = EmbeddedMiniLm.Extract();
        File.Copy(onnx, dir.File("model.onnx"));
        File.Copy(vocab, dir.File("vocab.txt"));
        using var session = ModelSession.Open(dir.File("model.onnx"), EngineKind.Onnx);
        Assert.Equal(6, session.Config.NumLayers);
        Assert.Equal(12, session.Config.NumHeads);
        Assert.Contains(session.Notes, n => n.Contains("inferred from the ONNX graph"));
        var cap = session.Capture("hello world");
        Assert.Equal(new[] { 6, 12, 4, 4 }, cap.Stack("encoder").Attention.Shape);
    }

    [Fact]
    public void ATextFileIsNotAModel()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("notes.txt"), "hello");
        var e = Assert.Throws<AttnScopeException>(() => ModelSession.Open(dir.File("notes.txt")));
        Assert.Contains("not an .onnx model", e.Message);
    }

    [Fact]
    public void OnnxEngineNeedsAnOnnxFile()
    {
        using var dir = new TempDir();
        TinyBert.WriteFolder(dir.Path);
        var e = Assert.Throws<AttnScopeException>(() => ModelSession.Open(dir.Path, EngineKind.Onnx));
        Assert.Contains("use --engine managed", e.Message);
    }
}
