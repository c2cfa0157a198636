using AttnScope.Capture;
using AttnScope.Capture.Long;

namespace AttnScope.Sources.Long;

/// <summary>What a long capture keeps: storage of the rows, which layers and heads keep rows, and whether to build a pyramid.</summary>
internal sealed record LongCaptureOptions
{
    /// <summary>Storage of the chosen heads' rows.</summary>
    public AttentionStorage Storage { get; init; } = AttentionStorage.F32;
    /// <summary>Layers whose heads keep rows (null: all).</summary>
    public IReadOnlyList<int>? Layers { get; init; }
    /// <summary>Heads (in every chosen layer) that keep rows (null: all).</summary>
    public IReadOnlyList<int>? Heads { get; init; }
    /// <summary>No rows at all, pyramid only.</summary>
    public bool NoRows { get; init; }
    /// <summary>Block maxima and means of every head.</summary>
    public bool Pyramid { get; init; }

    /// <summary>The layout of a capture of <paramref name="tokens"/> tokens of a model with these layers and heads.</summary>
    public LongCaptureLayout Layout(string stack, int layers, int heads, int tokens)
    {
        if (tokens > LongCaptureLayout.MaxTokens)
            throw new AttnScopeException($"{tokens} tokens are more than the {LongCaptureLayout.MaxTokens} a long capture holds");
        var ls = Check(Layers, layers, "layer") ?? Enumerable.Range(0, layers).ToList();
        var hs = Check(Heads, heads, "head") ?? Enumerable.Range(0, heads).ToList();
        var chosen = NoRows ? [] : ls.SelectMany(l => hs.Select(h => (l, h))).ToList();
        if (chosen.Count == 0 && !Pyramid) throw new AttnScopeException("a long capture needs chosen heads or --pyramid");
        return new LongCaptureLayout
        {
            Stack = stack, Layers = layers, Heads = heads, Tokens = tokens, Storage = Storage, Chosen = chosen,
            Blocks = Pyramid ? LongCaptureLayout.PyramidBlocks(tokens) : [],
        };
    }

    private static List<int>? Check(IReadOnlyList<int>? list, int count, string what)
    {
        if (list is null) return null;
        foreach (var x in list)
            if ((uint)x >= (uint)count) throw new AttnScopeException($"{what} {x} is out of range: the model has {count} {what}s (0..{count - 1})");
        if (list.Distinct().Count() != list.Count) throw new AttnScopeException($"a {what} is listed twice");
        return list.ToList();
    }

    /// <summary>Parses a comma-separated list of indices (<c>0,3</c>).</summary>
    public static List<int>? ParseList(string? text, string option)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var list = new List<int>();
        foreach (var part in text.Split(','))
            list.Add(int.TryParse(part.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) && v < 100_000 ? v
                : throw new AttnScopeException($"{option}: '{TokenText.Printable(part, 20)}' is not an index (expected e.g. 0,3)"));
        return list;
    }
}
