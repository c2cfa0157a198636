namespace AttnScope.Capture;

/// <summary>
/// The largest captures AttnScope reads and writes (see docs/limits.md). A capture past any of them is refused with
/// one line before its tensors are used, so a small file declaring a huge shape cannot make a view or a page
/// allocate without bound. The largest published Transformers stay well inside them (126 layers × 128 heads).
/// </summary>
internal static class CaptureLimits
{
    /// <summary>Most tokens on either axis of a stack (queries or keys), and in a token list.</summary>
    public const int MaxTokens = 16_384;

    /// <summary>Most layers in a stack.</summary>
    public const int MaxLayers = 256;

    /// <summary>Most heads per layer in a stack.</summary>
    public const int MaxHeads = 256;

    /// <summary>Most layer × head pairs in a stack (each one is a thumbnail in the model view and the viewer).</summary>
    public const int MaxLayerHeads = 32_768;

    /// <summary>Throws an <see cref="AttnScopeException"/> naming the first limit a stack of this shape exceeds.</summary>
    public static void CheckStack(string name, int layers, int heads, int queries, int keys)
    {
        if (queries < 1 || keys < 1)
            throw new AttnScopeException($"{name}.attention has no tokens ({queries} queries × {keys} keys); a capture needs at least one token");
        if (layers > MaxLayers) throw new AttnScopeException($"{name}.attention has {layers} layers, more than the {MaxLayers} AttnScope reads");
        if (heads > MaxHeads) throw new AttnScopeException($"{name}.attention has {heads} heads per layer, more than the {MaxHeads} AttnScope reads");
        if ((long)layers * heads > MaxLayerHeads)
            throw new AttnScopeException($"{name}.attention has {layers} × {heads} heads in all, more than the {MaxLayerHeads} AttnScope reads");
        if (queries > MaxTokens || keys > MaxTokens)
            throw new AttnScopeException($"{name}.attention has {queries} queries × {keys} keys, more than the {MaxTokens} tokens AttnScope reads");
    }
}
