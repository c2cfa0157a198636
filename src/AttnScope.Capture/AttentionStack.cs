namespace AttnScope.Capture;

/// <summary>
/// The attention of one stack (<c>encoder</c>, <c>decoder</c> or <c>cross</c>): post-softmax probabilities
/// [layers, heads, queries, keys], and optionally query/key/value [layers, heads, tokens, head_dim] and
/// pre-softmax scaled scores [layers, heads, queries, keys] (before masking).
/// </summary>
public sealed class AttentionStack
{
    /// <summary>The name of an encoder's self-attention stack (queries and keys are the capture's tokens).</summary>
    public const string Encoder = "encoder";
    /// <summary>The name of a decoder's (causal) self-attention stack.</summary>
    public const string Decoder = "decoder";
    /// <summary>The name of an encoder-decoder model's cross-attention stack (decoder queries, encoder keys).</summary>
    public const string Cross = "cross";
    /// <summary>Every stack name, in file order.</summary>
    public static readonly string[] Names = [Encoder, Decoder, Cross];

    /// <summary>Optional tensors a stack may carry besides attention, by their file suffix.</summary>
    public static readonly string[] OptionalParts = ["query", "key", "value", "scores"];

    /// <summary>The stack's name: <see cref="Encoder"/>, <see cref="Decoder"/> or <see cref="Cross"/>.</summary>
    public string Name { get; }
    /// <summary>Post-softmax attention [layers, heads, queries, keys]; each row sums to 1.</summary>
    public FloatTensor Attention { get; }
    /// <summary>Queries [layers, heads, queries, head_dim], when recorded; else null.</summary>
    public FloatTensor? Query { get; init; }
    /// <summary>Keys [layers, heads, keys, head_dim], when recorded; else null.</summary>
    public FloatTensor? Key { get; init; }
    /// <summary>Values [layers, heads, keys, head_dim], when recorded; else null.</summary>
    public FloatTensor? Value { get; init; }
    /// <summary>Pre-softmax scaled scores [layers, heads, queries, keys] (before masking), when recorded; else null.</summary>
    public FloatTensor? Scores { get; init; }

    /// <summary>A stack holding <paramref name="attention"/>; set the optional parts with an object initializer.</summary>
    /// <param name="name"><see cref="Encoder"/>, <see cref="Decoder"/> or <see cref="Cross"/>.</param>
    /// <param name="attention">[layers, heads, queries, keys] probabilities.</param>
    /// <exception cref="AttnScopeException">An unknown name, or a tensor that is not 4-dimensional.</exception>
    public AttentionStack(string name, FloatTensor attention)
    {
        if (Array.IndexOf(Names, name) < 0)
            throw new AttnScopeException($"unknown attention stack '{name}' (expected one of: {string.Join(", ", Names)})");
        if (attention.Rank != 4)
            throw new AttnScopeException($"{name}.attention must have 4 dimensions [layers, heads, queries, keys], got {attention.ShapeText}");
        Name = name;
        Attention = attention;
    }

    /// <summary>The number of layers.</summary>
    public int Layers => Attention.Shape[0];
    /// <summary>The number of heads per layer.</summary>
    public int Heads => Attention.Shape[1];
    /// <summary>The number of query tokens.</summary>
    public int Queries => Attention.Shape[2];
    /// <summary>The number of key tokens.</summary>
    public int Keys => Attention.Shape[3];

    /// <summary>The tensor of that part (<c>attention</c> or one of <see cref="OptionalParts"/>), or null when absent or unknown.</summary>
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
