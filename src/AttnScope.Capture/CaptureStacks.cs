namespace AttnScope.Capture;

/// <summary>Which stack a view shows when none is named.</summary>
internal static class CaptureStacks
{
    /// <summary>The encoder stack when there is one (encoders, translation), else the decoder (decoder LMs), else the first.</summary>
    public static string Default(AttentionCapture capture) =>
        capture.Stacks.ContainsKey(AttentionStack.Encoder) ? AttentionStack.Encoder
        : capture.Stacks.ContainsKey(AttentionStack.Decoder) ? AttentionStack.Decoder
        : capture.Stacks.Keys.First();
}
