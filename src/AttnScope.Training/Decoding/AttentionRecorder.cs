using AttnScope.Capture;
using AttnScope.Training.Model;
using AttnScope.Training.Text;

namespace AttnScope.Training.Decoding;

/// <summary>The attention stacks of one example, read off a teacher-forced forward pass in inference mode.</summary>
public sealed record RecordedAttention(FloatTensor Encoder, FloatTensor Decoder, FloatTensor Cross);

public static class AttentionRecorder
{
    /// <summary>
    /// Encoder [L,H,S,S], decoder [L,H,T,T] and cross [L,H,T,S] attention for source ids (ending in EOS) and
    /// target ids (no BOS/EOS); T = target length + 1 (decoder inputs BOS·target).
    /// </summary>
    public static RecordedAttention Record(Transformer model, int[] sourceIds, int[] targetIds) =>
        RecordBatch(model, [new EncodedPair(sourceIds, targetIds)])[0];

    /// <summary>As <see cref="Record"/> for many examples in one batched forward pass.</summary>
    public static IReadOnlyList<RecordedAttention> RecordBatch(Transformer model, IReadOnlyList<EncodedPair> examples)
    {
        var batch = Batch.Of(examples, SubwordVocabulary.BosId, SubwordVocabulary.EosId);
        var random = new FastRandom(0);
        model.ForwardLogits(batch, ref random, training: false);
        var c = model.Config;
        int h = c.Heads, sMax = batch.SourceLength, tMax = batch.TargetLength;
        var result = new List<RecordedAttention>();
        for (int b = 0; b < examples.Count; b++)
        {
            int s = batch.SourceLengths[b], t = batch.TargetLengths[b];
            var enc = new FloatTensor([c.EncoderLayers, h, s, s]);
            var dec = new FloatTensor([c.DecoderLayers, h, t, t]);
            var cross = new FloatTensor([c.DecoderLayers, h, t, s]);
            for (int l = 0; l < c.EncoderLayers; l++)
                Copy(model.Encoder[l].SelfAttention.Probabilities, b, h, sMax, sMax, s, s, enc.Slice(l));
            for (int l = 0; l < c.DecoderLayers; l++)
            {
                Copy(model.Decoder[l].SelfAttention.Probabilities, b, h, tMax, tMax, t, t, dec.Slice(l));
                Copy(model.Decoder[l].CrossAttention.Probabilities, b, h, tMax, sMax, t, s, cross.Slice(l));
            }
            result.Add(new RecordedAttention(enc, dec, cross));
        }
        return result;
    }

    /// <summary>Copies example b's unpadded [heads, q, k] block out of a padded [batch, heads, qMax, kMax] array.</summary>
    private static void Copy(ReadOnlySpan<float> probs, int b, int heads, int qMax, int kMax, int q, int k, Span<float> into)
    {
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < q; i++)
                probs.Slice(((b * heads + h) * qMax + i) * kMax, k).CopyTo(into.Slice((h * q + i) * k, k));
    }
}
