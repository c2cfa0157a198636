using AttnScope.Sources.Onnx;
using AttnScope.Sources.Tokenization;
using Xunit;

namespace AttnScope.Tests.Onnx;

/// <summary>
/// Hand-built two-head attention graphs, with the Softmax over a 4-D [batch, heads, s, s] tensor or over a 3-D
/// [batch·heads, s, s] tensor. The heads see different slices of the embedding and different key scales (×3 and
/// ×−1), so their patterns differ and any head or batch mix-up changes the captured values.
/// </summary>
public class MultiHeadOnnxTests
{
    private const int H = 2, Dh = 4, D = H * Dh, S3 = 5;
    private static readonly float[] Emb = Enumerable.Range(0, 10 * D).Select(i => MathF.Sin(i * 0.53f + 0.2f)).ToArray();
    private static readonly float[] KScale = [3, 3, 3, 3, -1, -1, -1, -1];
    private static readonly OnnxSessionSettings OneThread = new() { IntraOpThreads = 1 };

    private static byte[] Build(bool threeD)
    {
        var nodes = new List<TinyOnnx.Node>
        {
            new("Gather", ["emb", "input_ids"], ["x"]),
            new("Mul", ["x", "kscale"], ["xk"]),
            new("Reshape", ["x", "shape_bshd"], ["x4"]),
            new("Transpose", ["x4"], ["q"], Attributes: TinyOnnx.IntsAttribute("perm", 0, 2, 1, 3)),
            new("Reshape", ["xk", "shape_bshd"], ["xk4"]),
            new("Transpose", ["xk4"], ["kT"], Attributes: TinyOnnx.IntsAttribute("perm", 0, 2, 3, 1)),
        };
        if (!threeD)
        {
            nodes.Add(new("MatMul", ["q", "kT"], ["raw"]));
            nodes.Add(new("Div", ["raw", "two"], ["scaled"]));
            nodes.Add(new("Softmax", ["scaled"], ["probs"], Attributes: TinyOnnx.IntAttribute("axis", -1)));
            nodes.Add(new("MatMul", ["probs", "q"], ["ctx"]));
        }
        else
        {
            nodes.Add(new("Reshape", ["q", "shape_q3"], ["q3"]));
            nodes.Add(new("Reshape", ["kT", "shape_k3"], ["kT3"]));
            nodes.Add(new("MatMul", ["q3", "kT3"], ["raw"]));
            nodes.Add(new("Div", ["raw", "two"], ["scaled"]));
            nodes.Add(new("Softmax", ["scaled"], ["probs"], Attributes: TinyOnnx.IntAttribute("axis", -1)));
            nodes.Add(new("MatMul", ["probs", "q3"], ["ctx3"]));
            nodes.Add(new("Reshape", ["ctx3", "shape_ctx4"], ["ctx"]));
        }
        nodes.Add(new("Transpose", ["ctx"], ["ctx_t"], Attributes: TinyOnnx.IntsAttribute("perm", 0, 2, 1, 3)));
        nodes.Add(new("Reshape", ["ctx_t", "shape_bsd"], ["last_hidden_state"]));
        return TinyOnnx.Model(nodes,
            initializers: [("emb", [10, D], Emb), ("kscale", [D], KScale), ("two", [], [2f])],
            int64Initializers:
            [
                ("shape_bshd", [4], [0, 0, H, Dh]), ("shape_bsd", [3], [0, 0, D]),
                ("shape_q3", [3], [-1, S3, Dh]), ("shape_k3", [3], [-1, Dh, S3]), ("shape_ctx4", [4], [-1, H, S3, Dh]),
            ],
            inputs: [("input_ids", OnnxDataType.Int64, ["batch", "seq"])],
            outputs: [("last_hidden_state", OnnxDataType.Float, ["batch", "seq", D])]);
    }

