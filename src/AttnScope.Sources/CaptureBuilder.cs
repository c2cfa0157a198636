using AttnScope.Capture;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Sources;

/// <summary>Wraps what a source computed for one input into the capture data model.</summary>
internal static class CaptureBuilder
{
    public static AttentionCapture Build(string modelId, string architecture, string source, EncodedInput input,
        SequenceAttention result, string text, string? pair, IReadOnlyDictionary<string, string>? extra = null)
    {
        var stack = new AttentionStack(AttentionStack.Encoder, result.Attention)
        {
            Query = result.Query, Key = result.Key, Value = result.Value, Scores = result.Scores,
        };
        var meta = new CaptureMetadata
        {
            ModelId = modelId,
            Architecture = architecture,
            Source = source,
            Texts = pair is null ? [text] : [text, pair],
            Warnings = input.Warnings,
            Extra = extra ?? new Dictionary<string, string>(),
        };
        return new AttentionCapture(meta, input.Tokens, [stack]);
    }
}
