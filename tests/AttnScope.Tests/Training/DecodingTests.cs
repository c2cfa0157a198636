using AttnScope.Sources.Transformer;
using AttnScope.Training.Decoding;
using AttnScope.Training.Model;

namespace AttnScope.Tests.Training;

public class DecodingTests
{
    private static float[] TeacherForcedLogits(Transformer model, int[] source, int[] prefix)
    {
        var batch = Batch.Of([new EncodedPair(source, prefix)], 2, 3);
        var random = new FastRandom(0);
        return (float[])model.ForwardLogits(batch, ref random, training: false).Clone();
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f + 1e-4f * Math.Abs(expected[i]),
                $"{what}[{i}]: uncached {expected[i]}, cached {actual[i]}");
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void CachedStepsGiveTheTeacherForcedLogits(bool preNorm, bool shared)
    {
        var model = TransformerGradientTests.Tiny(preNorm, shared, learned: !shared, dropout: 0.3f);
        int[] source = [5, 6, 7, 8, 3];
        int[] target = [9, 4, 10, 6];
        var full = TeacherForcedLogits(model, source, target);
        int v = model.Config.VocabSize;
        var decoder = new IncrementalDecoder(model.EncoderModel, model.DecoderModel, source, capacity: 1, maxSteps: 10);
        int[] inputs = [2, .. target];
        for (int t = 0; t < inputs.Length; t++)
        {
            var logits = decoder.Step([inputs[t]]);
            AssertClose(full.AsSpan(t * v, v), logits, $"step {t}");
        }
    }

    [Fact]
    public void ReorderedCachesFollowTheirHypotheses()
    {
        var model = TransformerGradientTests.Tiny();
        int[] source = [4, 9, 3];
        int v = model.Config.VocabSize;
        var decoder = new IncrementalDecoder(model.EncoderModel, model.DecoderModel, source, capacity: 3, maxSteps: 10);
        decoder.Step([2]);
        decoder.Reorder([0, 0, 0]);
        decoder.Step([5, 6, 7]);           // three hypotheses: 5, 6, 7
        decoder.Reorder([2, 0]);           // keep "7" and "5"
        var logits = decoder.Step([8, 10]).ToArray(); // 7 8 and 5 10
        AssertClose(TeacherForcedLogits(model, source, [7, 8]).AsSpan(2 * v, v), logits.AsSpan(0, v), "7 8");
        AssertClose(TeacherForcedLogits(model, source, [5, 10]).AsSpan(2 * v, v), logits.AsSpan(v, v), "5 10");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void BeamOfOneIsGreedy(int seed)
    {
        var model = TransformerGradientTests.Tiny();
        model.Initialize(seed);
        int[] source = [5, 6, 7, 8, 3];
        var greedy = Search.Greedy(model, source, 2, 3, maxSteps: 12);
        var beam = Search.Beam(model, source, 2, 3, maxSteps: 12, beam: 1);
        Assert.Equal(greedy.Ids, beam.Ids);
        Assert.Equal(greedy.Finished, beam.Finished);
        Assert.True(Math.Abs(greedy.LogProbability - beam.LogProbability) < 1e-4, $"{greedy.LogProbability} vs {beam.LogProbability}");
    }

    [Fact]
    public void WiderBeamNeverScoresWorseThanGreedy()
    {
        var model = TransformerGradientTests.Tiny();
        int[] source = [5, 6, 7, 8, 3];
        var greedy = Search.Greedy(model, source, 2, 3, maxSteps: 6);
        var beam = Search.Beam(model, source, 2, 3, maxSteps: 6, beam: 4);
        double Norm(Hypothesis h) => h.LogProbability / Math.Pow(h.Ids.Length + 1, Search.LengthPenalty);
        if (greedy.Finished) Assert.True(Norm(beam) >= Norm(greedy) - 1e-6);
        Assert.All(beam.Ids, id => Assert.InRange(id, 0, model.Config.VocabSize - 1));
    }

    [Fact]
    public void RecordedAttentionHasCaptureShapesRowSumsAndCausality()
    {
        var model = TransformerGradientTests.Tiny();
        var rec = AttentionRecorder.RecordBatch(model,
            [new EncodedPair([5, 6, 7, 3], [8, 9]), new EncodedPair([4, 3], [6, 5, 7, 8, 10])]);
        var a = rec[1];
        Assert.Equal(new[] { 2, 2, 2, 2 }, a.Encoder.Shape);
        Assert.Equal(new[] { 2, 2, 6, 6 }, a.Decoder.Shape);
        Assert.Equal(new[] { 2, 2, 6, 2 }, a.Cross.Shape);
        Assert.Equal(new[] { 2, 2, 3, 4 }, rec[0].Cross.Shape);
        foreach (var r in rec)
            foreach (var t in new[] { r.Encoder, r.Decoder, r.Cross })
            {
                int k = t.Shape[3];
                for (int row = 0; row < t.Data.Length / k; row++)
                    Assert.Equal(1.0, t.Data.AsSpan(row * k, k).ToArray().Sum(), 4);
            }
        for (int i = 0; i < 6; i++)
            for (int j = i + 1; j < 6; j++) Assert.Equal(0f, a.Decoder[1, 1, i, j]);
        // the short example's decoder rows equal a forward pass of that example alone (padding changes nothing)
        var alone = AttentionRecorder.Record(model, [5, 6, 7, 3], [8, 9]);
        for (int i = 0; i < alone.Cross.Data.Length; i++) Assert.Equal(alone.Cross.Data[i], rec[0].Cross.Data[i], 5);
    }
}
