using AttnScope.Capture;

namespace AttnScope.Sources.Onnx;

/// <summary>Protocol-buffer wire types.</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>
/// A minimal, bounds-checked reader of the protocol-buffer wire format over a byte buffer. Every read checks the
/// remaining length; malformed or truncated input raises <see cref="AttnScopeException"/>, never an index error,
/// and every loop consumes at least one byte per step so hostile input cannot hang it.
/// </summary>
internal sealed class ProtoReader
{
    private readonly ReadOnlyMemory<byte> _buffer;
    private int _pos;

    /// <summary>What is being read, used in error messages (e.g. "ONNX model").</summary>
    public string What { get; }

    public ProtoReader(ReadOnlyMemory<byte> buffer, string what = "protobuf message")
    {
        _buffer = buffer;
        What = what;
    }

    public int Position => _pos;
    public int Length => _buffer.Length;
    public bool AtEnd => _pos >= _buffer.Length;

    private AttnScopeException Error(string message) => new($"{What} is malformed: {message} at byte {_pos}");

    /// <summary>Reads the next field tag. Returns false at the end of the buffer.</summary>
    public bool TryReadTag(out int field, out WireType wireType)
    {
        field = 0;
        wireType = 0;
        if (AtEnd) return false;
        int start = _pos;
        ulong tag = ReadVarint();
        if (tag > uint.MaxValue) { _pos = start; throw Error($"field tag {tag} is out of range"); }
        field = (int)(tag >> 3);
        int wt = (int)(tag & 7);
        if (field == 0) { _pos = start; throw Error("field number 0"); }
        if (field > 536_870_911) { _pos = start; throw Error($"field number {field} is out of range"); }
        if (wt is 6 or 7) { _pos = start; throw Error($"invalid wire type {wt}"); }
        wireType = (WireType)wt;
        return true;
    }

    /// <summary>Reads a base-128 varint of at most 10 bytes.</summary>
    public ulong ReadVarint()
    {
        var span = _buffer.Span;
        ulong result = 0;
        for (int i = 0; i < 10; i++)
        {
            if (_pos >= span.Length) throw Error("truncated varint");
            byte b = span[_pos++];
            if (i == 9 && b > 1) throw Error("varint is longer than 64 bits");
            result |= (ulong)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0) return result;
        }
        throw Error("varint is longer than 10 bytes");
    }

    public long ReadInt64() => (long)ReadVarint();

    /// <summary>An int32 field (negative values are encoded as 10-byte varints and truncated to 32 bits).</summary>
    public int ReadInt32() => (int)(long)ReadVarint();

    public long ReadSInt64()
    {
        ulong v = ReadVarint();
        return (long)(v >> 1) ^ -(long)(v & 1);
    }

    public uint ReadFixed32()
    {
        var span = _buffer.Span;
        if (span.Length - _pos < 4) throw Error("truncated fixed32");
        uint v = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(span.Slice(_pos, 4));
        _pos += 4;
        return v;
    }

    public ulong ReadFixed64()
    {
        var span = _buffer.Span;
        if (span.Length - _pos < 8) throw Error("truncated fixed64");
        ulong v = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(span.Slice(_pos, 8));
        _pos += 8;
        return v;
    }

    public float ReadFloat() => BitConverter.UInt32BitsToSingle(ReadFixed32());
    public double ReadDouble() => BitConverter.UInt64BitsToDouble(ReadFixed64());

    /// <summary>Reads a length-delimited field's payload as a slice of the buffer (no copy).</summary>
    public ReadOnlyMemory<byte> ReadBytes()
    {
        int start = _pos;
        ulong len = ReadVarint();
        if (len > (ulong)(_buffer.Length - _pos))
        {
            _pos = start;
            throw Error($"length-delimited field of {len} bytes runs past the end ({_buffer.Length - _pos} bytes left)");
        }
        var slice = _buffer.Slice(_pos, (int)len);
        _pos += (int)len;
        return slice;
    }

    public string ReadString()
    {
        var bytes = ReadBytes();
        try { return new System.Text.UTF8Encoding(false, true).GetString(bytes.Span); }
        catch (ArgumentException) { throw Error("string field is not valid UTF-8"); }
    }

    /// <summary>A reader over an embedded message's bytes.</summary>
    public ProtoReader ReadMessage() => new(ReadBytes(), What);

    /// <summary>Skips a field's value. Groups (deprecated) are rejected.</summary>
    public void Skip(WireType wireType)
    {
        switch (wireType)
        {
            case WireType.Varint: ReadVarint(); break;
            case WireType.Fixed64: ReadFixed64(); break;
            case WireType.LengthDelimited: ReadBytes(); break;
            case WireType.Fixed32: ReadFixed32(); break;
            default: throw Error($"unsupported wire type {(int)wireType} (groups)");
        }
    }

    /// <summary>Throws unless the field has the expected wire type.</summary>
    public void Expect(int field, WireType actual, WireType expected)
    {
        if (actual != expected) throw Error($"field {field} has wire type {(int)actual}, expected {(int)expected}");
    }

    /// <summary>Reads a repeated int64 field that may be packed (length-delimited) or a single varint.</summary>
    public void ReadRepeatedInt64(WireType wireType, List<long> into)
    {
        if (wireType == WireType.Varint) { into.Add(ReadInt64()); return; }
        if (wireType != WireType.LengthDelimited) throw Error($"repeated integer field has wire type {(int)wireType}");
        var inner = ReadMessage();
        while (!inner.AtEnd) into.Add(inner.ReadInt64());
    }

    /// <summary>Reads a repeated float field that may be packed or a single fixed32.</summary>
    public void ReadRepeatedFloat(WireType wireType, List<float> into)
    {
        if (wireType == WireType.Fixed32) { into.Add(ReadFloat()); return; }
        if (wireType != WireType.LengthDelimited) throw Error($"repeated float field has wire type {(int)wireType}");
        var inner = ReadBytes();
        if (inner.Length % 4 != 0) throw Error($"packed float field of {inner.Length} bytes is not a multiple of 4");
        var span = inner.Span;
        for (int i = 0; i < span.Length; i += 4)
            into.Add(BitConverter.UInt32BitsToSingle(System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(span.Slice(i, 4))));
    }

    /// <summary>Reads a repeated double field that may be packed or a single fixed64.</summary>
    public void ReadRepeatedDouble(WireType wireType, List<double> into)
    {
        if (wireType == WireType.Fixed64) { into.Add(ReadDouble()); return; }
        if (wireType != WireType.LengthDelimited) throw Error($"repeated double field has wire type {(int)wireType}");
        var inner = ReadBytes();
        if (inner.Length % 8 != 0) throw Error($"packed double field of {inner.Length} bytes is not a multiple of 8");
        var span = inner.Span;
        for (int i = 0; i < span.Length; i += 8)
            into.Add(BitConverter.UInt64BitsToDouble(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(span.Slice(i, 8))));
    }
}
