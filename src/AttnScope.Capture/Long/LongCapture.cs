using System.Buffers.Binary;
using System.Collections.Concurrent;
using AttnScope.Capture.SafeTensors;

namespace AttnScope.Capture.Long;

/// <summary>
/// A long capture (<c>attnscope.long/1</c>) opened lazily: the file is memory-mapped, the header, metadata and
/// tokens are checked on open, and tensor data is checked when first touched (a pyramid level as a whole, rows
/// value by value as they are read). Serves rectangular tiles of block maxima or means at any power-of-two block
/// size: from the pyramid, or computed from a chosen head's rows.
/// </summary>
internal sealed class LongCapture : IDisposable
{
    /// <summary>Most cells one tile may hold.</summary>
    public const int MaxTileCells = 1 << 20;

    private readonly SafeTensorsFile _file;
    private readonly ConcurrentDictionary<string, float[]> _levels = new(StringComparer.Ordinal);

    /// <summary>Where the capture was read from.</summary>
    public string SourceName => _file.SourceName;
    /// <summary>Stack, sizes, chosen heads, storage and pyramid levels.</summary>
    public LongCaptureLayout Layout { get; }
    /// <summary>The tokens (queries = keys).</summary>
    public IReadOnlyList<CaptureToken> Tokens { get; }
    /// <summary>Model, texts and warnings as recorded.</summary>
    public CaptureMetadata Metadata { get; }

    private LongCapture(SafeTensorsFile file, LongCaptureLayout layout, IReadOnlyList<CaptureToken> tokens, CaptureMetadata metadata)
    {
        _file = file; Layout = layout; Tokens = tokens; Metadata = metadata;
    }

    /// <summary>Whether a file's metadata says it is a long capture (reads the header only).</summary>
    public static bool IsLongCapture(string path)
    {
        using var f = SafeTensorsFile.Open(path);
        return f.Metadata.GetValueOrDefault("format") == LongCaptureLayout.FormatId;
    }

    /// <summary>Maps a long capture and checks its header, metadata, tokens and tensor list (not yet the data).</summary>
    public static LongCapture Open(string path)
    {
        var file = SafeTensorsFile.Open(path);
        try { return FromFile(file); }
        catch { file.Dispose(); throw; }
    }

    /// <summary>As <see cref="Open(string)"/>, from a file already open (the capture takes over the stream).</summary>
    public static LongCapture Open(FileStream stream, string sourceName)
    {
        var file = SafeTensorsFile.Open(stream, sourceName);
        try { return FromFile(file); }
        catch { file.Dispose(); throw; }
    }

