using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace AttnScope.Tests.Support;

/// <summary>
/// Files written byte by byte, the way a hostile or broken producer would: a safetensors file from any header text
/// (valid JSON or not) and data bytes, and small capture headers with one attention tensor.
/// </summary>
public static class RawFiles
{
    public const string CaptureFormat = "attnscope.capture/1";

    /// <summary>8-byte little-endian header length, the header bytes as given, then the data.</summary>
    public static byte[] SafeTensors(byte[] header, byte[]? data = null)
    {
        data ??= [];
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    /// <summary>A safetensors file from a header object (serialized as JSON) and data.</summary>
    public static byte[] SafeTensors(object header, byte[]? data = null) => SafeTensors(JsonSerializer.SerializeToUtf8Bytes(header), data);

    /// <summary><paramref name="count"/> tokens "t0", "t1", … as the capture metadata's token list.</summary>
    public static string TokensJson(int count) =>
        JsonSerializer.Serialize(Enumerable.Range(0, count).Select(i => new Dictionary<string, object>
        {
            ["text"] = $"t{i}", ["id"] = i, ["start"] = i, ["end"] = i + 1, ["segment"] = "A", ["special"] = false,
        }));

    /// <summary>A capture with one encoder.attention tensor of the given shape whose every row is uniform.</summary>
    public static byte[] Capture(int[] shape, int tokens, Dictionary<string, string>? metadata = null)
    {
        long n = shape.Aggregate(1L, (a, d) => a * d);
        var data = new byte[n * 4];
        float v = shape[3] == 0 ? 0 : 1f / shape[3];
        for (long i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan((int)(i * 4), 4), v);
        var meta = new Dictionary<string, string> { ["format"] = CaptureFormat, ["tokens"] = TokensJson(tokens) };
        foreach (var kv in metadata ?? []) meta[kv.Key] = kv.Value;
        var header = new Dictionary<string, object>
        {
            ["__metadata__"] = meta,
            ["encoder.attention"] = new Dictionary<string, object> { ["dtype"] = "F32", ["shape"] = shape, ["data_offsets"] = new[] { 0L, n * 4 } },
        };
        return SafeTensors(header, data);
    }

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
}
