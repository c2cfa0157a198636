using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace AttnScope.Capture.SafeTensors;

/// <summary>
/// Reads a safetensors file (8-byte little-endian header length, a JSON header, then raw tensor bytes) and
/// validates it completely before any tensor is used: header size, JSON shape, dtypes, shapes, offsets inside
/// the data section, no overlap, and the data section fully covered.
/// </summary>
public sealed class SafeTensorsFile
{
    /// <summary>Headers larger than this are refused (the format's own reference implementation uses 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly byte[] _bytes;
    private readonly long _dataStart;

    public string SourceName { get; }
    public IReadOnlyDictionary<string, SafeTensorsEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafeTensorsFile(string sourceName, byte[] bytes, long dataStart,
        Dictionary<string, SafeTensorsEntry> entries, Dictionary<string, string> metadata)
    {
        SourceName = sourceName;
        _bytes = bytes;
        _dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new AttnScopeException($"file not found: '{path}'");
        var len = new FileInfo(path).Length;
        if (len > Array.MaxLength)
            throw new AttnScopeException($"'{path}' is {len} bytes, larger than AttnScope can load in one piece");
        return Parse(File.ReadAllBytes(path), path);
    }

    public static SafeTensorsFile Parse(byte[] bytes, string sourceName = "<memory>")
    {
        string Bad(string why) => $"'{sourceName}' is not a valid safetensors file: {why}";
        if (bytes.Length < 8) throw new AttnScopeException(Bad($"only {bytes.Length} bytes, shorter than the 8-byte header length"));
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLen > MaxHeaderBytes) throw new AttnScopeException(Bad($"header length {headerLen} exceeds the {MaxHeaderBytes}-byte limit"));
        if ((long)headerLen > bytes.Length - 8)
            throw new AttnScopeException(Bad($"header length {headerLen} runs past the end of the file ({bytes.Length} bytes)"));
        long dataStart = 8 + (long)headerLen;
        long dataLen = bytes.Length - dataStart;

