using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace AttnScope.Capture.SafeTensors;

/// <summary>
/// Reads a safetensors file (8-byte little-endian header length, a JSON header, then raw tensor bytes) and
/// validates its header completely before any tensor is used: header size, JSON shape, dtypes, shapes, offsets
/// inside the data section, no overlap. A file opened by path is memory-mapped: only the header is read up
/// front, and a tensor's bytes are paged in when it is first read.
/// </summary>
internal sealed unsafe class SafeTensorsFile : IDisposable
{
    /// <summary>Headers larger than this are refused (the format's own reference implementation uses 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly byte[]? _bytes;
    private readonly MappedFile? _mapped;
    private readonly long _dataStart;

    /// <summary>The path or name the file was read from (used in messages).</summary>
    public string SourceName { get; }
    /// <summary>Every tensor's header entry by name.</summary>
    public IReadOnlyDictionary<string, SafeTensorsEntry> Entries { get; }
    /// <summary>The <c>__metadata__</c> strings.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafeTensorsFile(string sourceName, byte[]? bytes, MappedFile? mapped, long dataStart,
        Dictionary<string, SafeTensorsEntry> entries, Dictionary<string, string> metadata)
    {
        SourceName = sourceName;
        _bytes = bytes;
        _mapped = mapped;
        _dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>Memory-maps a file and validates its header; tensor bytes are read only when asked for.</summary>
    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new AttnScopeException($"file not found: '{path}'");
        var len = new FileInfo(path).Length;
        if (len < 8) return Parse(File.ReadAllBytes(path), path); // too short to map; Parse says why
        var mapped = MappedFile.Open(path, len);
        try
        {
            return Parse(new ReadOnlySpan<byte>(mapped.Pointer, (int)Math.Min(len, 8 + MaxHeaderBytes)), len, path, null, mapped);
        }
        catch
        {
            mapped.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Memory-maps the file open in <paramref name="stream"/> (read from that handle, whatever its name now names) and
    /// validates its header; the file takes over the stream. <paramref name="sourceName"/> is used in messages.
    /// </summary>
    public static SafeTensorsFile Open(FileStream stream, string sourceName)
    {
        long len = stream.Length;
        if (len < 8)
        {
            var few = new byte[len];
            stream.ReadExactly(few);
            stream.Dispose();
            return Parse(few, sourceName);
        }
        var mapped = MappedFile.Open(stream, sourceName);
        try
        {
            return Parse(new ReadOnlySpan<byte>(mapped.Pointer, (int)Math.Min(len, 8 + MaxHeaderBytes)), len, sourceName, null, mapped);
        }
        catch
        {
            mapped.Dispose();
            throw;
        }
    }

    /// <summary>Validates a whole file held in memory.</summary>
    public static SafeTensorsFile Parse(byte[] bytes, string sourceName = "<memory>") =>
        Parse(bytes, bytes.LongLength, sourceName, bytes, null);

    private static SafeTensorsFile Parse(ReadOnlySpan<byte> bytes, long fileLength, string sourceName, byte[]? whole, MappedFile? mapped)
    {
        string Bad(string why) => $"'{sourceName}' is not a valid safetensors file: {why}";
        if (fileLength < 8) throw new AttnScopeException(Bad($"only {fileLength} bytes, shorter than the 8-byte header length"));
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLen > MaxHeaderBytes) throw new AttnScopeException(Bad($"header length {headerLen} exceeds the {MaxHeaderBytes}-byte limit"));
        if ((long)headerLen > fileLength - 8)
            throw new AttnScopeException(Bad($"header length {headerLen} runs past the end of the file ({fileLength} bytes)"));
        long dataStart = 8 + (long)headerLen;
        long dataLen = fileLength - dataStart;
        var header = bytes.Slice(8, (int)headerLen);

        // JsonDocument checks UTF-8 only when a string is read; a header with invalid bytes is refused here, as a whole.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new AttnScopeException(Bad("header is not valid UTF-8 text"));
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new AttnScopeException(Bad($"header is not valid JSON ({e.Message})"));
        }
        StartupTrace.Mark("header json parsed");
        using (doc)
        {
            try { return FromHeader(doc, whole, mapped, sourceName, dataStart, dataLen, Bad); }
            catch (InvalidOperationException e)
            {
                // A name or string holding an escaped lone surrogate ("\ud800") is valid JSON but no valid text.
                throw new AttnScopeException(Bad($"header holds text that is not valid ({e.Message})"));
            }
        }
    }

    private static SafeTensorsFile FromHeader(JsonDocument doc, byte[]? bytes, MappedFile? mapped, string sourceName, long dataStart, long dataLen, Func<string, string> bad)
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
        var sorted = new List<SafeTensorsEntry>(entries.Values);
        sorted.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long cursor = 0;
        foreach (var e in sorted)
        {
            if (e.Begin < cursor) throw new AttnScopeException(bad($"tensor '{e.Name}' overlaps another tensor"));
            cursor = e.End;
        }
        return new SafeTensorsFile(sourceName, bytes, mapped, dataStart, entries, metadata);
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

    /// <summary>Unmaps a file opened by path; spans taken from it must not be used afterwards.</summary>
    public void Dispose() => _mapped?.Dispose();

    /// <summary>Whether the file has a tensor of that name.</summary>
    public bool Contains(string name) => Entries.ContainsKey(name);

    /// <summary>A tensor's bytes (tensors up to 2 GiB; larger ones are read with <see cref="RawRange"/>).</summary>
    public ReadOnlySpan<byte> RawBytes(string name)
    {
        var e = Get(name);
        if (e.End - e.Begin > int.MaxValue)
            throw new AttnScopeException($"tensor '{name}' in '{SourceName}' has {e.End - e.Begin} bytes, more than one span holds; read it in ranges");
        return RawRange(name, 0, (int)(e.End - e.Begin));
    }

    /// <summary><paramref name="length"/> bytes of a tensor from byte <paramref name="offset"/> of its data, bounds-checked.</summary>
    public ReadOnlySpan<byte> RawRange(string name, long offset, int length)
    {
        var e = Get(name);
        if (offset < 0 || length < 0 || offset > e.End - e.Begin - length)
            throw new AttnScopeException($"bytes {offset}..{offset + length} are outside tensor '{name}' ({e.End - e.Begin} bytes) in '{SourceName}'");
        long at = _dataStart + e.Begin + offset;
        return _bytes is not null ? _bytes.AsSpan((int)at, length) : new ReadOnlySpan<byte>(_mapped!.Pointer + at, length);
    }

    private SafeTensorsEntry Get(string name) =>
        Entries.TryGetValue(name, out var e) ? e : throw new AttnScopeException($"'{SourceName}' has no tensor named '{name}'");

    /// <summary>Reads a floating-point tensor (F32, F16, BF16 or F64) converted to float32.</summary>
    public FloatTensor ReadFloat(string name) => ReadFloat(name, 0, null);

    /// <summary>
    /// Reads a tensor as float32 and hands each block of <paramref name="blockElements"/> values (a whole number of
    /// blocks must make the tensor) to <paramref name="onBlock"/> with its index, right after the block is read, while
    /// it is still in the processor's cache. Blocks may be handed over on several threads at once, in any order.
    /// </summary>
    internal FloatTensor ReadFloat(string name, int blockElements, Action<int, ReadOnlySpan<float>>? onBlock)
    {
        var e = Get(name);
        var raw = RawBytes(name);
        var n = (int)e.ElementCount;
        if (onBlock is not null && (blockElements < 1 || n % blockElements != 0))
            throw new ArgumentException($"{n} values are not a whole number of {blockElements}-value blocks", nameof(blockElements));
        if (e.DType == "F32" && BitConverter.IsLittleEndian && _mapped is not null && raw.Length >= 1 << 20)
        {
            // A large tensor read whole: straight from the file into an array that is not zeroed first. Copying out of
            // the page cache is bound by one core's copy speed, so it is read in pieces of about 1 MiB (whole blocks)
            // on every core at once, each piece handed to onBlock while it is still in cache.
            var direct = GC.AllocateUninitializedArray<float>(n);
            long begin = _dataStart + e.Begin;
            int block = onBlock is null ? 1 << 18 : blockElements;
            int blocksPerPiece = Math.Max(1, (1 << 18) / block);
            int blocks = (int)((long)n / block + (n % block != 0 ? 1 : 0));
            int pieces = (blocks + blocksPerPiece - 1) / blocksPerPiece;
            ParallelWork.For(0, pieces, p =>
            {
                int b0 = p * blocksPerPiece, b1 = Math.Min(blocks, b0 + blocksPerPiece);
                int from = b0 * block, to = (int)Math.Min(n, (long)b1 * block);
                var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(direct.AsSpan(from, to - from));
                PageFaults.Populate(bytes);
                _mapped.Read(begin + 4L * from, bytes);
                if (onBlock is not null)
                    for (int b = b0; b < b1; b++) onBlock(b, direct.AsSpan(b * block, block));
            });
            return new FloatTensor(e.Shape, direct);
        }
        var whole = ReadSmall(e, raw, name);
        if (onBlock is not null)
            for (int b = 0; b < n / blockElements; b++) onBlock(b, whole.Data.AsSpan(b * blockElements, blockElements));
        return whole;
    }

    private FloatTensor ReadSmall(SafeTensorsEntry e, ReadOnlySpan<byte> raw, string name)
    {
        var n = (int)e.ElementCount;
        var data = new float[n];
        switch (e.DType)
        {
            case "F32":
                if (BitConverter.IsLittleEndian) raw.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
                else for (int i = 0; i < n; i++) data[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * 4, 4));
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

    /// <summary>The file's bytes as one safetensors image (float32 tensors, string metadata, 8-byte aligned data).</summary>
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
