using System.Buffers.Binary;
using AttnScope.Capture;
using AttnScope.Sources.Onnx;
using Xunit;

namespace AttnScope.Tests.Onnx;

/// <summary>
/// TensorProto storage forms converted by <see cref="OnnxTensor.ToFloatArray"/>, <see cref="OnnxTensor.ToFloatTensor"/>
/// and <see cref="OnnxTensor.ToInt64Array"/>. Tensors are written field by field with <see cref="ProtoWriter"/>
/// (TensorProto: dims=1, data_type=2, float_data=4, int32_data=5, int64_data=7, name=8, raw_data=9, double_data=10).
/// </summary>
public class OnnxTensorConversionTests
{
    private static OnnxTensor Parse(Action<ProtoWriter> build)
    {
        var w = new ProtoWriter();
        build(w);
        return OnnxTensor.Parse(new ProtoReader(w.ToArray()));
    }

    private static OnnxTensor Raw16(OnnxDataType type, ushort[] bits, long[] dims) => Parse(t =>
    {
        var raw = new byte[bits.Length * 2];
        for (int i = 0; i < bits.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(i * 2), bits[i]);
        t.PackedInt64(1, dims).Int64(2, (int)type).String(8, "t").Bytes(9, raw);
    });

    private static void AssertBitwise(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToUInt32Bits(expected[i]) == BitConverter.SingleToUInt32Bits(actual[i]),
                $"element {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    // IEEE 754 binary16 bit patterns with their values written out by hand (independent of System.Half), plus
    // values whose bits come from System.Half and whose expected float is (float)(Half).
    private static readonly (ushort Bits, float Value)[] HalfKnown =
    [
        (0x3C00, 1f), (0xC100, -2.5f), (0x7BFF, 65504f), (0xFBFF, -65504f),
        (0x0400, 6.103515625e-05f),           // smallest normal, 2^-14
        (0x0001, 5.9604644775390625e-08f),    // smallest subnormal, 2^-24
        (0x8201, -3.0577182769775391e-05f),   // negative subnormal, -(513 * 2^-24)
        (0x8000, -0f), (0x7C00, float.PositiveInfinity), (0xFC00, float.NegativeInfinity),
        (0x3555, 0.333251953125f),
    ];

    [Fact]
    public void Float16RawDataConvertsToFloat32()
    {
        float[] extra = [0.1f, -1234.5f, 3e-6f, 60000f];
        var bits = HalfKnown.Select(k => k.Bits).Concat(extra.Select(v => BitConverter.HalfToUInt16Bits((Half)v))).ToArray();
        var expected = HalfKnown.Select(k => k.Value).Concat(extra.Select(v => (float)(Half)v)).ToArray();
        var t = Raw16(OnnxDataType.Float16, bits, [bits.Length]);
        AssertBitwise(expected, t.ToFloatArray());

        var m = Raw16(OnnxDataType.Float16, bits[..12], [3, 4]).ToFloatTensor();
        Assert.Equal([3, 4], m.Shape);
        Assert.Equal(-65504f, m.Data[m.Offset(0, 3)]);
        Assert.Equal(expected[9], m.Data[m.Offset(2, 1)]);
    }

    [Fact]
    public void Float16Nan()
    {
        Assert.True(float.IsNaN(Raw16(OnnxDataType.Float16, [0x7E00], [1]).ToFloatArray()[0]));
    }

    // bfloat16 is the top 16 bits of a float32: these patterns and values are written out by hand.
    private static readonly (ushort Bits, float Value)[] BFloatKnown =
    [
        (0x3F80, 1f), (0xC020, -2.5f), (0x4049, 3.140625f), (0xBE80, -0.25f),
        (0x7F7F, 3.3895313892515355e38f),     // largest finite bfloat16
        (0xFF7F, -3.3895313892515355e38f),
        (0x0080, 1.1754943508222875e-38f),    // smallest normal, 2^-126
        (0x0001, 9.183549615799121e-41f),     // smallest subnormal, 2^-133
        (0x8005, -4.591774807899561e-40f),    // negative subnormal, -5 * 2^-133
        (0x8000, -0f), (0x7F80, float.PositiveInfinity), (0x4B00, 8388608f),
    ];

    [Fact]
    public void BFloat16RawDataConvertsToFloat32()
    {
        var bits = BFloatKnown.Select(k => k.Bits).ToArray();
        var t = Raw16(OnnxDataType.BFloat16, bits, [2, 6]);
        AssertBitwise(BFloatKnown.Select(k => k.Value).ToArray(), t.ToFloatArray());
        var m = t.ToFloatTensor();
        Assert.Equal([2, 6], m.Shape);
        Assert.Equal(3.140625f, m.Data[m.Offset(0, 2)]);
        Assert.Equal(8388608f, m.Data[m.Offset(1, 5)]);
    }

    [Fact]
    public void Float16AndBFloat16InInt32DataConvert()
    {
        // Non-raw FLOAT16/BFLOAT16 tensors keep each 16-bit pattern in one int32_data entry (packed varints).
        var h = Parse(t => t.PackedInt64(1, [HalfKnown.Length]).Int64(2, (int)OnnxDataType.Float16).PackedInt64(5, HalfKnown.Select(k => (long)k.Bits)));
        AssertBitwise(HalfKnown.Select(k => k.Value).ToArray(), h.ToFloatArray());
        var b = Parse(t => t.PackedInt64(1, [BFloatKnown.Length]).Int64(2, (int)OnnxDataType.BFloat16).PackedInt64(5, BFloatKnown.Select(k => (long)k.Bits)));
        AssertBitwise(BFloatKnown.Select(k => k.Value).ToArray(), b.ToFloatArray());
    }

    [Fact]
    public void FloatDataPackedAndUnpackedConverts()
    {
        float[] values = [1.5f, -0f, -3.25e-30f, 1e30f, float.Epsilon, -7f];
        var packed = Parse(t => t.PackedInt64(1, [2, 3]).Int64(2, (int)OnnxDataType.Float).PackedFloat(4, values));
        Assert.False(packed.HasRawData);
        AssertBitwise(values, packed.ToFloatArray());
        var m = packed.ToFloatTensor();
        Assert.Equal([2, 3], m.Shape);
        Assert.Equal(1e30f, m.Data[m.Offset(1, 0)]);
        Assert.Equal(-7f, m.Data[m.Offset(1, 2)]);

        // One fixed32 field per value (the unpacked encoding, legal for repeated float).
        var unpacked = Parse(t =>
        {
            t.Int64(1, 2).Int64(1, 3).Int64(2, (int)OnnxDataType.Float);
            foreach (var v in values) t.Float(4, v);
        });
        Assert.Equal([2L, 3L], unpacked.Dims);
        AssertBitwise(values, unpacked.ToFloatArray());

        var wrongCount = Parse(t => t.PackedInt64(1, [4]).Int64(2, (int)OnnxDataType.Float).PackedFloat(4, [1f, 2f]));
        Assert.Contains("expected 4", Assert.Throws<AttnScopeException>(() => wrongCount.ToFloatArray()).Message);
    }

    [Fact]
    public void FloatScalarRawData()
    {
        var raw = new byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(raw, -0.125f);
        var s = Parse(t => t.Int64(2, (int)OnnxDataType.Float).Bytes(9, raw));
        Assert.Equal(1, s.ElementCount);
        Assert.Equal([-0.125f], s.ToFloatArray());
    }

    [Fact]
    public void Int64DataConverts()
    {
        long[] values = [0, -1, 42, long.MinValue, long.MaxValue, -300000000000L];
        var t = Parse(w => w.PackedInt64(1, [values.Length]).Int64(2, (int)OnnxDataType.Int64).PackedInt64(7, values));
        Assert.Equal(values, t.ToInt64Array());
        Assert.Equal(values.Select(v => (float)v).ToArray(), t.ToFloatArray());

        // Unpacked: one varint per value.
        var u = Parse(w => { w.Int64(1, 3).Int64(2, (int)OnnxDataType.Int64); foreach (var v in values[..3]) w.Int64(7, v); });
        Assert.Equal(values[..3], u.ToInt64Array());

        var raw = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * 8), values[i]);
        var r = Parse(w => w.PackedInt64(1, [2, 3]).Int64(2, (int)OnnxDataType.Int64).Bytes(9, raw));
        Assert.Equal(values, r.ToInt64Array());
    }

    [Fact]
    public void Int32DataWithNegativesConverts()
    {
        // int32_data holds negative int32 values as sign-extended 10-byte varints.
        long[] values = [-5, 7, int.MinValue, int.MaxValue];
        var t = Parse(w => w.PackedInt64(1, [4]).Int64(2, (int)OnnxDataType.Int32).PackedInt64(5, values));
        Assert.Equal(values, t.ToInt64Array());
        Assert.Equal([-5f, 7f, -2147483648f, 2147483647f], t.ToFloatArray());
    }

    [Fact]
    public void DoubleDataConverts()
    {
        var w = new ProtoWriter().PackedInt64(1, [3]).Int64(2, (int)OnnxDataType.Double);
        var inner = new byte[24];
        BinaryPrimitives.WriteDoubleLittleEndian(inner.AsSpan(0), 0.1);
        BinaryPrimitives.WriteDoubleLittleEndian(inner.AsSpan(8), -2.5);
        BinaryPrimitives.WriteDoubleLittleEndian(inner.AsSpan(16), 1e300);
        w.Bytes(10, inner);
        var t = OnnxTensor.Parse(new ProtoReader(w.ToArray()));
        Assert.Equal([0.1f, -2.5f, float.PositiveInfinity], t.ToFloatArray());
    }

    [Fact]
    public void Float16RawDataOfWrongLengthIsAnError()
    {
        var t = Parse(w => w.PackedInt64(1, [3]).Int64(2, (int)OnnxDataType.Float16).Bytes(9, new byte[4]));
        Assert.Contains("expected 6", Assert.Throws<AttnScopeException>(() => t.ToFloatArray()).Message);
    }
}