        // JsonDocument checks UTF-8 only when a string is read; a header with invalid bytes is refused here, as a whole.
        if (!System.Text.Unicode.Utf8.IsValid(bytes.AsSpan(8, (int)headerLen)))
            throw new AttnScopeException(Bad("header is not valid UTF-8 text"));
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLen), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new AttnScopeException(Bad($"header is not valid JSON ({e.Message})"));
        }
        using (doc)
        {
            try { return FromHeader(doc, bytes, sourceName, dataStart, dataLen, Bad); }
            catch (InvalidOperationException e)
            {
                // A name or string holding an escaped lone surrogate ("\ud800") is valid JSON but no valid text.
                throw new AttnScopeException(Bad($"header holds text that is not valid ({e.Message})"));
            }
        }
    }

    private static SafeTensorsFile FromHeader(JsonDocument doc, byte[] bytes, string sourceName, long dataStart, long dataLen, Func<string, string> bad)
    {
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new AttnScopeException(bad("header is not a JSON object"));
        var entries = new Dictionary<string, SafeTensorsEntry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                if (prop.Value.ValueKind != JsonValueKind.Object) throw new AttnScopeException(bad("__metadata__ is not an object"));
                foreach (var m in prop.Value.EnumerateObject())
                {
                    if (m.Value.ValueKind != JsonValueKind.String) throw new AttnScopeException(bad($"__metadata__ value '{m.Name}' is not a string"));
                    metadata[m.Name] = m.Value.GetString()!;
                }
                continue;
            }
            entries[prop.Name] = ParseEntry(prop, dataLen, bad);
        }

        // Offsets must tile the data section without overlap.
        var sorted = entries.Values.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long cursor = 0;
        foreach (var e in sorted)
        {
            if (e.Begin < cursor) throw new AttnScopeException(bad($"tensor '{e.Name}' overlaps another tensor"));
            cursor = e.End;
        }
        return new SafeTensorsFile(sourceName, bytes, dataStart, entries, metadata);
    }

    private static SafeTensorsEntry ParseEntry(JsonProperty prop, long dataLen, Func<string, string> bad)
    {
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw new AttnScopeException(bad($"entry '{prop.Name}' is not an object"));
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new AttnScopeException(bad($"tensor '{prop.Name}' has no dtype"));
        var dtype = dt.GetString()!;
        int esize = SafeTensorsEntry.ElementSize(dtype);
        if (esize < 0) throw new AttnScopeException(bad($"tensor '{prop.Name}' has unknown dtype '{dtype}'"));
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new AttnScopeException(bad($"tensor '{prop.Name}' has no shape"));
        var shape = new List<int>();
        long count = 1;
        bool zero = false, tooBig = false;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var dim) || dim < 0 || dim > int.MaxValue)
                throw new AttnScopeException(bad($"tensor '{prop.Name}' has an invalid dimension in its shape"));
            shape.Add((int)dim);
            // Never overflow: a count beyond the data size can only fail the byte check below.
            if (dim == 0) zero = true;
            else if (!tooBig && count > dataLen / dim) tooBig = true;
            else if (!tooBig) count *= dim;
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new AttnScopeException(bad($"tensor '{prop.Name}' has no data_offsets pair"));
        if (!off[0].TryGetInt64(out var b) || !off[1].TryGetInt64(out var e) || b < 0 || e < b)
            throw new AttnScopeException(bad($"tensor '{prop.Name}' has invalid data_offsets"));
        if (e > dataLen)
            throw new AttnScopeException(bad($"tensor '{prop.Name}' data_offsets [{b}, {e}] run past the end of the data ({dataLen} bytes)"));
        if (zero) count = 0;
        if ((tooBig && !zero) || count * esize != e - b)
            throw new AttnScopeException(bad($"tensor '{prop.Name}' shape [{string.Join(", ", shape)}] × {dtype} does not match its {e - b} data bytes"));
        return new SafeTensorsEntry(prop.Name, dtype, shape.ToArray(), b, e);
    }

    public bool Contains(string name) => Entries.ContainsKey(name);

    public ReadOnlySpan<byte> RawBytes(string name)
    {
        var e = Get(name);
        return _bytes.AsSpan((int)(_dataStart + e.Begin), (int)(e.End - e.Begin));
    }

    private SafeTensorsEntry Get(string name) =>
        Entries.TryGetValue(name, out var e) ? e : throw new AttnScopeException($"'{SourceName}' has no tensor named '{name}'");

    /// <summary>Reads a floating-point tensor (F32, F16, BF16 or F64) converted to float32.</summary>
    public FloatTensor ReadFloat(string name)
    {
        var e = Get(name);
        var raw = RawBytes(name);
        var n = (int)e.ElementCount;
        var data = new float[n];
        switch (e.DType)
        {
            case "F32":
                for (int i = 0; i < n; i++) data[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * 4, 4));
                break;
            case "F16":
                for (int i = 0; i < n; i++) data[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(raw.Slice(i * 2, 2));
                break;
            case "BF16":
                for (int i = 0; i < n; i++)
                    data[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw.Slice(i * 2, 2)) << 16);
                break;
            case "F64":
                for (int i = 0; i < n; i++) data[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw.Slice(i * 8, 8));
                break;
            default:
                throw new AttnScopeException($"tensor '{name}' in '{SourceName}' has dtype {e.DType}, expected a floating-point dtype (F32, F16, BF16)");
        }
        return new FloatTensor(e.Shape, data);
    }

    /// <summary>Writes float32 tensors and string metadata as a safetensors file, atomically.</summary>
    public static void Write(string path, IEnumerable<(string Name, FloatTensor Tensor)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var bytes = Serialize(tensors, metadata);
        Io.AtomicFile.WriteAllBytes(path, bytes);
    }

    public static byte[] Serialize(IEnumerable<(string Name, FloatTensor Tensor)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var list = tensors.ToList();
        using var headerStream = new MemoryStream();
        using (var w = new Utf8JsonWriter(headerStream))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            foreach (var kv in metadata) w.WriteString(kv.Key, kv.Value);
            w.WriteEndObject();
            long offset = 0;
            foreach (var (name, t) in list)
            {
                w.WriteStartObject(name);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (var d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += t.Length * 4;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        var header = headerStream.ToArray();
        // Pad the header with spaces so the data section starts 8-byte aligned (allowed by the format).
        int pad = (8 - header.Length % 8) % 8;
        long total = 8 + header.Length + pad + list.Sum(t => t.Tensor.Length * 4);
        if (total > Array.MaxLength) throw new AttnScopeException($"capture too large to write ({total} bytes)");
        var result = new byte[total];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)(header.Length + pad));
        header.CopyTo(result, 8);
        for (int i = 0; i < pad; i++) result[8 + header.Length + i] = (byte)' ';
        long pos = 8 + header.Length + pad;
        foreach (var (_, t) in list)
        {
            var dst = result.AsSpan((int)pos, (int)(t.Length * 4));
            if (BitConverter.IsLittleEndian)
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Data.AsSpan()).CopyTo(dst);
            else
                for (int i = 0; i < t.Data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(dst.Slice(i * 4, 4), t.Data[i]);
            pos += t.Length * 4;
        }
        return result;
    }
}
