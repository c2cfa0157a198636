namespace AttnScope.Capture;

/// <summary>
/// The attention of one stack (<c>encoder</c>, <c>decoder</c> or <c>cross</c>): post-softmax probabilities
/// [layers, heads, queries, keys], and optionally query/key/value [layers, heads, tokens, head_dim] and
/// pre-softmax scaled scores [layers, heads, queries, keys] (before masking).
/// </summary>
public sealed class AttentionStack
{
    public const string Encoder = "encoder";
    public const string Decoder = "decoder";
    public const string Cross = "cross";
    public static readonly string[] Names = [Encoder, Decoder, Cross];

    /// <summary>Optional tensors a stack may carry besides attention, by their file suffix.</summary>
    public static readonly string[] OptionalParts = ["query", "key", "value", "scores"];

    public string Name { get; }
    public FloatTensor Attention { get; }
    public FloatTensor? Query { get; init; }
    public FloatTensor? Key { get; init; }
    public FloatTensor? Value { get; init; }
    public FloatTensor? Scores { get; init; }

    public AttentionStack(string name, FloatTensor attention)
    {
        if (Array.IndexOf(Names, name) < 0)
            throw new AttnScopeException($"unknown attention stack '{name}' (expected one of: {string.Join(", ", Names)})");
        if (attention.Rank != 4)
            throw new AttnScopeException($"{name}.attention must have 4 dimensions [layers, heads, queries, keys], got {attention.ShapeText}");
        Name = name;
        Attention = attention;
    }

    public int Layers => Attention.Shape[0];
    public int Heads => Attention.Shape[1];
    public int Queries => Attention.Shape[2];
    public int Keys => Attention.Shape[3];

    public FloatTensor? Part(string part) => part switch
    {
        "attention" => Attention,
        "query" => Query,
        "key" => Key,
        "value" => Value,
        "scores" => Scores,
        _ => null,
    };

    /// <summary>One head's queries × keys matrix as a span (row-major).</summary>
    public ReadOnlySpan<float> Head(int layer, int head)
    {
        if ((uint)layer >= (uint)Layers)
            throw new AttnScopeException($"layer {layer} is out of range: {Name} has {Layers} layers (0..{Layers - 1})");
        if ((uint)head >= (uint)Heads)
            throw new AttnScopeException($"head {head} is out of range: {Name} has {Heads} heads (0..{Heads - 1})");
        return Attention.Slice(layer, head);
    }
}