    private static LongCapture FromFile(SafeTensorsFile file)
    {
        string src = file.SourceName;
        string Bad(string why) => $"'{src}' is not a valid AttnScope long capture: {why}";
        var meta = file.Metadata;
        var fmt = meta.GetValueOrDefault("format");
        if (fmt != LongCaptureLayout.FormatId)
            throw new AttnScopeException(Bad($"format '{TokenText.Printable(fmt ?? "(none)", 40)}' is not {LongCaptureLayout.FormatId}"));
        if (!meta.TryGetValue("tokens", out var tokJson)) throw new AttnScopeException(Bad("no 'tokens' in its metadata"));
        var tokens = AttentionCapture.ParseTokens(tokJson, "tokens", Bad, LongCaptureLayout.MaxTokens);
        if (tokens.Count < 1) throw new AttnScopeException(Bad("it has no tokens"));
        var layout = LongCaptureLayout.FromMetadata(meta, tokens.Count, Bad);
        var expected = layout.Tensors().ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var e in file.Entries.Values)
        {
            if (!expected.TryGetValue(e.Name, out var want)) throw new AttnScopeException(Bad($"unexpected tensor '{TokenText.Printable(e.Name, 60)}'"));
            if (e.DType != want.DType || !e.Shape.Select(d => (long)d).SequenceEqual(want.Shape))
                throw new AttnScopeException(Bad($"tensor '{e.Name}' is {e.DType} [{string.Join(", ", e.Shape)}], expected {want.DType} [{string.Join(", ", want.Shape)}]"));
        }
        foreach (var name in expected.Keys)
            if (!file.Contains(name)) throw new AttnScopeException(Bad($"tensor '{name}' is missing"));
        var metadata = new CaptureMetadata
        {
            ModelId = meta.GetValueOrDefault("model", ""),
            Architecture = meta.GetValueOrDefault("architecture", ""),
            Source = meta.GetValueOrDefault("source", ""),
            Texts = AttentionCapture.ParseStrings(meta.GetValueOrDefault("texts", "[]"), "texts", Bad),
            Warnings = AttentionCapture.ParseStrings(meta.GetValueOrDefault("warnings", "[]"), "warnings", Bad),
        };
        return new LongCapture(file, layout, tokens, metadata);
    }

    /// <summary>
    /// A tile of <paramref name="rows"/> × <paramref name="cols"/> cells of size <paramref name="block"/> × block
    /// tokens, its first cell at cell coordinates (<paramref name="cellRow"/>, <paramref name="cellCol"/>):
    /// each cell the maximum (or mean) of the probabilities in its block (edge blocks: over the tokens they hold).
    /// Cells past the end are cut off: the result is [min(rows, …), min(cols, …)].
    /// </summary>
    public (float[] Values, int Rows, int Cols) Tile(int layer, int head, bool mean, int block, int cellRow, int cellCol, int rows, int cols)
    {
        var L = Layout;
        if ((uint)layer >= (uint)L.Layers) throw new AttnScopeException($"layer {layer} is out of range (0..{L.Layers - 1})");
        if ((uint)head >= (uint)L.Heads) throw new AttnScopeException($"head {head} is out of range (0..{L.Heads - 1})");
        if (block < 1 || (block & (block - 1)) != 0 || block > 1 << 24) throw new AttnScopeException($"block {block} is not a power of two");
        int side = LongCaptureLayout.Cells(L.Tokens, block);
        if (cellRow < 0 || cellCol < 0 || rows < 1 || cols < 1 || cellRow >= side || cellCol >= side)
            throw new AttnScopeException($"tile at cell ({cellRow}, {cellCol}) of {rows} × {cols} is outside the {side} × {side} grid of block {block}");
        rows = Math.Min(rows, side - cellRow);
        cols = Math.Min(cols, side - cellCol);
        if ((long)rows * cols > MaxTileCells) throw new AttnScopeException($"a tile of {rows} × {cols} cells is larger than {MaxTileCells}");
        if (L.Blocks.Contains(block)) return (FromPyramid(layer, head, mean, block, cellRow, cellCol, rows, cols), rows, cols);
        if (L.HasRows(layer, head)) return (FromRows(layer, head, mean, block, cellRow, cellCol, rows, cols), rows, cols);
        throw new AttnScopeException(L.Blocks.Count == 0
            ? $"layer {layer} head {head} has no rows and the capture has no pyramid"
            : $"layer {layer} head {head} has only pyramid levels (blocks {string.Join(", ", L.Blocks)}), not block {block}");
    }

    /// <summary>The finest block size available for a head: 1 with rows, else the pyramid's base.</summary>
    public int FinestBlock(int layer, int head) => Layout.HasRows(layer, head) ? 1 : Layout.Blocks.Count > 0 ? Layout.Blocks[0] : 0;

    private float[] FromPyramid(int layer, int head, bool mean, int block, int r0, int c0, int rows, int cols)
    {
        var level = Level(Layout.PyramidName(mean ? "mean" : "max", block));
        int side = LongCaptureLayout.Cells(Layout.Tokens, block);
        long baseAt = ((long)layer * Layout.Heads + head) * side * side;
        var result = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            Array.Copy(level, baseAt + (long)(r0 + r) * side + c0, result, (long)r * cols, cols);
        return result;
    }

    /// <summary>A pyramid level decoded and checked (finite, in [0, 1]) the first time it is touched.</summary>
    private float[] Level(string name) => _levels.GetOrAdd(name, n =>
    {
        var e = _file.Entries[n];
        var raw = _file.RawBytes(n);
        var data = new float[e.ElementCount];
        for (int i = 0; i < data.Length; i++)
        {
            float v = (float)BinaryPrimitives.ReadHalfLittleEndian(raw.Slice(i * 2, 2));
            if (!float.IsFinite(v) || v < 0f || v > 1.001f)
                throw new AttnScopeException($"'{SourceName}': {n} holds {v} at element {i}, not a probability");
            data[i] = v;
        }
        return data;
    });

    private static readonly float[] U8Table = Enumerable.Range(0, 256).Select(q => AttentionQuantizer.DecodeU8((byte)q)).ToArray();

    private float[] FromRows(int layer, int head, bool mean, int block, int r0, int c0, int rows, int cols)
    {
        var name = Layout.RowsName(layer, head);
        int m = Layout.Tokens, size = AttentionQuantizer.Size(Layout.Storage);
        var storage = Layout.Storage;
        int k0 = c0 * block, k1 = Math.Min(m, (c0 + cols) * block), width = k1 - k0;
        var row = new float[width];
        var result = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            int q0 = (r0 + r) * block, q1 = Math.Min(m, q0 + block);
            for (int q = q0; q < q1; q++)
            {
                var raw = _file.RawRange(name, ((long)q * m + k0) * size, width * size);
                if (storage == AttentionStorage.U8)
                {
                    // Every byte decodes to a probability in [0, 1]: nothing to check.
                    var table = U8Table;
                    for (int j = 0; j < width; j++) row[j] = table[raw[j]];
                }
                else
                {
                    AttentionQuantizer.Decode(storage, raw, row);
                    for (int j = 0; j < width; j++)
                        if (!float.IsFinite(row[j]) || row[j] < 0f || row[j] > 1.001f)
                            throw new AttnScopeException($"'{SourceName}': {name} holds {row[j]} at query {q}, key {k0 + j}, not a probability");
                }
                int at = r * cols;
                if (block == 1) { row.AsSpan(0, width).CopyTo(result.AsSpan(at, width)); continue; }
                for (int c = 0, j = 0; c < cols; c++, at++)
                {
                    int end = Math.Min(width, j + block);
                    float acc = result[at];
                    if (mean) for (; j < end; j++) acc += row[j];
                    else for (; j < end; j++) if (row[j] > acc) acc = row[j];
                    result[at] = acc;
                }
            }
            if (mean)
                for (int c = 0; c < cols; c++)
                {
                    int kw = Math.Min(m, (c0 + c + 1) * block) - (c0 + c) * block;
                    result[r * cols + c] /= (float)((q1 - q0) * (long)kw);
                }
        }
        return result;
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose() => _file.Dispose();
}
