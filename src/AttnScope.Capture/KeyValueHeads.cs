using System.Globalization;

namespace AttnScope.Capture;

/// <summary>
/// Grouped-query (and multi-query) attention: when a capture's metadata has <c>kv_heads</c> fewer than a stack's
/// heads, query head h reads key/value head h / (heads / kv_heads). Views name such a head "head 5 (kv 2)".
/// </summary>
internal static class KeyValueHeads
{
    public const string MetadataKey = "kv_heads";

    /// <summary>
    /// The number of key/value heads the heads of <paramref name="stack"/> share, or null when every head has its own
    /// (no <c>kv_heads</c>, or as many as the heads). A value that is not a whole number dividing the heads is a user error.
    /// </summary>
    public static int? Of(AttentionCapture capture, string stack) => Of(capture.Metadata, capture.Stack(stack).Heads, stack);

    /// <summary>The same for a stack of <paramref name="heads"/> heads.</summary>
    public static int? Of(CaptureMetadata metadata, int heads, string stack = AttentionStack.Decoder)
    {
        if (!metadata.Extra.TryGetValue(MetadataKey, out var text)) return null;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var kv) || kv < 1)
            throw new AttnScopeException($"metadata {MetadataKey} is '{TokenText.Printable(text, 40)}', expected a whole number of key/value heads");
        if (kv >= heads) return null;
        if (heads % kv != 0)
            throw new AttnScopeException($"metadata {MetadataKey} is {kv}, which does not divide the {heads} heads of the {stack} stack");
        return kv;
    }

    /// <summary>The key/value head query head <paramref name="head"/> reads.</summary>
    public static int KvHead(int head, int heads, int kvHeads) => head / (heads / kvHeads);

    /// <summary>"head 5", or "head 5 (kv 2)" when heads share key/value heads.</summary>
    public static string HeadName(int head, int heads, int? kvHeads) =>
        kvHeads is { } kv ? $"head {head} (kv {KvHead(head, heads, kv)})" : $"head {head}";

    /// <summary>A note for figures of many heads: "grouped-query: 8 heads share 2 kv heads (kv = head ÷ 4)", or null.</summary>
    public static string? Note(int heads, int? kvHeads) =>
        kvHeads is { } kv ? $"grouped-query: {heads} heads share {kv} kv head{(kv == 1 ? "" : "s")} (kv = head ÷ {heads / kv})" : null;
}
