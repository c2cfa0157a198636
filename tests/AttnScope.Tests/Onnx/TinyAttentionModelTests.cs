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
