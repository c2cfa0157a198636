using System.Globalization;
using System.Text.Json;

namespace AttnScope.Capture.Long;

/// <summary>
/// The shape of a long capture (<c>attnscope.long/1</c>, docs/capture-format.md): which heads keep full rows and in
/// what storage, and the block sizes of the pyramid. Writer and reader both derive every tensor name, dtype and
/// shape from it.
/// </summary>
internal sealed record LongCaptureLayout
{
    /// <summary>The format id in the metadata.</summary>
    public const string FormatId = "attnscope.long/1";
    /// <summary>Most tokens a long capture may have (its rows are tokens² values per chosen head; 131,072 tokens
    /// are 16 GiB of u8 rows per head).</summary>
    public const int MaxTokens = 131_072;
    /// <summary>Coarsest pyramid grid side: levels stop at the first block size whose grid is at most this.</summary>
    public const int CoarsestSide = 64;
    /// <summary>Finest pyramid grid side: the base block is the smallest power of two (≥ 2) whose grid is at most this.</summary>
    public const int FinestSide = 1024;

    /// <summary><c>encoder</c> or <c>decoder</c>: queries and keys are the same tokens.</summary>
    public required string Stack { get; init; }
    /// <summary>Layers and heads of the model (the pyramid covers all of them).</summary>
    public required int Layers { get; init; }
    /// <summary>Heads per layer.</summary>
    public required int Heads { get; init; }
    /// <summary>Tokens (queries = keys).</summary>
    public required int Tokens { get; init; }
    /// <summary>Storage of the full rows.</summary>
    public required AttentionStorage Storage { get; init; }
    /// <summary>(layer, head) pairs with full rows, in file order.</summary>
    public required IReadOnlyList<(int Layer, int Head)> Chosen { get; init; }
    /// <summary>Pyramid block sizes, finest first; empty for no pyramid.</summary>
    public required IReadOnlyList<int> Blocks { get; init; }

    /// <summary>The block sizes a pyramid over <paramref name="tokens"/> tokens has (powers of two, finest first).</summary>
    public static int[] PyramidBlocks(int tokens)
    {
        int b = 2;
        while (Cells(tokens, b) > FinestSide) b *= 2;
        var list = new List<int> { b };
        while (Cells(tokens, b) > CoarsestSide) { b *= 2; list.Add(b); }
        return list.ToArray();
    }

    /// <summary>Grid side of block size <paramref name="block"/>: ⌈tokens / block⌉.</summary>
    public static int Cells(int tokens, int block) => (tokens + block - 1) / block;

    /// <summary>Name of a chosen head's rows tensor.</summary>
    public string RowsName(int layer, int head) => $"{Stack}.rows.l{layer}.h{head}";

    /// <summary>Name of a pyramid level tensor (<paramref name="stat"/> = <c>max</c> or <c>mean</c>).</summary>
    public string PyramidName(string stat, int block) => $"{Stack}.pyramid.{stat}.b{block}";

    /// <summary>Whether (layer, head) keeps full rows.</summary>
    public bool HasRows(int layer, int head) => Chosen.Contains((layer, head));

    /// <summary>Every tensor: name, dtype, shape, byte count, in file order (rows first, then pyramid levels).</summary>
    public IEnumerable<(string Name, string DType, long[] Shape, long Bytes)> Tensors()
    {
        foreach (var (l, h) in Chosen)
            yield return (RowsName(l, h), AttentionQuantizer.DType(Storage), [Tokens, Tokens], (long)Tokens * Tokens * AttentionQuantizer.Size(Storage));
        foreach (var b in Blocks)
        {
            long g = Cells(Tokens, b);
            foreach (var stat in new[] { "max", "mean" })
                yield return (PyramidName(stat, b), "F16", [Layers, Heads, g, g], (long)Layers * Heads * g * g * 2);
        }
    }

    /// <summary>The metadata entries that describe the layout.</summary>
    public Dictionary<string, string> Metadata() => new(StringComparer.Ordinal)
    {
        ["format"] = FormatId,
        ["long.stack"] = Stack,
        ["long.layers"] = Layers.ToString(CultureInfo.InvariantCulture),
        ["long.heads"] = Heads.ToString(CultureInfo.InvariantCulture),
        ["long.storage"] = AttentionQuantizer.Name(Storage),
        ["long.chosen"] = JsonSerializer.Serialize(Chosen.Select(c => new[] { c.Layer, c.Head })),
        ["long.pyramid_blocks"] = JsonSerializer.Serialize(Blocks),
    };

    /// <summary>Reads and checks the layout entries of a long capture's metadata.</summary>
    public static LongCaptureLayout FromMetadata(IReadOnlyDictionary<string, string> meta, int tokens, Func<string, string> bad)
    {
        string Get(string key) => meta.TryGetValue(key, out var v) ? v : throw new AttnScopeException(bad($"no '{key}' in its metadata"));
        int Int(string key, int max)
        {
            var s = Get(key);
            return int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= 1 && v <= max ? v
                : throw new AttnScopeException(bad($"metadata '{key}' = '{TokenText.Printable(s, 20)}' is not a count from 1 to {max}"));
        }
        var stack = Get("long.stack");
        if (stack != AttentionStack.Encoder && stack != AttentionStack.Decoder)
            throw new AttnScopeException(bad($"long.stack '{TokenText.Printable(stack, 20)}' is not encoder or decoder"));
        int layers = Int("long.layers", 1024), heads = Int("long.heads", 1024);
        AttentionStorage storage;
        try { storage = AttentionQuantizer.Parse(Get("long.storage")); }
        catch (AttnScopeException e) { throw new AttnScopeException(bad(e.Message)); }
        int[][] chosen;
        int[] blocks;
        try
        {
            chosen = JsonSerializer.Deserialize<int[][]>(Get("long.chosen")) ?? throw new JsonException("null");
            blocks = JsonSerializer.Deserialize<int[]>(Get("long.pyramid_blocks")) ?? throw new JsonException("null");
        }
        catch (JsonException e) { throw new AttnScopeException(bad($"long.chosen or long.pyramid_blocks is not valid ({e.Message})")); }
        var pairs = new List<(int, int)>();
        foreach (var c in chosen)
        {
            if (c is null || c.Length != 2 || (uint)c[0] >= (uint)layers || (uint)c[1] >= (uint)heads)
                throw new AttnScopeException(bad($"long.chosen holds a pair outside {layers} layers × {heads} heads"));
            if (pairs.Contains((c[0], c[1]))) throw new AttnScopeException(bad($"long.chosen lists layer {c[0]} head {c[1]} twice"));
            pairs.Add((c[0], c[1]));
        }
        if (blocks.Length > 0 && !blocks.SequenceEqual(PyramidBlocks(tokens)))
            throw new AttnScopeException(bad($"long.pyramid_blocks {JsonSerializer.Serialize(blocks)} are not the levels of {tokens} tokens ({JsonSerializer.Serialize(PyramidBlocks(tokens))})"));
        if (pairs.Count == 0 && blocks.Length == 0) throw new AttnScopeException(bad("it has neither chosen heads nor a pyramid"));
        return new LongCaptureLayout { Stack = stack, Layers = layers, Heads = heads, Tokens = tokens, Storage = storage, Chosen = pairs, Blocks = blocks };
    }
}
