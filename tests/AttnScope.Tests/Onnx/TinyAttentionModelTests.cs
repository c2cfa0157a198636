using AttnScope.Capture;
using AttnScope.Sources.Onnx;
using AttnScope.Sources.Tokenization;
using Xunit;

namespace AttnScope.Tests.Onnx;

/// <summary>A hand-built one-head attention graph (rank-3 tensors, no mask input) run through ONNX Runtime.</summary>
public class TinyAttentionModelTests
{
    private static readonly float[] Emb = Enumerable.Range(0, 40).Select(i => MathF.Sin(i * 0.7f)).ToArray();

    private static byte[] Build() => TinyOnnx.Model(
        [
            new("Gather", ["emb", "input_ids"], ["x"]),
            new("Transpose", ["x"], ["xt"], Attributes: nw => nw.Message(5, a => a.String(1, "perm").PackedInt64(8, [0, 2, 1]).Int64(20, (int)OnnxAttributeType.Ints))),
            new("MatMul", ["x", "xt"], ["raw"]),
            new("Div", ["raw", "two"], ["scaled"]),
            new("Softmax", ["scaled"], ["probs"], Name: "attn_softmax", Attributes: TinyOnnx.IntAttribute("axis", -1)),
            new("MatMul", ["probs", "x"], ["last_hidden_state"]),
        ],
        initializers: [("emb", [10, 4], Emb), ("two", [], [2f])],
        inputs: [("input_ids", OnnxDataType.Int64, ["batch", "seq"])],
        outputs: [("last_hidden_state", OnnxDataType.Float, ["batch", "seq", 4])]);

    [Fact]
    public void CapturesSingleHeadAttentionOfAGenericGraph()
    {
        using var src = OnnxAttentionSource.FromBytes(Build(), new OnnxSessionSettings { IntraOpThreads = 1 }, "tiny.onnx");
        Assert.Equal(1, src.LayerCount);
        Assert.Equal("attn_softmax", src.Layers[0].SoftmaxNode);
        Assert.True(src.CanCaptureScores);
        Assert.True(src.CanCaptureQkv);
        int[] ids = [3, 1, 4, 1, 5];
        var r = src.Run([new EncodedInput(ids, new int[ids.Length], [], [])], captureScores: true, captureQkv: true)[0];
        Assert.Equal([1, 1, 5, 5], r.Attention.Shape);
        Assert.Equal([1, 1, 5, 4], r.Key!.Shape);
        for (int i = 0; i < 5; i++)
        {
            var scores = new double[5];
            for (int j = 0; j < 5; j++)
            {
                double dot = 0;
                for (int d = 0; d < 4; d++) dot += Emb[ids[i] * 4 + d] * Emb[ids[j] * 4 + d];
                scores[j] = dot / 2;
                Assert.Equal(scores[j], r.Scores![0, 0, i, j], 5);
            }
            double max = scores.Max(), sum = scores.Sum(v => Math.Exp(v - max));
            for (int j = 0; j < 5; j++) Assert.Equal(Math.Exp(scores[j] - max) / sum, r.Attention[0, 0, i, j], 5);
            for (int d = 0; d < 4; d++)
            {
                Assert.Equal(Emb[ids[i] * 4 + d], r.Query![0, 0, i, d]);
                Assert.Equal(Emb[ids[i] * 4 + d], r.Key![0, 0, i, d]);
                Assert.Equal(Emb[ids[i] * 4 + d], r.Value![0, 0, i, d]);
            }
        }
    }

    [Fact]
    public void LayersFollowDataFlowNotNodeListOrder()
    {
        TinyOnnx.Node[] Layer(string i, string o, string tag) =>
        [
            new("Transpose", [i], [$"{tag}_t"], Attributes: nw => nw.Message(5, a => a.String(1, "perm").PackedInt64(8, [0, 2, 1]).Int64(20, (int)OnnxAttributeType.Ints))),
            new("MatMul", [i, $"{tag}_t"], [$"{tag}_raw"]),
            new("Softmax", [$"{tag}_raw"], [$"{tag}_p"], Name: $"softmax_{tag}", Attributes: TinyOnnx.IntAttribute("axis", -1)),
            new("MatMul", [$"{tag}_p", i], [o]),
        ];
        // The second layer's nodes are listed first.
        var nodes = new List<TinyOnnx.Node> { new("Gather", ["emb", "input_ids"], ["x"]) };
        nodes.InsertRange(0, Layer("h1", "last_hidden_state", "second"));
        nodes.AddRange(Layer("x", "h1", "first"));
        var m = OnnxModel.Parse(TinyOnnx.Model(nodes, initializers: [("emb", [10, 4], Emb)],
            inputs: [("input_ids", OnnxDataType.Int64, ["batch", "seq"])],
            outputs: [("last_hidden_state", OnnxDataType.Float, ["batch", "seq", 4])]));
        var layers = OnnxAttentionGraph.Find(m);
        Assert.Equal(["softmax_first", "softmax_second"], layers.Select(l => l.SoftmaxNode));
        Assert.Equal("first_raw", layers[0].Scores);
        Assert.Equal("x", layers[0].Query);
        Assert.Equal("first_t", layers[0].Key);
        Assert.True(layers[0].KeyIsTransposed);
    }

    [Fact]
    public void MissingQkvIsAClearError()
    {
        // Attention probabilities from a Softmax over a value that is not a Q·Kᵀ product.
        var bytes = TinyOnnx.Model(
            [
                new("Gather", ["emb", "input_ids"], ["x"]),
                new("Transpose", ["x"], ["xt"], Attributes: nw => nw.Message(5, a => a.String(1, "perm").PackedInt64(8, [0, 2, 1]).Int64(20, (int)OnnxAttributeType.Ints))),
                new("Softmax", ["x"], ["p"], Attributes: TinyOnnx.IntAttribute("axis", -1)),
                new("MatMul", ["p", "xt"], ["last_hidden_state"]),
            ],
            initializers: [("emb", [10, 4], Emb)],
            inputs: [("input_ids", OnnxDataType.Int64, ["batch", "seq"])],
            outputs: [("last_hidden_state", OnnxDataType.Float, ["batch", "seq", "seq"])]);
        using var src = OnnxAttentionSource.FromBytes(bytes, new OnnxSessionSettings { IntraOpThreads = 1 });
        Assert.False(src.CanCaptureQkv);
        Assert.False(src.CanCaptureScores);
        var input = new EncodedInput([1, 2, 3, 4], new int[4], [], []);
        Assert.Contains("--engine managed", Assert.Throws<AttnScopeException>(() => src.Run([input], false, true)).Message);
        Assert.Contains("--engine managed", Assert.Throws<AttnScopeException>(() => src.Run([input], true, false)).Message);
        Assert.Equal([1, 1, 4, 4], src.Run([input])[0].Attention.Shape);
    }

    [Fact]
    public void UnknownModelInputIsNamed()
    {
        var bytes = TinyOnnx.Model(
            [new("MatMul", ["pixels", "pixels_t"], ["s"]), new("Softmax", ["s"], ["p"]), new("MatMul", ["p", "pixels"], ["y"])],
            inputs: [("pixels", OnnxDataType.Float, [1, 3, 3]), ("pixels_t", OnnxDataType.Float, [1, 3, 3])],
            outputs: [("y", OnnxDataType.Float, [1, 3, 3])]);
        var msg = Assert.Throws<AttnScopeException>(() => OnnxAttentionSource.FromBytes(bytes)).Message;
        Assert.Contains("'pixels'", msg);
    }
}
