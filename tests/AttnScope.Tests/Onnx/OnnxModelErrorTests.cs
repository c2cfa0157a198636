using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Onnx;
using Xunit;

namespace AttnScope.Tests.Onnx;

public class OnnxModelErrorTests
{
    private static string ParseError(byte[] bytes) =>
        Assert.Throws<AttnScopeException>(() => OnnxModel.Parse(bytes, "test.onnx")).Message;

    [Fact]
    public void EmptyFileIsNotOnnx() => Assert.Contains("not an ONNX model", ParseError([]));

    [Fact]
    public void PngIsNotOnnx()
    {
        byte[] png = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R'];
        var msg = ParseError(png);
        Assert.Contains("not an ONNX model", msg);
        Assert.Contains("PNG", msg);
    }

    [Fact]
    public void SafeTensorsIsNotOnnx()
    {
        var bytes = SafeTensorsFile.Serialize([("w", new FloatTensor([2, 2], [1, 2, 3, 4]))], new Dictionary<string, string>());
        var msg = ParseError(bytes);
        Assert.Contains("not an ONNX model", msg);
        Assert.Contains("safetensors", msg);
    }

    [Fact]
    public void JsonIsNotOnnx() => Assert.Contains("JSON", ParseError("{\"hidden_size\": 384}"u8.ToArray()));

    [Fact]
    public void RandomBytesAreNotOnnx()
    {
        var rng = new Random(1234);
        for (int trial = 0; trial < 300; trial++)
        {
            var bytes = new byte[rng.Next(1, 3000)];
            rng.NextBytes(bytes);
            Assert.Contains("not an ONNX model", ParseError(bytes));
        }
    }

    [Fact]
    public void ValidProtobufWithoutGraphIsNotOnnx()
    {
        var bytes = new ProtoWriter().Int64(1, 8).String(2, "x").ToArray();
        Assert.Contains("not an ONNX model", ParseError(bytes));
    }

    [Fact]
    public void TinyModelParses()
    {
        var bytes = TinyOnnx.Model(
            [new("Relu", ["x"], ["y"], Name: "relu0")],
            initializers: [("w.weight", [2], [1f, 2f])],
            inputs: [("x", OnnxDataType.Float, ["batch", 2])],
            outputs: [("y", OnnxDataType.Float, ["batch", 2])]);
        var m = OnnxModel.Parse(bytes);
        Assert.Equal(8, m.IrVersion);
        Assert.Equal(17, m.DefaultOpset);
        Assert.Single(m.Graph.Nodes);
        Assert.Equal("relu0", m.Graph.Nodes[0].Name);
        Assert.Equal([1f, 2f], m.Graph.Initializer("w.weight")!.ToFloatArray());
        Assert.Equal("x", m.Graph.Inputs[0].Name);
        Assert.Null(m.Graph.Inputs[0].Dims[0]);
        Assert.Equal("batch", m.Graph.Inputs[0].DimParams[0]);
        Assert.Equal(2, m.Graph.Inputs[0].Dims[1]);
    }

    [Fact]
    public void MutatedModelsFailCleanly()
    {
        var bytes = TinyOnnx.Model(
            [new("MatMul", ["x", "w"], ["s"]), new("Softmax", ["s"], ["p"], Attributes: TinyOnnx.IntAttribute("axis", -1)), new("MatMul", ["p", "x"], ["y"])],
            initializers: [("w", [2, 2], [1f, 2f, 3f, 4f])],
            inputs: [("x", OnnxDataType.Float, [1, 2, 2])],
            outputs: [("y", OnnxDataType.Float, [1, 2, 2])]);
        var rng = new Random(42);
        for (int trial = 0; trial < 2000; trial++)
        {
            var copy = (byte[])bytes.Clone();
            int flips = rng.Next(1, 4);
            for (int f = 0; f < flips; f++) copy[rng.Next(copy.Length)] = (byte)rng.Next(256);
            var cut = rng.Next(4) == 0 ? copy[..rng.Next(copy.Length)] : copy;
            try
            {
                var m = OnnxModel.Parse(cut);
                foreach (var t in m.Graph.Initializers) t.ToFloatArray();
                try { OnnxAttentionGraph.Find(m); } catch (AttnScopeException) { }
            }
            catch (AttnScopeException) { }
        }
    }

    [Fact]
    public void ExternalDataIsAClearError()
    {
        var bytes = new ProtoWriter().Message(7, g =>
        {
            g.Message(1, n => n.String(1, "x").String(1, "w").String(2, "y").String(4, "MatMul"));
            g.Message(5, t => t.PackedInt64(1, [2]).Int64(2, 1).String(8, "w")
                .Message(13, kv => kv.String(1, "location").String(2, "weights.bin")).Int64(14, 1));
        }).Int64(1, 8).ToArray();
        var m = OnnxModel.Parse(bytes);
        var msg = Assert.Throws<AttnScopeException>(() => m.Graph.Initializer("w")!.ToFloatArray()).Message;
        Assert.Contains("external", msg);
    }

