using AttnScope.Capture;
using AttnScope.Sources.Transformer;
using AttnScope.Training.Model;
using AttnScope.Training.Text;

namespace AttnScope.Training.Decoding;

/// <summary>The attention stacks of one example, read off a teacher-forced forward pass in inference mode.</summary>
internal sealed record RecordedAttention(FloatTensor Encoder, FloatTensor Decoder, FloatTensor Cross);

internal static class AttentionRecorder
{
    /// <summary>
    /// Encoder [L,H,S,S], decoder [L,H,T,T] and cross [L,H,T,S] attention for source ids (ending in EOS) and
    /// target ids (no BOS/EOS); T = target length + 1 (decoder inputs BOS·target). The core's passes at the
    /// example's own lengths.
    /// </summary>
    public static RecordedAttention Record(Transformer model, int[] sourceIds, int[] targetIds)
    {
        ArgumentNullException.ThrowIfNull(model);
        var encoded = model.EncoderModel.Forward(new ForwardInput { Ids = sourceIds });
        var decoded = model.DecoderModel.Forward(new ForwardInput { Ids = [SubwordVocabulary.BosId, .. targetIds], Memory = encoded.Hidden });
        return new RecordedAttention(encoded.Attention!, decoded.Attention!, decoded.CrossAttention!);
    }

    /// <summary>As <see cref="Record"/> for many examples.</summary>
    public static IReadOnlyList<RecordedAttention> RecordBatch(Transformer model, IReadOnlyList<EncodedPair> examples) =>
        examples.Select(e => Record(model, e.Source, e.Target)).ToList();
}
