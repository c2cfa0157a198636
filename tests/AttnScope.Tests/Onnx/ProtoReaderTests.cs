using AttnScope.Capture;
using AttnScope.Sources.Onnx;
using Xunit;

namespace AttnScope.Tests.Onnx;

public class ProtoReaderTests
{
    [Theory]
    [InlineData(new byte[] { 0x00 }, 0UL)]
    [InlineData(new byte[] { 0x01 }, 1UL)]
    [InlineData(new byte[] { 0x7F }, 127UL)]
    [InlineData(new byte[] { 0x80, 0x01 }, 128UL)]
    [InlineData(new byte[] { 0xAC, 0x02 }, 300UL)]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F }, 0xFFFF_FFFFUL)]
    [InlineData(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 }, 0x8000_0000_0000_0000UL)]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, ulong.MaxValue)]
    [InlineData(new byte[] { 0x80, 0x00 }, 0UL)] // non-canonical but valid
    public void ReadsVarints(byte[] bytes, ulong expected)
    {
        var r = new ProtoReader(bytes);
        Assert.Equal(expected, r.ReadVarint());
        Assert.True(r.AtEnd);
    }

    [Fact]
    public void NegativeInt64IsTenBytes()
    {
        var bytes = new ProtoWriter().Varint(unchecked((ulong)-1L)).ToArray();
        Assert.Equal(10, bytes.Length);
        Assert.Equal(-1L, new ProtoReader(bytes).ReadInt64());
        Assert.Equal(-1, new ProtoReader(bytes).ReadInt32());
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x80 })]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF })]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02 })] // > 64 bits
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 })] // 11 bytes
    public void BadVarintsThrow(byte[] bytes)
    {
        Assert.Throws<AttnScopeException>(() => new ProtoReader(bytes).ReadVarint());
    }

    [Fact]
    public void TruncatedFixedAndLengthDelimitedThrow()
    {
        Assert.Throws<AttnScopeException>(() => new ProtoReader(new byte[] { 1, 2, 3 }).ReadFixed32());
        Assert.Throws<AttnScopeException>(() => new ProtoReader(new byte[] { 1, 2, 3, 4, 5, 6, 7 }).ReadFixed64());
        Assert.Throws<AttnScopeException>(() => new ProtoReader(new byte[] { 5, 1, 2 }).ReadBytes());
        // A length near 2^63 must not overflow into a valid slice.
        var huge = new ProtoWriter().Varint(0x7FFF_FFFF_FFFF_FFF0UL).Raw(new byte[] { 1, 2 }).ToArray();
        Assert.Throws<AttnScopeException>(() => new ProtoReader(huge).ReadBytes());
        var max = new ProtoWriter().Varint(ulong.MaxValue).ToArray();
        Assert.Throws<AttnScopeException>(() => new ProtoReader(max).ReadBytes());
    }

    [Fact]
    public void TagsValidateFieldAndWireType()
    {
        Assert.Throws<AttnScopeException>(() => new ProtoReader(new byte[] { 0x00 }).TryReadTag(out _, out _)); // field 0
        Assert.Throws<AttnScopeException>(() => new ProtoReader(new byte[] { 0x0E }).TryReadTag(out _, out _)); // wire type 6
        Assert.Throws<AttnScopeException>(() => new ProtoReader(new byte[] { 0x0F }).TryReadTag(out _, out _)); // wire type 7
        var r = new ProtoReader(new byte[] { 0x0B }); // field 1, start group
        Assert.True(r.TryReadTag(out int f, out var wt));
        Assert.Equal(1, f);
        Assert.Equal(WireType.StartGroup, wt);
        Assert.Throws<AttnScopeException>(() => r.Skip(wt));
        Assert.False(new ProtoReader(Array.Empty<byte>()).TryReadTag(out _, out _));
    }

    [Fact]
    public void SkipsUnknownFieldsOfEveryWireType()
    {
        var bytes = new ProtoWriter()
            .Int64(1, 300)
            .Float(2, 1.5f)
            .Tag(3, WireType.Fixed64).Raw(new byte[8])
            .String(4, "héllo")
            .Int64(5, 7)
            .ToArray();
        var r = new ProtoReader(bytes);
        long last = 0;
        string? s = null;
        while (r.TryReadTag(out int f, out var wt))
        {
            if (f == 4) s = r.ReadString();
            else if (f == 5) last = r.ReadInt64();
            else r.Skip(wt);
        }
        Assert.Equal("héllo", s);
        Assert.Equal(7, last);
    }

    [Fact]
    public void ReadsPackedAndUnpackedRepeatedFields()
    {
        var bytes = new ProtoWriter().PackedInt64(1, [1, 300, -2]).Int64(1, 9).PackedFloat(2, [1f, -2.5f]).Float(2, 3f).ToArray();
        var r = new ProtoReader(bytes);
        var ints = new List<long>();
        var floats = new List<float>();
        while (r.TryReadTag(out int f, out var wt))
        {
            if (f == 1) r.ReadRepeatedInt64(wt, ints);
            else r.ReadRepeatedFloat(wt, floats);
        }
        Assert.Equal([1L, 300, -2, 9], ints);
        Assert.Equal([1f, -2.5f, 3f], floats);
        // A packed float field whose length is not a multiple of 4.
        var bad = new ProtoWriter().Bytes(2, new byte[] { 1, 2, 3 }).ToArray();
        var br = new ProtoReader(bad);
        br.TryReadTag(out _, out var bwt);
        Assert.Throws<AttnScopeException>(() => br.ReadRepeatedFloat(bwt, floats));
        // A truncated packed varint list.
        var trunc = new ProtoWriter().Bytes(1, new byte[] { 0x01, 0x80 }).ToArray();
        var tr = new ProtoReader(trunc);
        tr.TryReadTag(out _, out var twt);
        Assert.Throws<AttnScopeException>(() => tr.ReadRepeatedInt64(twt, ints));
    }

    [Fact]
    public void InvalidUtf8StringThrows()
    {
        var bytes = new ProtoWriter().Bytes(1, new byte[] { 0xC3, 0x28 }).ToArray();
        var r = new ProtoReader(bytes);
        r.TryReadTag(out _, out _);
        Assert.Throws<AttnScopeException>(() => r.ReadString());
    }
}