    /// <summary>Reference probabilities [head, i, j] and scaled scores over the padded ids (pad id 0, no mask).</summary>
    private static (double[,,] Probs, double[,,] Scores) Reference(int[] paddedIds)
    {
        int s = paddedIds.Length;
        var p = new double[H, s, s];
        var sc = new double[H, s, s];
        for (int h = 0; h < H; h++)
            for (int i = 0; i < s; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    double dot = 0;
                    for (int d = 0; d < Dh; d++)
                    {
                        int c = h * Dh + d;
                        dot += (double)Emb[paddedIds[i] * D + c] * (KScale[c] * (double)Emb[paddedIds[j] * D + c]);
                    }
                    sc[h, i, j] = dot / 2;
                }
                double max = double.NegativeInfinity, sum = 0;
                for (int j = 0; j < s; j++) max = Math.Max(max, sc[h, i, j]);
                for (int j = 0; j < s; j++) sum += Math.Exp(sc[h, i, j] - max);
                for (int j = 0; j < s; j++) p[h, i, j] = Math.Exp(sc[h, i, j] - max) / sum;
            }
        return (p, sc);
    }

    private static void Check(IReadOnlyList<EncodedInput> batch, IReadOnlyList<AttnScope.Sources.SequenceAttention> results)
    {
        int s = batch.Max(e => e.Length);
        for (int b = 0; b < batch.Count; b++)
        {
            var e = batch[b];
            int n = e.Length;
            var padded = e.Ids.Concat(Enumerable.Repeat(0, s - n)).ToArray();
            var (p, sc) = Reference(padded);
            var r = results[b];
            Assert.Equal([1, H, n, n], r.Attention.Shape);
            Assert.Equal([1, H, n, Dh], r.Query!.Shape);
            double headDiff = 0;
            for (int h = 0; h < H; h++)
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        Assert.Equal(p[h, i, j], r.Attention[0, h, i, j], 5);
                        Assert.Equal(sc[h, i, j], r.Scores![0, h, i, j], 4);
                        headDiff = Math.Max(headDiff, Math.Abs(p[0, i, j] - p[1, i, j]));
                    }
                    for (int d = 0; d < Dh; d++)
                    {
                        float xv = Emb[e.Ids[i] * D + h * Dh + d];
                        Assert.Equal(xv, r.Query![0, h, i, d]);
                        Assert.Equal(KScale[h * Dh + d] * xv, r.Key![0, h, i, d]);
                        Assert.Equal(xv, r.Value![0, h, i, d]);
                    }
                }
            Assert.True(headDiff > 0.1, $"the heads' reference patterns must differ (max diff {headDiff})");
        }
    }

    /// <summary>
    /// Reference: per-head softmax((x_h · (k_scale_h ⊙ x_h)ᵀ) / 2) over the padded sequence, computed here; batch
    /// of two with different lengths so the batch offset and the crop to n are exercised.
    /// </summary>
    [Fact]
    public void FourDimensionalSoftmaxPutsEachHeadInItsSlot()
    {
        using var src = OnnxAttentionSource.FromBytes(Build(threeD: false), OneThread, "mha4d.onnx");
        Assert.Equal(1, src.LayerCount);
        Assert.True(src.CanCaptureScores);
        Assert.True(src.CanCaptureQkv);
        Assert.True(src.Layers[0].KeyIsTransposed);
        EncodedInput[] batch = [new([3, 1, 4, 1, 5], new int[5], [], []), new([9, 2, 6], new int[3], [], [])];
        Check(batch, src.Run(batch, captureScores: true, captureQkv: true));
    }

    /// <summary>
    /// Reference: as above; the Softmax sees [batch·heads, s, s] (batch-major, as a Reshape of
    /// [batch, heads, s, s] gives), with two sequences so a head-major reading would swap (b0, h1) and (b1, h0).
    /// </summary>
    [Fact]
    public void ThreeDimensionalSoftmaxPutsEachHeadInItsSlot()
    {
        using var src = OnnxAttentionSource.FromBytes(Build(threeD: true), OneThread, "mha3d.onnx");
        Assert.Equal(1, src.LayerCount);
        Assert.Equal("kT3", src.Layers[0].Key);
        EncodedInput[] batch = [new([3, 1, 4, 1, 5], new int[5], [], []), new([9, 2, 6, 5, 3], new int[5], [], [])];
        Check(batch, src.Run(batch, captureScores: true, captureQkv: true));
        // One sequence alone: the same values as inside the batch.
        var single = src.Run([batch[1]], captureScores: true, captureQkv: true);
        Check([batch[1]], single);
    }
}
