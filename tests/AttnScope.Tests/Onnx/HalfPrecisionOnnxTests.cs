using AttnScope.Sources.Onnx;
using AttnScope.Sources.Tokenization;
using Xunit;

namespace AttnScope.Tests.Onnx;

/// <summary>Hand-built one-head attention graphs computing in FLOAT16, or with a FLOAT16/BFLOAT16 output.</summary>
public class HalfPrecisionOnnxTests
{
    private static readonly float[] Emb = Enumerable.Range(0, 40).Select(i => MathF.Sin(i * 0.7f)).ToArray();
    private static readonly OnnxSessionSettings OneThread = new() { IntraOpThreads = 1 };
    private static readonly EncodedInput Input = new([3, 1, 4, 1, 5], new int[5], [], []);

    /// <summary>
    /// x = emb[ids] cast to <paramref name="compute"/>; softmax(x·xᵀ)·x; the result cast to <paramref name="output"/>
    /// as last_hidden_state.
    /// </summary>
    private static byte[] Build(OnnxDataType compute, OnnxDataType output) => TinyOnnx.Model(
        [
            new("Gather", ["emb", "input_ids"], ["x32"]),
            new("Cast", ["x32"], ["x"], Attributes: TinyOnnx.IntAttribute("to", (int)compute)),
            new("Transpose", ["x"], ["xt"], Attributes: TinyOnnx.IntsAttribute("perm", 0, 2, 1)),
            new("MatMul", ["x", "xt"], ["raw"]),
            new("Softmax", ["raw"], ["probs"], Attributes: TinyOnnx.IntAttribute("axis", -1)),
            new("MatMul", ["probs", "x"], ["h"]),
            new("Cast", ["h"], ["last_hidden_state"], Attributes: TinyOnnx.IntAttribute("to", (int)output)),
        ],
        initializers: [("emb", [10, 4], Emb)],
        inputs: [("input_ids", OnnxDataType.Int64, ["batch", "seq"])],
        outputs: [("last_hidden_state", output, ["batch", "seq", 4])]);

    private static (float[] Attention, float[] Hidden) Float32Run()
    {
        using var src = OnnxAttentionSource.FromBytes(Build(OnnxDataType.Float, OnnxDataType.Float), OneThread);
        var r = src.Run([Input])[0];
        return (r.Attention.Data, r.LastHidden.Data);
    }

    /// <summary>Reference: the all-float32 graph; half-precision results agree to about 3 significant digits.</summary>
    [Theory]
    [InlineData(OnnxDataType.Float, OnnxDataType.Float16)]
    [InlineData(OnnxDataType.Float, OnnxDataType.BFloat16)]
    [InlineData(OnnxDataType.Float16, OnnxDataType.Float)]
    [InlineData(OnnxDataType.Float16, OnnxDataType.Float16)]
    internal void HalfPrecisionGraphsAreCaptured(OnnxDataType compute, OnnxDataType output)
    {
        var (att, hid) = Float32Run();
        using var src = OnnxAttentionSource.FromBytes(Build(compute, output), OneThread, $"{compute}-{output}.onnx");
        var r = src.Run([Input])[0];
        Assert.Equal([1, 1, 5, 5], r.Attention.Shape);
        Assert.Equal([5, 4], r.LastHidden.Shape);
        double tol = output == OnnxDataType.BFloat16 ? 2e-2 : 4e-3;
        for (int i = 0; i < att.Length; i++) Assert.True(Math.Abs(att[i] - r.Attention.Data[i]) < 4e-3, $"attention {i}: {att[i]} vs {r.Attention.Data[i]}");
        for (int i = 0; i < hid.Length; i++) Assert.True(Math.Abs(hid[i] - r.LastHidden.Data[i]) < tol, $"hidden {i}: {hid[i]} vs {r.LastHidden.Data[i]}");
    }
}

/// <summary><see cref="OnnxAttentionSource.ElemTypes"/> on a parsed graph (no ONNX Runtime); the expected types follow the ONNX operator definitions.</summary>
public class OnnxElemTypeInferenceTests
{
    [Fact]
    public void TypesFollowCastConstantWhereAndShapeOps()
    {
        var m = OnnxModel.Parse(TinyOnnx.Model(
            [
                new("Gather", ["emb", "input_ids"], ["x32"]),
                new("Cast", ["x32"], ["x16"], Attributes: TinyOnnx.IntAttribute("to", (int)OnnxDataType.Float16)),
                new("Shape", ["x16"], ["shp"]),
                new("Constant", [], ["c"], Attributes: nw => nw.Message(5, a => a.String(1, "value").Message(5, t => TinyOnnx.Tensor(t, "", [], [0f])).Int64(20, (int)OnnxAttributeType.Tensor))),
                new("Equal", ["x32", "c"], ["cond"]),
                new("Where", ["cond", "x16", "x16"], ["w"]),
                new("Softmax", ["w"], ["p"]),
                new("Mul", ["p", "x16"], ["declared"]),
            ],
            initializers: [("emb", [10, 4], new float[40])],
            inputs: [("input_ids", OnnxDataType.Int32, ["batch", "seq"])],
            outputs: [("declared", OnnxDataType.Double, null)]));
        var t = OnnxAttentionSource.ElemTypes(m.Graph);
        Assert.Equal(OnnxDataType.Int32, t["input_ids"]);
        Assert.Equal(OnnxDataType.Float, t["x32"]);
        Assert.Equal(OnnxDataType.Float16, t["x16"]);
        Assert.Equal(OnnxDataType.Int64, t["shp"]);
        Assert.Equal(OnnxDataType.Float, t["c"]);
        Assert.Equal(OnnxDataType.Bool, t["cond"]);
        Assert.Equal(OnnxDataType.Float16, t["w"]);
        Assert.Equal(OnnxDataType.Float16, t["p"]);
        Assert.Equal(OnnxDataType.Double, t["declared"]); // a declared type wins over propagation
    }
}
