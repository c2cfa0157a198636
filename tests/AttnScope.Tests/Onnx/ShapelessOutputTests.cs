using AttnScope.Capture;
using AttnScope.Sources.Onnx;
using AttnScope.Sources.Tokenization;
using Xunit;

namespace AttnScope.Tests.Onnx;

/// <summary>Graph outputs declared without a shape (or without a type): how the hidden-state output is chosen.</summary>
public class ShapelessOutputTests
{
    private static readonly float[] Emb = Enumerable.Range(0, 40).Select(i => MathF.Sin(i * 0.7f)).ToArray();
    private static readonly OnnxSessionSettings OneThread = new() { IntraOpThreads = 1 };
    private static readonly EncodedInput Input = new([3, 1, 4, 1, 5], new int[5], [], []);

    /// <summary>One-head attention softmax(x·xᵀ/2)·x named <c>hidden</c>, plus a [batch, 4] mean over the sequence named <c>pooled</c>.</summary>
    private static byte[] Build(IEnumerable<(string, OnnxDataType, object[]?)> outputs, string hiddenName = "hidden") => TinyOnnx.Model(
        [
            new("Gather", ["emb", "input_ids"], ["x"]),
            new("Transpose", ["x"], ["xt"], Attributes: TinyOnnx.IntsAttribute("perm", 0, 2, 1)),
            new("MatMul", ["x", "xt"], ["raw"]),
            new("Div", ["raw", "two"], ["scaled"]),
            new("Softmax", ["scaled"], ["probs"], Attributes: TinyOnnx.IntAttribute("axis", -1)),
            new("MatMul", ["probs", "x"], [hiddenName]),
            new("ReduceMean", [hiddenName], ["pooled"], Attributes: nw => { TinyOnnx.IntsAttribute("axes", 1)(nw); TinyOnnx.IntAttribute("keepdims", 0)(nw); }),
        ],
        initializers: [("emb", [10, 4], Emb), ("two", [], [2f])],
        inputs: [("input_ids", OnnxDataType.Int64, ["batch", "seq"])],
        outputs: outputs);

    /// <summary>Reference: the attention of the same graph with a fully shaped output.</summary>
    private static float[] ShapedAttention()
    {
        using var src = OnnxAttentionSource.FromBytes(Build([("hidden", OnnxDataType.Float, ["batch", "seq", 4])]), OneThread);
        Assert.Equal("hidden", src.HiddenOutputName);
        return src.Run([Input])[0].Attention.Data;
    }

    /// <summary>Reference: the shaped model's attention and the [n, 4] hidden-state shape.</summary>
    [Fact]
    public void ShapelessLastHiddenStateIsFoundByName()
    {
        var bytes = Build([("pooled", OnnxDataType.Float, null), ("last_hidden_state", OnnxDataType.Float, null)], "last_hidden_state");
        using var src = OnnxAttentionSource.FromBytes(bytes, OneThread);
        Assert.Equal("last_hidden_state", src.HiddenOutputName);
        var r = src.Run([Input])[0];
        Assert.Equal([5, 4], r.LastHidden.Shape);
        Assert.Equal(ShapedAttention(), r.Attention.Data);
    }

    /// <summary>Reference: the shaped model's attention; the only shapeless float output is taken as the hidden state.</summary>
    [Fact]
    public void SingleShapelessFloatOutputIsTheHiddenState()
    {
        using var src = OnnxAttentionSource.FromBytes(Build([("hidden", OnnxDataType.Float, null)]), OneThread);
        Assert.Equal("hidden", src.HiddenOutputName);
        Assert.Equal(ShapedAttention(), src.Run([Input])[0].Attention.Data);
    }

    /// <summary>Reference: a shaped 2-D output is not a hidden state; the one shapeless output is.</summary>
    [Fact]
    public void ShapelessOutputIsPreferredOverAShapedNonHiddenOutput()
    {
        using var src = OnnxAttentionSource.FromBytes(Build([("pooled", OnnxDataType.Float, ["batch", 4]), ("hidden", OnnxDataType.Float, null)]), OneThread);
        Assert.Equal("hidden", src.HiddenOutputName);
    }

    /// <summary>Reference: the shaped model's attention; the output is declared with a name only (no type at all).</summary>
    [Fact]
    public void UntypedOutputIsTheHiddenState()
    {
        var bytes = Build([]).Concat(new ProtoWriter().Message(7, g => g.Message(12, v => v.String(1, "hidden"))).ToArray()).ToArray();
        var model = OnnxModel.Parse(bytes);
        Assert.Equal(OnnxDataType.Undefined, Assert.Single(model.Graph.Outputs).ElemType);
        using var src = new OnnxAttentionSource(model, OneThread);
        Assert.Equal("hidden", src.HiddenOutputName);
        Assert.Equal(ShapedAttention(), src.Run([Input])[0].Attention.Data);
    }

    [Fact]
    public void SeveralShapelessOutputsAreAClearError()
    {
        var msg = Assert.Throws<AttnScopeException>(() =>
            OnnxAttentionSource.FromBytes(Build([("pooled", OnnxDataType.Float, null), ("hidden", OnnxDataType.Float, null)]), OneThread, "noshape.onnx")).Message;
        Assert.Contains("noshape.onnx", msg);
        Assert.Contains("'pooled'", msg);
        Assert.Contains("'hidden'", msg);
        Assert.Contains("no shape", msg);
        Assert.Contains("last_hidden_state", msg);
    }

    [Fact]
    public void ShapelessOutputThatIsNotThreeDimensionalFailsAtRunWithItsName()
    {
        using var src = OnnxAttentionSource.FromBytes(Build([("pooled", OnnxDataType.Float, null)]), OneThread, "pooled.onnx");
        Assert.Equal("pooled", src.HiddenOutputName);
        var msg = Assert.Throws<AttnScopeException>(() => src.Run([Input])).Message;
        Assert.Contains("'pooled'", msg);
        Assert.Contains("[1, 4]", msg);
    }

    [Fact]
    public void OnlyNonHiddenShapedOutputsAreAClearError()
    {
        var msg = Assert.Throws<AttnScopeException>(() =>
            OnnxAttentionSource.FromBytes(Build([("pooled", OnnxDataType.Float, ["batch", 4])]), OneThread, "pooled.onnx")).Message;
        Assert.Contains("pooled.onnx", msg);
        Assert.Contains("pooled: FLOAT [batch, 4]", msg);
    }
}
