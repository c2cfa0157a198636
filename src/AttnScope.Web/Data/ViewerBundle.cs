using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace AttnScope.Web.Data;

/// <summary>
/// Every section of a capture in one binary blob, for the offline page: the magic "ASVB", a uint32 (little-endian)
/// length of a UTF-8 JSON header <c>{"meta": …, "sections": {"name": [offset, length]}}</c>, then the sections, each
/// starting at a multiple of 8 bytes from the start of the blob (so the page can view them as Float32Array in place).
/// </summary>
public static class ViewerBundle
{
    public static readonly byte[] Magic = "ASVB"u8.ToArray();

    /// <summary>Exact float32 values go into the bundle while they stay under this many values in all
    /// (64 MiB); beyond that the page shows 8-bit values (to 1/255 of each row's maximum) and says so.</summary>
    public const long ExactInlineLimit = 16L << 20;

    /// <summary>Norm-based attention (a second attention-sized set of sections) goes into the bundle while the
    /// attention stays under this many values in all (64 Mi, e.g. 512 tokens × 6 × 12 heads and more); beyond that
    /// the page offers attention only and says that <c>attnscope serve</c> shows the norms.</summary>
    public const long NormInlineLimit = 64L << 20;

    public static bool FitsNorm(ViewerData data) =>
        data.Capture.Stacks.Values.Sum(s => s.Attention.Length) <= NormInlineLimit;

    public static bool FitsExact(ViewerData data) =>
        data.Capture.Stacks.Values.Sum(s => s.Attention.Length) <= ExactInlineLimit;

    public static byte[] Build(ViewerData data)
    {
        bool exact = FitsExact(data), norm = FitsNorm(data);
        var sections = data.SectionNames(exact, norm).Select(n => (Name: n, Bytes: data.Section(n))).ToList();
        var table = new JsonObject();
        var header = new JsonObject { ["meta"] = data.Meta(exact ? "inline" : "none", norm), ["sections"] = table };
        // The header's length decides where the data starts and the offsets are stored in the header, so the
        // offsets are relative to the start of the (8-aligned) data area, which the page adds back.
        long offset = 0;
        foreach (var (name, bytes) in sections)
        {
            table[name] = new JsonArray(offset, bytes.LongLength);
            offset = Align(offset + bytes.LongLength);
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        long dataStart = Align(8 + headerBytes.LongLength);
        var blob = new byte[dataStart + offset];
        Magic.CopyTo(blob, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(4), (uint)headerBytes.Length);
        headerBytes.CopyTo(blob, 8);
        long at = dataStart;
        foreach (var (_, bytes) in sections)
        {
            bytes.CopyTo(blob, at);
            at = Align(at + bytes.LongLength);
        }
        return blob;
    }

    private static long Align(long n) => (n + 7) & ~7L;
}