    [Fact]
    public void HostileDimsDoNotAllocate()
    {
        var bytes = new ProtoWriter().Int64(1, 8).Message(7, g =>
        {
            g.Message(1, n => n.String(1, "x").String(2, "y").String(4, "Relu"));
            g.Message(5, t => t.PackedInt64(1, [2_000_000_000]).Int64(2, 1).String(8, "raw").Bytes(9, new byte[8]));
            g.Message(5, t => t.PackedInt64(1, [2_000_000_000]).Int64(2, 7).String(8, "ints").PackedInt64(7, [1, 2]));
            g.Message(5, t => t.PackedInt64(1, [2_000_000_000]).Int64(2, 8).String(8, "strings"));
            g.Message(5, t => t.PackedInt64(1, [1L << 40, 1L << 40]).Int64(2, 1).String(8, "overflow"));
            g.Message(5, t => t.PackedInt64(1, [2, 1L << 62, 1L << 62]).Int64(2, 1).String(8, "overflow2"));
            g.Message(5, t => t.PackedInt64(1, [0, 1L << 62, 1L << 62]).Int64(2, 1).String(8, "zero-then-huge"));
            g.Message(5, t => t.PackedInt64(1, [-3]).Int64(2, 1).String(8, "negative"));
        }).ToArray();
        var m = OnnxModel.Parse(bytes);
        foreach (var t in m.Graph.Initializers)
        {
            Assert.Throws<AttnScopeException>(() => t.ToFloatArray());
            Assert.Throws<AttnScopeException>(() => t.ToInt64Array());
        }
    }

    [Fact]
    public void RawDataOfWrongLengthIsAClearError()
    {
        var bytes = new ProtoWriter().Int64(1, 8).Message(7, g =>
        {
            g.Message(1, n => n.String(1, "x").String(2, "y").String(4, "Relu"));
            g.Message(5, t => t.PackedInt64(1, [3]).Int64(2, 1).String(8, "w").Bytes(9, new byte[8]));
        }).ToArray();
        var m = OnnxModel.Parse(bytes);
        var msg = Assert.Throws<AttnScopeException>(() => m.Graph.Initializer("w")!.ToFloatArray()).Message;
        Assert.Contains("8 bytes", msg);
    }

    private static byte[] FusedModel(int count) => TinyOnnx.Model(
        Enumerable.Range(0, count).Select(i => new TinyOnnx.Node("Attention", [i == 0 ? "x" : $"h{i - 1}", "qkv_w", "qkv_b", "mask"], [$"h{i}"], Domain: "com.microsoft", Name: $"Attention_{i}",
            Attributes: TinyOnnx.IntAttribute("num_heads", 2))),
        initializers: [("qkv_w", [4, 12], new float[48]), ("qkv_b", [12], new float[12])],
        inputs: [("x", OnnxDataType.Float, [1, 3, 4]), ("mask", OnnxDataType.Int32, [1, 3])],
        outputs: [($"h{count - 1}", OnnxDataType.Float, [1, 3, 4])],
        opsets: [("", 17), ("com.microsoft", 1)]);

    [Fact]
    public void FusedAttentionIsNamed()
    {
        var m = OnnxModel.Parse(FusedModel(6), "fused.onnx");
        var msg = Assert.Throws<AttnScopeException>(() => OnnxAttentionGraph.Find(m)).Message;
        Assert.Contains("found 6 com.microsoft.Attention nodes and no Softmax", msg);
        Assert.Contains("without fusion", msg);
        var viaSource = Assert.Throws<AttnScopeException>(() => OnnxAttentionSource.FromBytes(FusedModel(1), source: "fused.onnx")).Message;
        Assert.Contains("found 1 com.microsoft.Attention node and no Softmax", viaSource);
    }

    [Fact]
    public void SoftmaxThatIsNotAttentionIsExplained()
    {
        var bytes = TinyOnnx.Model(
            [new("Softmax", ["x"], ["y"])],
            inputs: [("x", OnnxDataType.Float, [1, 3])],
            outputs: [("y", OnnxDataType.Float, [1, 3])]);
        var msg = Assert.Throws<AttnScopeException>(() => OnnxAttentionGraph.Find(OnnxModel.Parse(bytes))).Message;
        Assert.Contains("1 Softmax node feeds a MatMul", msg);
        var none = TinyOnnx.Model([new("Relu", ["x"], ["y"])], inputs: [("x", OnnxDataType.Float, [1, 3])], outputs: [("y", OnnxDataType.Float, [1, 3])]);
        Assert.Contains("no Softmax", Assert.Throws<AttnScopeException>(() => OnnxAttentionGraph.Find(OnnxModel.Parse(none))).Message);
    }

    [Fact]
    public void CyclicGraphIsAnError()
    {
        var bytes = TinyOnnx.Model([new("Relu", ["b"], ["a"]), new("Relu", ["a"], ["b"])]);
        var m = OnnxModel.Parse(bytes);
        Assert.Contains("cycle", Assert.Throws<AttnScopeException>(() => m.Graph.TopologicalOrder()).Message);
    }
}
