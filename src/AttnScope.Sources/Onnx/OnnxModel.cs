using AttnScope.Capture;

namespace AttnScope.Sources.Onnx;

/// <summary>An ONNX operator-set import: (domain, version).</summary>
internal sealed record OnnxOpsetImport(string Domain, long Version);

/// <summary>
/// The subset of an ONNX ModelProto AttnScope needs: IR version, opset imports and the main graph. Tensor data is
/// not copied; it refers to <see cref="Bytes"/>.
/// </summary>
internal sealed class OnnxModel
{
    public long IrVersion { get; private set; }
    public string ProducerName { get; private set; } = "";
    public string ProducerVersion { get; private set; } = "";
    public List<OnnxOpsetImport> OpsetImports { get; } = [];
    public OnnxGraph Graph { get; } = new();
    /// <summary>The serialized model.</summary>
    public ReadOnlyMemory<byte> Bytes { get; private set; }
    /// <summary>Where the model came from (a path or "bytes"), for messages.</summary>
    public string Source { get; private set; } = "";

    /// <summary>The default-domain opset version, or 0 if not declared.</summary>
    public long DefaultOpset => OpsetImports.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();

    public static OnnxModel Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AttnScopeException($"cannot read ONNX model '{path}': {e.Message}");
        }
        return Parse(bytes, path);
    }

    public static OnnxModel Parse(ReadOnlyMemory<byte> bytes, string source = "the input")
    {
        var kind = SniffOtherFormat(bytes.Span);
        if (kind is not null) throw new AttnScopeException($"{source} is not an ONNX model: it looks like {kind}");
        var model = new OnnxModel { Bytes = bytes, Source = source };
        bool sawGraph = false;
        try
        {
            var r = new ProtoReader(bytes, "ONNX model");
            while (r.TryReadTag(out int field, out var wt))
            {
                switch (field)
                {
                    case 1: r.Expect(field, wt, WireType.Varint); model.IrVersion = r.ReadInt64(); break;
                    case 2: r.Expect(field, wt, WireType.LengthDelimited); model.ProducerName = r.ReadString(); break;
                    case 3: r.Expect(field, wt, WireType.LengthDelimited); model.ProducerVersion = r.ReadString(); break;
                    case 7: r.Expect(field, wt, WireType.LengthDelimited); model.Graph.MergeFrom(r.ReadMessage()); sawGraph = true; break;
                    case 8: r.Expect(field, wt, WireType.LengthDelimited); model.OpsetImports.Add(ParseOpset(r.ReadMessage())); break;
                    default: r.Skip(wt); break;
                }
            }
        }
        catch (AttnScopeException e)
        {
            throw new AttnScopeException($"{source} is not an ONNX model or is truncated ({e.Message})", e);
        }
        if (bytes.Length == 0) throw new AttnScopeException($"{source} is not an ONNX model: it is empty");
        if (!sawGraph || model.IrVersion <= 0 || model.Graph.Nodes.Count == 0)
            throw new AttnScopeException($"{source} is not an ONNX model: no {(model.IrVersion <= 0 ? "IR version" : "graph")} found");
        return model;
    }

    private static OnnxOpsetImport ParseOpset(ProtoReader r)
    {
        string domain = "";
        long version = 0;
        while (r.TryReadTag(out int field, out var wt))
        {
            if (field == 1) { r.Expect(field, wt, WireType.LengthDelimited); domain = r.ReadString(); }
            else if (field == 2) { r.Expect(field, wt, WireType.Varint); version = r.ReadInt64(); }
            else r.Skip(wt);
        }
        return new OnnxOpsetImport(domain, version);
    }

    /// <summary>Recognizes common non-ONNX files by their first bytes, for a clearer message.</summary>
    private static string? SniffOtherFormat(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 4 && b[0] == 0x89 && b[1..4].SequenceEqual("PNG"u8)) return "a PNG image";
        if (b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "a JPEG image";
        if (b.StartsWith("GIF8"u8)) return "a GIF image";
        if (b.StartsWith("%PDF"u8)) return "a PDF document";
        if (b.StartsWith("PK\x03\x04"u8)) return "a zip archive (e.g. a PyTorch checkpoint)";
        if (b.Length >= 6 && b[0] == 0x93 && b[1..6].SequenceEqual("NUMPY"u8)) return "a NumPy array";
        if (b.Length >= 10)
        {
            ulong n = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(b);
            if (b[8] == (byte)'{' && n >= 2 && n <= (ulong)(b.Length - 8)) return "a safetensors file";
        }
        int i = 0;
        while (i < b.Length && i < 64 && b[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') i++;
        if (i < b.Length && (b[i] == (byte)'{' || b[i] == (byte)'['))
        {
            // A text file starting with a JSON brace: protobuf would need field 15 with wire type 3/4, which ONNX never uses.
            return "a JSON file";
        }
        if (b.StartsWith("version https://git-lfs"u8)) return "a Git LFS pointer (the real file was not downloaded)";
        return null;
    }
}
