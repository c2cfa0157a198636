using AttnScope.Sources.Onnx;
using Xunit;

namespace AttnScope.Tests.Onnx;

[Collection("minilm-onnx")]
public class OnnxAttentionSourceTests(MiniLmOnnxFixture fx)
{
    private static readonly int[] HelloWorld = [101, 7592, 2088, 102];
    private static readonly int[] Longer = [101, 1996, 4937, 2938, 2006, 1996, 13523, 1012, 102];

    [Fact]
    public void FindsSixSoftmaxLayersInOrder()
    {
        var names = fx.Source.Layers.Select(l => l.SoftmaxNode).ToList();
        Assert.Equal(["Softmax_83", "Softmax_185", "Softmax_287", "Softmax_389", "Softmax_491", "Softmax_593"], names);
        Assert.Equal(["input_ids", "attention_mask", "token_type_ids"], fx.Source.InputNames);
        Assert.Equal("last_hidden_state", fx.Source.HiddenOutputName);
    }

    [Fact]
    public void AttentionRowsSumToOneWithShape()
    {
        var r = fx.Source.Run([MiniLmOnnxFixture.Input(HelloWorld)])[0];
        Assert.Equal([6, 12, 4, 4], r.Attention.Shape);
        Assert.Equal([4, 384], r.LastHidden.Shape);
        Assert.Null(r.Query);
        Assert.Null(r.Scores);
        for (int l = 0; l < 6; l++)
            for (int h = 0; h < 12; h++)
                for (int i = 0; i < 4; i++)
                {
                    double sum = 0;
                    for (int j = 0; j < 4; j++) { Assert.InRange(r.Attention[l, h, i, j], 0f, 1f); sum += r.Attention[l, h, i, j]; }
                    Assert.Equal(1.0, sum, 5);
                }
    }

    [Fact]
    public void LastHiddenEqualsPlainOrtRun()
    {
        var r = fx.Source.Run([MiniLmOnnxFixture.Input(Longer)])[0];
        var plain = MiniLmOnnxFixture.RunPlain(File.ReadAllBytes(fx.OnnxPath), Longer, "last_hidden_state")["last_hidden_state"];
        Assert.Equal([1L, Longer.Length, 384L], plain.Shape);
        double maxErr = r.LastHidden.Data.Zip(plain.Data).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxErr < 1e-4, $"max error {maxErr}");
    }

    [Fact]
    public void PaddedBatchEqualsSingleRuns()
    {
        var batch = fx.Source.Run([MiniLmOnnxFixture.Input(HelloWorld), MiniLmOnnxFixture.Input(Longer), MiniLmOnnxFixture.Input(101, 102)]);
        Assert.Equal(3, batch.Count);
        foreach (var (ids, got) in new[] { HelloWorld, Longer, [101, 102] }.Zip(batch))
        {
            var alone = fx.Source.Run([MiniLmOnnxFixture.Input(ids)])[0];
            Assert.Equal(alone.Attention.Shape, got.Attention.Shape);
            Assert.Equal([6, 12, ids.Length, ids.Length], got.Attention.Shape);
            double attErr = alone.Attention.Data.Zip(got.Attention.Data).Max(p => Math.Abs(p.First - p.Second));
            double hidErr = alone.LastHidden.Data.Zip(got.LastHidden.Data).Max(p => Math.Abs(p.First - p.Second));
            Assert.True(attErr < 1e-6, $"attention differs by {attErr} for length {ids.Length}");
            Assert.True(hidErr < 1e-4, $"hidden differs by {hidErr} for length {ids.Length}");
        }
    }

    [Fact]
    public void ScoresAndQkvAreConsistentWithAttention()
    {
        var r = fx.Source.Run([MiniLmOnnxFixture.Input(Longer)], captureScores: true, captureQkv: true)[0];
        int n = Longer.Length;
        Assert.Equal([6, 12, n, 32], r.Query!.Shape);
        Assert.Equal([6, 12, n, 32], r.Key!.Shape);
        Assert.Equal([6, 12, n, 32], r.Value!.Shape);
        Assert.Equal([6, 12, n, n], r.Scores!.Shape);
        double scale = 1 / Math.Sqrt(32);
        double scoreErr = 0, probErr = 0;
        for (int l = 0; l < 6; l++)
            for (int h = 0; h < 12; h++)
                for (int i = 0; i < n; i++)
                {
                    var row = new double[n];
                    for (int j = 0; j < n; j++)
                    {
                        double dot = 0;
                        for (int d = 0; d < 32; d++) dot += r.Query[l, h, i, d] * r.Key[l, h, j, d];
                        row[j] = dot * scale;
                        scoreErr = Math.Max(scoreErr, Math.Abs(row[j] - r.Scores[l, h, i, j]));
                    }
                    double max = row.Max(), sum = row.Sum(v => Math.Exp(v - max));
                    for (int j = 0; j < n; j++) probErr = Math.Max(probErr, Math.Abs(Math.Exp(row[j] - max) / sum - r.Attention[l, h, i, j]));
                }
        Assert.True(scoreErr < 1e-4, $"scores differ from Q·Kᵀ/√d by {scoreErr}");
        Assert.True(probErr < 1e-5, $"attention differs from softmax(scores) by {probErr}");
    }

    [Fact]
    public void BadBatchesAreUserErrors()
    {
        Assert.Empty(fx.Source.Run([]));
        Assert.Throws<AttnScope.Capture.AttnScopeException>(() => fx.Source.Run([MiniLmOnnxFixture.Input()]));
    }

    [Fact]
    public void TruncatedModelIsRejected()
    {
        var bytes = File.ReadAllBytes(fx.OnnxPath);
        foreach (var len in new[] { 1, 10, 100, 5000, bytes.Length / 2, bytes.Length - 1 })
        {
            var msg = Assert.Throws<AttnScope.Capture.AttnScopeException>(() => OnnxModel.Parse(bytes.AsMemory(0, len), "cut.onnx")).Message;
            Assert.Contains("not an ONNX model or is truncated", msg);
        }
    }
}
