using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace AttnScope.Web.Data;

/// <summary>
/// Every section of a capture in one binary blob, for the offline page: the magic "ASVB", a uint32 (little-endian)
/// length of a UTF-8 JSON header <c>{"meta": …, "sections": {"name": [offset, length]}}</c>, then the sections, each
/// starting at a multiple of 8 bytes from the start of the blob (so the page can view them as Float32Array in place).
/// The blob is written as a stream, one section at a time (<see cref="Write"/>): a 1024-token page needs the memory
/// of its largest section, not of the page.
/// </summary>
internal static class ViewerBundle
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

    /// <summary>The whole blob in memory (small captures, tests); <see cref="Write"/> streams it.</summary>
    public static byte[] Build(ViewerData data)
    {
        using var ms = new MemoryStream();
        Write(data, ms);
        return ms.ToArray();
    }

    /// <summary>
    /// Writes the blob to <paramref name="output"/> and returns its length. The header holds every section's offset,
    /// so the sections' lengths come first (<see cref="ViewerData.SectionLength"/>, from the shapes); then each section
    /// is made, checked against its declared length, written and dropped.
    /// </summary>
    public static long Write(ViewerData data, Stream output)
    {
        bool exact = FitsExact(data), norm = FitsNorm(data);
        var names = data.SectionNames(exact, norm).ToList();
        var table = new JsonObject();
        var header = new JsonObject { ["meta"] = data.Meta(exact ? "inline" : "none", norm), ["sections"] = table };
        // The header's length decides where the data starts and the offsets are stored in the header, so the
        // offsets are relative to the start of the (8-aligned) data area, which the page adds back.
        long offset = 0;
        var lengths = new long[names.Count];
        for (int i = 0; i < names.Count; i++)
        {
            lengths[i] = data.SectionLength(names[i]);
            table[names[i]] = new JsonArray(offset, lengths[i]);
            offset = Align(offset + lengths[i]);
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        long dataStart = Align(8 + headerBytes.LongLength);
        Span<byte> start = stackalloc byte[8];
        Magic.CopyTo(start);
        BinaryPrimitives.WriteUInt32LittleEndian(start[4..], (uint)headerBytes.Length);
        output.Write(start);
        output.Write(headerBytes);
        long at = 8 + headerBytes.LongLength;
        at = Pad(output, at, dataStart);
        for (int i = 0; i < names.Count; i++)
        {
            var bytes = data.Section(names[i]);
            if (bytes.LongLength != lengths[i])
                throw new InvalidOperationException($"section {names[i]} has {bytes.LongLength} bytes, {lengths[i]} were declared");
            output.Write(bytes);
            at = Pad(output, at + bytes.LongLength, Align(at + bytes.LongLength));
        }
        return at;
    }

    private static readonly byte[] Zeros = new byte[8];

    private static long Pad(Stream output, long at, long to)
    {
        if (to > at) output.Write(Zeros, 0, (int)(to - at));
        return to;
    }

    private static long Align(long n) => (n + 7) & ~7L;
}
