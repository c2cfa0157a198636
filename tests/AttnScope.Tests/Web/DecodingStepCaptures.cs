using AttnScope.Capture;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Web;

/// <summary>
/// A capture shaped like a translation capture (<c>attnscope translate</c>): source pieces and an end-of-sentence
/// token, target tokens = the decoder inputs (BOS and the produced pieces), so cross row t is the step that produced
/// target token t+1 and the last row produced the end of sentence. One produced piece looks like markup.
/// </summary>
public static class DecodingStepCaptures
{
    public const string MarkupPiece = "▁<b>schläft</b>";

    public static AttentionCapture Translation()
    {
        var src = new List<CaptureToken>
        {
            new("▁the", 1, 0, 3, Segment.A, false), new("▁dog", 2, 4, 7, Segment.A, false),
            new("▁sleeps", 3, 8, 14, Segment.A, false), new(".", 4, 14, 15, Segment.A, false), new("</s>", 5, -1, -1, Segment.A, true),
        };
        var tgt = new List<CaptureToken>
        {
            new("<s>", 0, -1, -1, Segment.B, true), new("▁der", 6, 0, 3, Segment.B, false), new("▁Hund", 7, 4, 8, Segment.B, false),
            new(MarkupPiece, 8, 9, 16, Segment.B, false), new(".", 4, 16, 17, Segment.B, false),
        };
        var meta = new CaptureMetadata { ModelId = "synthetic-translation", Architecture = "encoder-decoder", Source = "managed" };
        return new AttentionCapture(meta, src,
        [
            new AttentionStack(AttentionStack.Encoder, SyntheticCaptures.RandomAttention(2, 2, 5, seed: 21)),
            new AttentionStack(AttentionStack.Decoder, SyntheticCaptures.RandomAttention(2, 2, 5, seed: 22)),
            new AttentionStack(AttentionStack.Cross, SyntheticCaptures.RandomAttention(2, 2, 5, seed: 23, keys: 5)),
        ], tgt);
    }
}
