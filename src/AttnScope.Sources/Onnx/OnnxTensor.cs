using System.Buffers.Binary;
using AttnScope.Capture;

namespace AttnScope.Sources.Onnx;

/// <summary>An ONNX TensorProto: an initializer or a constant. Raw data is kept as a slice of the model bytes.</summary>
internal sealed class OnnxTensor
{
    public string Name { get; internal set; } = "";
    public long[] Dims { get; internal set; } = [];
    public OnnxDataType DataType { get; internal set; }
    public ReadOnlyMemory<byte> RawData { get; internal set; }
    public bool HasRawData { get; internal set; }
    public List<float> FloatData { get; } = [];
    public List<long> Int32Data { get; } = [];
    public List<long> Int64Data { get; } = [];
    public List<double> DoubleData { get; } = [];
    public List<long> UInt64Data { get; } = [];
    /// <summary>True when the values live in an external file (data_location = EXTERNAL or external_data set).</summary>
    public bool IsExternal { get; internal set; }

    public string DisplayName => Name.Length > 0 ? $"'{Name}'" : "(unnamed tensor)";
    public string DimsText => "[" + string.Join(", ", Dims) + "]";

    /// <summary>Number of elements implied by the dims (1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Dims)
            {
                if (d < 0) throw new AttnScopeException($"ONNX tensor {DisplayName} has a negative dimension in {DimsText}");
                if (d > Array.MaxLength) throw new AttnScopeException($"ONNX tensor {DisplayName} of shape {DimsText} is too large");
                n *= d; // both factors are at most Array.MaxLength, so this cannot overflow
                if (n > Array.MaxLength) throw new AttnScopeException($"ONNX tensor {DisplayName} of shape {DimsText} is too large");
            }
            return n;
        }
    }

    private void CheckNotExternal()
    {
        if (IsExternal)
            throw new AttnScopeException($"ONNX tensor {DisplayName} stores its data in an external file; external data is not supported (save the model as a single .onnx file)");
    }

    private ReadOnlySpan<byte> Raw(long count)
    {
        int size = OnnxDataTypes.ElementSize(DataType);
        if ((long)RawData.Length != count * size)
            throw new AttnScopeException($"ONNX tensor {DisplayName} has {RawData.Length} bytes of raw data, expected {count * size} for {OnnxDataTypes.Name(DataType)} {DimsText}");
        return RawData.Span;
    }

    private void CheckCount(long have, long want)
    {
        if (have != want)
            throw new AttnScopeException($"ONNX tensor {DisplayName} has {have} values, expected {want} for shape {DimsText}");
    }

    /// <summary>The values as float32 (FLOAT, FLOAT16, BFLOAT16, DOUBLE, and integer types converted).</summary>
    public float[] ToFloatArray()
    {
        CheckNotExternal();
        long n = ElementCount;
        if (!IsInteger(DataType) && DataType is not (OnnxDataType.Float or OnnxDataType.Float16 or OnnxDataType.BFloat16 or OnnxDataType.Double))
            throw new AttnScopeException($"ONNX tensor {DisplayName} has data type {OnnxDataTypes.Name(DataType)}, which cannot be read as float");
        // Check the stored length before allocating, so hostile dims cannot force a huge allocation.
        if (HasRawData) Raw(n);
        else CheckCount(StoredCount(), n);
        var result = new float[n];
        if (HasRawData)
        {
            var raw = Raw(n);
            switch (DataType)
            {
                case OnnxDataType.Float:
                    if (BitConverter.IsLittleEndian) raw.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.AsSpan()));
                    else for (int i = 0; i < n; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * 4, 4));
                    return result;
                case OnnxDataType.Float16:
                    for (int i = 0; i < n; i++) result[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(raw.Slice(i * 2, 2)));
                    return result;
                case OnnxDataType.BFloat16:
                    for (int i = 0; i < n; i++) result[i] = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(raw.Slice(i * 2, 2)) << 16);
                    return result;
                case OnnxDataType.Double:
                    for (int i = 0; i < n; i++) result[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw.Slice(i * 8, 8));
                    return result;
            }
        }
        else
        {
            switch (DataType)
            {
                case OnnxDataType.Float:
                    CheckCount(FloatData.Count, n);
                    FloatData.CopyTo(result);
                    return result;
                case OnnxDataType.Float16:
                    CheckCount(Int32Data.Count, n);
                    for (int i = 0; i < n; i++) result[i] = (float)BitConverter.UInt16BitsToHalf((ushort)Int32Data[i]);
                    return result;
                case OnnxDataType.BFloat16:
                    CheckCount(Int32Data.Count, n);
                    for (int i = 0; i < n; i++) result[i] = BitConverter.UInt32BitsToSingle((uint)(ushort)Int32Data[i] << 16);
                    return result;
                case OnnxDataType.Double:
                    CheckCount(DoubleData.Count, n);
                    for (int i = 0; i < n; i++) result[i] = (float)DoubleData[i];
                    return result;
            }
        }
        if (IsInteger(DataType))
        {
            var ints = ToInt64Array();
            for (int i = 0; i < n; i++) result[i] = ints[i];
            return result;
        }
        throw new AttnScopeException($"ONNX tensor {DisplayName} has data type {OnnxDataTypes.Name(DataType)}, which cannot be read as float");
    }

    private static bool IsInteger(OnnxDataType t) => t is OnnxDataType.Int8 or OnnxDataType.UInt8 or OnnxDataType.Int16
        or OnnxDataType.UInt16 or OnnxDataType.Int32 or OnnxDataType.UInt32 or OnnxDataType.Int64 or OnnxDataType.UInt64 or OnnxDataType.Bool;

    /// <summary>Number of values stored in the typed (non-raw) field that matches the data type.</summary>
    private long StoredCount() => DataType switch
    {
        OnnxDataType.Float => FloatData.Count,
        OnnxDataType.Double => DoubleData.Count,
        OnnxDataType.Int64 => Int64Data.Count,
        OnnxDataType.UInt64 or OnnxDataType.UInt32 => UInt64Data.Count,
        _ => Int32Data.Count,
    };

    /// <summary>The values as int64 (integer and bool types).</summary>
    public long[] ToInt64Array()
    {
        CheckNotExternal();
        long n = ElementCount;
        if (!IsInteger(DataType))
            throw new AttnScopeException($"ONNX tensor {DisplayName} has data type {OnnxDataTypes.Name(DataType)}, expected an integer type");
        if (HasRawData) Raw(n);
        else CheckCount(StoredCount(), n);
        var result = new long[n];
        if (HasRawData)
        {
            var raw = Raw(n);
            for (int i = 0; i < n; i++)
            {
                result[i] = DataType switch
                {
                    OnnxDataType.Int8 => (sbyte)raw[i],
                    OnnxDataType.UInt8 or OnnxDataType.Bool => raw[i],
                    OnnxDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw.Slice(i * 2, 2)),
                    OnnxDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(raw.Slice(i * 2, 2)),
                    OnnxDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw.Slice(i * 4, 4)),
                    OnnxDataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(i * 4, 4)),
                    OnnxDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(raw.Slice(i * 8, 8)),
                    _ => (long)BinaryPrimitives.ReadUInt64LittleEndian(raw.Slice(i * 8, 8)),
                };
            }
            return result;
        }
        var source = DataType switch
        {
            OnnxDataType.Int64 => Int64Data,
            OnnxDataType.UInt64 or OnnxDataType.UInt32 => UInt64Data,
            _ => Int32Data,
        };
        CheckCount(source.Count, n);
        source.CopyTo(result);
        return result;
    }

    /// <summary>The values as a <see cref="FloatTensor"/> with the tensor's dims.</summary>
    public FloatTensor ToFloatTensor()
    {
        var shape = new int[Dims.Length];
        for (int i = 0; i < Dims.Length; i++)
        {
            if (Dims[i] < 0 || Dims[i] > int.MaxValue) throw new AttnScopeException($"ONNX tensor {DisplayName} has an invalid dimension in {DimsText}");
            shape[i] = (int)Dims[i];
        }
        return new FloatTensor(shape, ToFloatArray());
    }

    internal static OnnxTensor Parse(ProtoReader r)
    {
        var t = new OnnxTensor();
        var dims = new List<long>();
        while (r.TryReadTag(out int field, out var wt))
        {
            switch (field)
            {
                case 1: r.ReadRepeatedInt64(wt, dims); break;
                case 2: r.Expect(field, wt, WireType.Varint); t.DataType = (OnnxDataType)r.ReadInt32(); break;
                case 4: r.ReadRepeatedFloat(wt, t.FloatData); break;
                case 5: r.ReadRepeatedInt64(wt, t.Int32Data); break;
                case 7: r.ReadRepeatedInt64(wt, t.Int64Data); break;
                case 8: r.Expect(field, wt, WireType.LengthDelimited); t.Name = r.ReadString(); break;
                case 9: r.Expect(field, wt, WireType.LengthDelimited); t.RawData = r.ReadBytes(); t.HasRawData = true; break;
                case 10: r.ReadRepeatedDouble(wt, t.DoubleData); break;
                case 11: r.ReadRepeatedInt64(wt, t.UInt64Data); break;
                case 13: r.Expect(field, wt, WireType.LengthDelimited); r.ReadBytes(); t.IsExternal = true; break;
                case 14: r.Expect(field, wt, WireType.Varint); if (r.ReadInt32() == 1) t.IsExternal = true; break;
                default: r.Skip(wt); break;
            }
        }
        t.Dims = dims.ToArray();
        return t;
    }
}
