using AttnScope.Capture;

namespace AttnScope.Sources.Tokenization;

/// <summary>
/// One tokenized input, ready for a model: token ids, token type ids (0 = segment A, 1 = segment B), and the
/// tokens with their character offsets. <see cref="Warnings"/> holds e.g. the truncation notice.
/// </summary>
internal sealed record EncodedInput(int[] Ids, int[] TypeIds, IReadOnlyList<CaptureToken> Tokens, IReadOnlyList<string> Warnings)
{
    public int Length => Ids.Length;
}
