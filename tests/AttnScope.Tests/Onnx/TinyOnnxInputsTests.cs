using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Sources.Onnx;
using AttnScope.Sources.Tokenization;
using Xunit;

namespace AttnScope.Tests.Onnx;

/// <summary>
/// Hand-built single-head graphs that read every input AttnScope fills (input_ids, attention_mask,
/// token_type_ids, position_ids), as INT64 or INT32, run through ONNX Runtime and checked against a reference
/// computed here in double precision from the same embedding tables.
/// </summary>
public class TinyOnnxInputsTests
{
    private const int D = 4;
    private static readonly float[] Emb = Enumerable.Range(0, 10 * D).Select(i => MathF.Sin(i * 0.7f)).ToArray();
    private static readonly float[] TypeEmb = Enumerable.Range(0, 2 * D).Select(i => 0.9f * MathF.Cos(i * 1.3f)).ToArray();
    private static readonly float[] PosEmb = Enumerable.Range(0, 8 * D).Select(i => 1.1f * MathF.Sin(i * 0.37f + 1f)).ToArray();
    private static readonly OnnxSessionSettings OneThread = new() { IntraOpThreads = 1 };

    /// <summary>
    /// x = emb[ids] (+ type_emb[token_type_ids]) (+ pos_emb[position_ids]); scores = x·xᵀ / 2 plus
    /// (1 − mask)·(−10000) over keys; probs = softmax; last_hidden_state = probs·x.
    /// </summary>
    internal static byte[] Build(OnnxDataType intType, bool mask, bool types, bool positions)
    {
        var nodes = new List<TinyOnnx.Node> { new("Gather", ["emb", "input_ids"], ["x0"]) };
        string x = "x0";
        if (types) { nodes.Add(new("Gather", ["type_emb", "token_type_ids"], ["tx"])); nodes.Add(new("Add", [x, "tx"], ["x1"])); x = "x1"; }
        if (positions) { nodes.Add(new("Gather", ["pos_emb", "position_ids"], ["px"])); nodes.Add(new("Add", [x, "px"], ["x2"])); x = "x2"; }
        nodes.Add(new("Transpose", [x], ["xt"], Attributes: TinyOnnx.IntsAttribute("perm", 0, 2, 1)));
        nodes.Add(new("MatMul", [x, "xt"], ["raw"]));
        nodes.Add(new("Div", ["raw", "two"], ["scaled"]));
        string soft = "scaled";
        if (mask)
        {
            nodes.Add(new("Cast", ["attention_mask"], ["mf"], Attributes: TinyOnnx.IntAttribute("to", (int)OnnxDataType.Float)));
            nodes.Add(new("Sub", ["one", "mf"], ["inv"]));
            nodes.Add(new("Mul", ["inv", "neg"], ["madd"]));
            nodes.Add(new("Unsqueeze", ["madd", "axis1"], ["m3"]));
            nodes.Add(new("Add", ["scaled", "m3"], ["masked"]));
            soft = "masked";
        }
        nodes.Add(new("Softmax", [soft], ["probs"], Attributes: TinyOnnx.IntAttribute("axis", -1)));
        nodes.Add(new("MatMul", ["probs", x], ["last_hidden_state"]));
        var inputs = new List<(string, OnnxDataType, object[])> { ("input_ids", intType, ["batch", "seq"]) };
        if (mask) inputs.Add(("attention_mask", intType, ["batch", "seq"]));
        if (types) inputs.Add(("token_type_ids", intType, ["batch", "seq"]));
        if (positions) inputs.Add(("position_ids", intType, ["batch", "seq"]));
        return TinyOnnx.Model(nodes,
            initializers: [("emb", [10, D], Emb), ("type_emb", [2, D], TypeEmb), ("pos_emb", [8, D], PosEmb), ("two", [], [2f]), ("one", [], [1f]), ("neg", [], [-10000f])],
            int64Initializers: [("axis1", [1], [1])],
            inputs: inputs,
            outputs: [("last_hidden_state", OnnxDataType.Float, ["batch", "seq", D])]);
    }

