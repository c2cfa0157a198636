using System.Buffers.Binary;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Capture.Long;

namespace AttnScope.Web.Server;

/// <summary>
/// Long captures (<c>attnscope.long/1</c>) in the server's captures folder, for the map-style long view: opened
/// memory-mapped (header and tokens checked, data checked when a tile touches it) and kept open, a few at a time;
/// tiles of block maxima/means are cut per request. Names follow the rules of <see cref="SavedCaptures"/>: a plain
/// <c>*.safetensors</c> file name whose real path is directly inside the folder.
/// </summary>
internal sealed class LongCaptureFiles
{
    /// <summary>Open captures kept at most; the oldest is dropped (not unmapped: a request may still read it).</summary>
    public const int MaxOpen = 4;
    /// <summary>Most tokens whose text one open answer lists.</summary>
    public const int MaxTokens = 1 << 20;

    private readonly string? _dir, _realDir;
    private readonly List<(string Key, LongCapture Capture)> _open = [];
    private readonly Lock _lock = new();

    /// <param name="dir">The captures folder, or null for none.</param>
    public LongCaptureFiles(string? dir)
    {
        if (dir is null) return;
        _dir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        _realDir = Directory.Exists(_dir) ? RealPath.Of(_dir) : null;
    }

    /// <summary>The long capture of that file name; every refusal is an <see cref="HttpError"/> naming only the file name.</summary>
    public LongCapture Get(string? name)
    {
        if (_dir is null || _realDir is null) throw new HttpError(404, "this server was started without --captures, so it has no saved captures");
        if (string.IsNullOrWhiteSpace(name) || name.Contains('/') || name.Contains('\\') || name.Contains("..")
            || name.Contains('\0') || Path.IsPathRooted(name) || name.Contains(':') || !name.EndsWith(".safetensors", StringComparison.Ordinal))
            throw new HttpError(400, "a long capture is named by its .safetensors file name inside the captures folder; paths are refused");
        var full = Path.Combine(_dir, name);
        var missing = new HttpError(404, $"no saved capture '{name}'");
        FileStream stream;
        try { stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw missing; }
        LongCapture opened;
        try
        {
            // Where the opened file really is (the kernel's answer for this handle; else the name with its links
            // resolved): a capture directly inside the folder, read from this same handle.
            var real = RealPath.OfHandle(stream.SafeFileHandle) ?? RealPath.Of(full);
            if (!string.Equals(Path.GetDirectoryName(real), _realDir, StringComparison.Ordinal) || !real.EndsWith(".safetensors", StringComparison.Ordinal))
                throw missing;
            var key = $"{real}|{File.GetLastWriteTimeUtc(stream.SafeFileHandle).Ticks}|{stream.Length}";
            lock (_lock)
            {
                foreach (var (k, c) in _open)
                    if (k == key) { stream.Dispose(); return c; }
            }
            opened = LongCapture.Open(stream, name);
            stream = null!;
            lock (_lock)
            {
                _open.Add((key, opened));
                if (_open.Count > MaxOpen) _open.RemoveAt(0);
            }
            return opened;
        }
        catch (AttnScopeException e) { throw new HttpError(400, e.Message); }
        finally { stream?.Dispose(); }
    }

    /// <summary>What the long view needs to start: sizes, heads with rows, pyramid blocks, token texts.</summary>
    public static JsonObject Describe(LongCapture c, string name)
    {
        var L = c.Layout;
        var tokens = new JsonArray();
        foreach (var t in c.Tokens.Take(MaxTokens)) tokens.Add(t.Text);
        return new JsonObject
        {
            ["name"] = name,
            ["model"] = c.Metadata.ModelId,
            ["stack"] = L.Stack,
            ["layers"] = L.Layers,
            ["heads"] = L.Heads,
            ["tokens"] = L.Tokens,
            ["storage"] = AttentionQuantizer.Name(L.Storage),
            ["chosen"] = new JsonArray(L.Chosen.Select(p => (JsonNode?)new JsonArray(p.Layer, p.Head)).ToArray()),
            ["blocks"] = new JsonArray(L.Blocks.Select(b => (JsonNode?)b).ToArray()),
            ["texts"] = tokens,
        };
    }

    /// <summary>A tile as bytes: int32 rows, cols, block, first cell row, first cell column, then rows × cols float32 (little-endian).</summary>
    public static byte[] TileBytes(LongCapture c, int layer, int head, bool mean, int block, int row, int col, int rows, int cols)
    {
        var (values, r, k) = c.Tile(layer, head, mean, block, row, col, rows, cols);
        var bytes = new byte[20 + values.Length * 4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, r);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), k);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), block);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), row);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), col);
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(20 + i * 4), values[i]);
        return bytes;
    }

    /// <summary>An integer query parameter, or a 400 naming it.</summary>
    public static int Int(Microsoft.AspNetCore.Http.IQueryCollection q, string key)
    {
        var s = q[key].ToString();
        return int.TryParse(s, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v
            : throw new HttpError(400, $"query parameter '{key}' must be an integer");
    }
}