    /// <summary>Reference attention [n, n] and hidden [n, D] of one unpadded sequence, in double.</summary>
    internal static (double[,] Probs, double[,] Hidden) Reference(int[] ids, int[]? types, bool positions)
    {
        int n = ids.Length;
        var x = new double[n, D];
        for (int i = 0; i < n; i++)
            for (int d = 0; d < D; d++)
                x[i, d] = Emb[ids[i] * D + d] + (types is null ? 0 : TypeEmb[types[i] * D + d]) + (positions ? PosEmb[i * D + d] : 0);
        var p = new double[n, n];
        var h = new double[n, D];
        for (int i = 0; i < n; i++)
        {
            var s = new double[n];
            for (int j = 0; j < n; j++)
                for (int d = 0; d < D; d++) s[j] += x[i, d] * x[j, d] / 2;
            double max = s.Max(), sum = s.Sum(v => Math.Exp(v - max));
            for (int j = 0; j < n; j++) p[i, j] = Math.Exp(s[j] - max) / sum;
            for (int j = 0; j < n; j++)
                for (int d = 0; d < D; d++) h[i, d] += p[i, j] * x[j, d];
        }
        return (p, h);
    }

    private static readonly EncodedInput[] Batch =
    [
        new([3, 1, 4, 1, 5], [0, 0, 1, 1, 1], [], []),
        new([9, 2, 6], [0, 1, 1], [], []),
    ];

    private static void AssertMatchesReference(SequenceAttention r, EncodedInput e, bool types, bool positions)
    {
        int n = e.Length;
        var (p, h) = Reference(e.Ids, types ? e.TypeIds : null, positions);
        Assert.Equal([1, 1, n, n], r.Attention.Shape);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) Assert.Equal(p[i, j], r.Attention[0, 0, i, j], 5);
            for (int d = 0; d < D; d++) Assert.Equal(h[i, d], r.LastHidden.Data[r.LastHidden.Offset(i, d)], 4);
        }
    }

    /// <summary>
    /// Reference: the INT64 version of the same graph (identical bytes apart from the input element types), and
    /// the double-precision reference above; a batch with padding checks that the mask and type ids are fed.
    /// </summary>
    [Fact]
    public void Int32InputsGiveTheSameAttentionAsInt64Inputs()
    {
        using var s64 = OnnxAttentionSource.FromBytes(Build(OnnxDataType.Int64, true, true, true), OneThread, "int64.onnx");
        using var s32 = OnnxAttentionSource.FromBytes(Build(OnnxDataType.Int32, true, true, true), OneThread, "int32.onnx");
        Assert.Equal(["input_ids", "attention_mask", "token_type_ids", "position_ids"], s32.InputNames);
        var r64 = s64.Run(Batch);
        var r32 = s32.Run(Batch);
        for (int b = 0; b < Batch.Length; b++)
        {
            Assert.Equal(r64[b].Attention.Shape, r32[b].Attention.Shape);
            Assert.Equal(r64[b].Attention.Data, r32[b].Attention.Data);
            Assert.Equal(r64[b].LastHidden.Data, r32[b].LastHidden.Data);
            AssertMatchesReference(r32[b], Batch[b], types: true, positions: true);
        }
    }

    /// <summary>
    /// Reference: softmax(x·xᵀ/2) with x = emb[id] + pos_emb[i] for positions i = 0..n−1, computed here. The same
    /// sequence without position embeddings gives different attention, so a wrong position feed fails.
    /// </summary>
    [Fact]
    public void PositionIdsAreFedZeroToNMinusOne()
    {
        using var src = OnnxAttentionSource.FromBytes(Build(OnnxDataType.Int64, false, false, true), OneThread, "pos.onnx");
        Assert.Equal(["input_ids", "position_ids"], src.InputNames);
        // All tokens equal: without positions every row would be uniform, so the pattern comes from positions alone.
        var same = new EncodedInput([2, 2, 2, 2, 2, 2], new int[6], [], []);
        // No mask input: run each sequence alone so no padding enters the softmax.
        var r = new[] { src.Run([same])[0], src.Run([Batch[0]])[0] };
        AssertMatchesReference(r[0], same, types: false, positions: true);
        AssertMatchesReference(r[1], Batch[0], types: false, positions: true);
        Assert.NotEqual(1.0 / 6, r[0].Attention[0, 0, 0, 0], 3);
        var (noPos, _) = Reference(Batch[0].Ids, null, false);
        Assert.NotEqual(noPos[0, 1], r[1].Attention[0, 0, 0, 1], 3);
    }

    /// <summary>Reference: the double-precision reference, with INT32 position_ids alone.</summary>
    [Fact]
    public void Int32PositionIdsWithPadding()
    {
        using var src = OnnxAttentionSource.FromBytes(Build(OnnxDataType.Int32, true, false, true), OneThread, "pos32.onnx");
        var r = src.Run(Batch);
        for (int b = 0; b < Batch.Length; b++) AssertMatchesReference(r[b], Batch[b], types: false, positions: true);
    }
}
