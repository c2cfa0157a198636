using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using AttnScope.Capture;
using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>
/// A lossless PNG encoder for figures that uses every core: the image is cut into bands of rows, each band is
/// filtered ("Up": each byte minus the one above it, which turns the flat areas and repeated rows of a figure into
/// runs of zeros) and deflated on its own, and the bands' deflate streams are joined into one zlib stream (every band
/// but the last ends with a sync flush, so it stops on a byte boundary without ending the stream). Each band is its
/// own IDAT chunk, so its CRC is computed on the thread that made it; the zlib checksum (Adler-32) of the whole image
/// is combined from the bands'. An opaque bitmap (every figure: the canvas is cleared to an opaque background) is
/// written as 8-bit RGB, a quarter smaller than RGBA; anything with transparency as 8-bit RGBA, unpremultiplied.
/// </summary>
internal static class PngWriter
{
    /// <summary>Fewest rows per band: smaller bands compress worse and gain nothing.</summary>
    private const int MinBandRows = 32;

    /// <summary>Encodes a BGRA or RGBA 8-bit bitmap (premultiplied, unpremultiplied or opaque).</summary>
    /// <exception cref="ArgumentException">The bitmap is empty or of another colour type.</exception>
    public static byte[] Encode(SKBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        var info = bitmap.Info;
        if (info.Width < 1 || info.Height < 1) throw new ArgumentException("the bitmap is empty", nameof(bitmap));
        if (info.ColorType is not (SKColorType.Bgra8888 or SKColorType.Rgba8888))
            throw new ArgumentException($"PNG encoding takes 8-bit BGRA or RGBA bitmaps, not {info.ColorType}", nameof(bitmap));
        var ptr = bitmap.GetPixels();
        if (ptr == IntPtr.Zero) throw new ArgumentException("the bitmap has no pixels", nameof(bitmap));
        unsafe
        {
            var pixels = new ReadOnlySpan<byte>((void*)ptr, checked(bitmap.RowBytes * info.Height));
            return Encode(pixels, info.Width, info.Height, bitmap.RowBytes, info.ColorType == SKColorType.Bgra8888,
                info.AlphaType == SKAlphaType.Premul);
        }
    }

    /// <summary>Encodes 8-bit, 4-channel pixels: <paramref name="bgr"/> says the order is B, G, R, A (else R, G, B, A).</summary>
    public static unsafe byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int stride, bool bgr, bool premultiplied)
    {
        if (width < 1 || height < 1) throw new ArgumentException("the image is empty");
        if (stride < width * 4 || pixels.Length < (long)stride * (height - 1) + width * 4L)
            throw new ArgumentException("the pixel buffer is smaller than the image");
        bool opaque = IsOpaque(pixels, width, height, stride);
        int channels = opaque ? 3 : 4;
        int bands = Math.Clamp(height / MinBandRows, 1, Math.Max(1, Environment.ProcessorCount * 2));
        var parts = new Band[bands];
        fixed (byte* basePtr = pixels)
        {
            var source = (IntPtr)basePtr;
            int length = pixels.Length;
            ParallelWork.For(0, bands, b =>
            {
                int y0 = (int)((long)height * b / bands), y1 = (int)((long)height * (b + 1) / bands);
                var src = new ReadOnlySpan<byte>((void*)source, length);
                parts[b] = EncodeBand(src, width, stride, y0, y1, channels, bgr, premultiplied, last: b == bands - 1);
            });
        }

        uint adler = 1;
        foreach (var p in parts) adler = CombineAdler32(adler, p.Adler, p.RawLength);

        // signature, IHDR, the bands' IDAT chunks, a last IDAT with the Adler-32, IEND
        long size = 8 + 25 + parts.Sum(p => (long)p.Chunk.Length) + (12 + 4) + 12;
        var output = new byte[size];
        var o = output.AsSpan();
        ReadOnlySpan<byte> signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        signature.CopyTo(o);
        int at = 8;
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = 8;                          // bit depth
        ihdr[9] = (byte)(opaque ? 2 : 6);     // colour type: truecolour, or truecolour with alpha
        ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0; // deflate, adaptive filtering, no interlace
        at += WriteChunk(o[at..], "IHDR"u8, ihdr);
        foreach (var p in parts)
        {
            p.Chunk.CopyTo(o[at..]);
            at += p.Chunk.Length;
        }
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, adler);
        at += WriteChunk(o[at..], "IDAT"u8, tail);
        at += WriteChunk(o[at..], "IEND"u8, []);
        return at == output.Length ? output : output[..at];
    }

    private sealed record Band(byte[] Chunk, uint Adler, long RawLength);

    /// <summary>Filters and deflates rows y0..y1 into a whole IDAT chunk (length, type, data, CRC).</summary>
    private static Band EncodeBand(ReadOnlySpan<byte> src, int width, int stride, int y0, int y1, int channels, bool bgr, bool premultiplied, bool last)
    {
        int rowBytes = width * channels;
        var raw = new byte[(long)(y1 - y0) * (rowBytes + 1)];
        var previous = new byte[rowBytes];
        var current = new byte[rowBytes];
        if (y0 > 0) ConvertRow(src.Slice((y0 - 1) * stride, width * 4), previous, channels, bgr, premultiplied);
        for (int y = y0, at = 0; y < y1; y++, at += rowBytes + 1)
        {
            ConvertRow(src.Slice(y * stride, width * 4), current, channels, bgr, premultiplied);
            raw[at] = 2; // Up
            var dst = raw.AsSpan(at + 1, rowBytes);
            if (y == 0) current.CopyTo(dst);
            else Subtract(current, previous, dst);
            (previous, current) = (current, previous);
        }
        // A zlib stream per band: zlib computes the band's Adler-32 (vectorised) as it compresses. The band's deflate
        // data run from after the 2-byte zlib header (kept for the first band) to the sync flush, or for the last band
        // to before the checksum that the stream ends with.
        using var ms = new MemoryStream(raw.Length / 4 + 64);
        long flushed;
        var zlib = new ZLibStream(ms, CompressionLevel.Fastest, leaveOpen: true);
        zlib.Write(raw);
        if (!last)
        {
            zlib.Flush(); // sync flush: the band's data end on a byte boundary, the stream stays open
            flushed = ms.Length;
        }
        else flushed = -1;
        zlib.Dispose(); // ends the stream: (a final block and) the Adler-32
        var buffer = ms.GetBuffer();
        long total = ms.Length;
        uint adler = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan((int)total - 4));
        int from = y0 == 0 ? 0 : 2; // only the first band keeps the zlib header that starts the image's stream
        int to = (int)(last ? total - 4 : flushed);
        var chunk = new byte[12 + to - from];
        BinaryPrimitives.WriteInt32BigEndian(chunk, to - from);
        "IDAT"u8.CopyTo(chunk.AsSpan(4));
        buffer.AsSpan(from, to - from).CopyTo(chunk.AsSpan(8));
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + to - from), Crc32(chunk.AsSpan(4, 4 + to - from)));
        return new Band(chunk, adler, raw.Length);
    }

    private static bool IsOpaque(ReadOnlySpan<byte> pixels, int width, int height, int stride)
    {
        // alpha is the fourth byte in both orders: with all four bytes of a pixel 0xFF only where alpha is, a pixel
        // is opaque exactly when (pixel | 0x00FFFFFF) is all ones; sixteen bytes (four pixels) at a time
        var fill = Vector128.Create(0x00FFFFFFu).AsByte();
        for (int y = 0; y < height; y++)
        {
            var row = pixels.Slice(y * stride, width * 4);
            ref byte p = ref MemoryMarshal.GetReference(row);
            int i = 0;
            for (; i <= row.Length - 16; i += 16)
                if ((Vector128.LoadUnsafe(ref p, (nuint)i) | fill) != Vector128<byte>.AllBitsSet) return false;
            for (; i < row.Length; i += 4)
                if (row[i + 3] != 0xFF) return false;
        }
        return true;
    }

    private static void ConvertRow(ReadOnlySpan<byte> src, Span<byte> dst, int channels, bool bgr, bool premultiplied)
    {
        int w = src.Length / 4;
        if (channels == 3)
        {
            int x0 = 0;
            if (System.Runtime.Intrinsics.X86.Ssse3.IsSupported)
            {
                // four pixels at a time: 16 bytes in, 12 out (the store writes 16, so stop 4 bytes short of the end)
                var order = bgr
                    ? Vector128.Create((byte)2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, 0x80, 0x80, 0x80, 0x80)
                    : Vector128.Create((byte)0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 0x80, 0x80, 0x80, 0x80);
                ref byte s0 = ref MemoryMarshal.GetReference(src);
                ref byte d0 = ref MemoryMarshal.GetReference(dst);
                for (; x0 + 4 <= w && 3 * x0 + 16 <= dst.Length; x0 += 4)
                    System.Runtime.Intrinsics.X86.Ssse3.Shuffle(Vector128.LoadUnsafe(ref s0, (nuint)(4 * x0)), order)
                        .StoreUnsafe(ref d0, (nuint)(3 * x0));
            }
            src = src[(4 * x0)..];
            dst = dst[(3 * x0)..];
            w -= x0;
            if (bgr)
                for (int x = 0, d = 0; x < w; x++, d += 3) { dst[d] = src[4 * x + 2]; dst[d + 1] = src[4 * x + 1]; dst[d + 2] = src[4 * x]; }
            else
                for (int x = 0, d = 0; x < w; x++, d += 3) { dst[d] = src[4 * x]; dst[d + 1] = src[4 * x + 1]; dst[d + 2] = src[4 * x + 2]; }
            return;
        }
        for (int x = 0; x < w; x++)
        {
            int s = 4 * x;
            byte r = bgr ? src[s + 2] : src[s], g = src[s + 1], b = bgr ? src[s] : src[s + 2], a = src[s + 3];
            if (premultiplied && a != 255)
            {
                // the colour a premultiplied pixel stands for, rounded to nearest (0 where nothing is left of it)
                r = a == 0 ? (byte)0 : (byte)Math.Min(255, (r * 255 + a / 2) / a);
                g = a == 0 ? (byte)0 : (byte)Math.Min(255, (g * 255 + a / 2) / a);
                b = a == 0 ? (byte)0 : (byte)Math.Min(255, (b * 255 + a / 2) / a);
            }
            dst[s] = r; dst[s + 1] = g; dst[s + 2] = b; dst[s + 3] = a;
        }
    }

    private static void Subtract(ReadOnlySpan<byte> current, ReadOnlySpan<byte> above, Span<byte> dst)
    {
        int i = 0;
        ref byte pc = ref MemoryMarshal.GetReference(current);
        ref byte pa = ref MemoryMarshal.GetReference(above);
        ref byte pd = ref MemoryMarshal.GetReference(dst);
        for (; i <= current.Length - 16; i += 16)
            (Vector128.LoadUnsafe(ref pc, (nuint)i) - Vector128.LoadUnsafe(ref pa, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        for (; i < current.Length; i++) dst[i] = (byte)(current[i] - above[i]);
    }

    private static int WriteChunk(Span<byte> dst, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        BinaryPrimitives.WriteInt32BigEndian(dst, data.Length);
        type.CopyTo(dst[4..]);
        data.CopyTo(dst[8..]);
        BinaryPrimitives.WriteUInt32BigEndian(dst[(8 + data.Length)..], Crc32(dst.Slice(4, 4 + data.Length)));
        return 12 + data.Length;
    }

    private const uint AdlerBase = 65521;

    /// <summary>Adler-32 (RFC 1950) of <paramref name="data"/>, starting from 1.</summary>
    public static uint Adler32(ReadOnlySpan<byte> data)
    {
        uint a = 1, b = 0;
        while (data.Length > 0)
        {
            // 5552 bytes is the most that can be summed before b could overflow 32 bits
            int n = Math.Min(5552, data.Length);
            foreach (var x in data[..n]) { a += x; b += a; }
            a %= AdlerBase; b %= AdlerBase;
            data = data[n..];
        }
        return (b << 16) | a;
    }

    /// <summary>
    /// The Adler-32 of two blocks joined, from the first's checksum, the second's and the second's length. With
    /// A = 1 + Σx and B = Σ of the running A's: the second block's A sums start from the first block's A instead of 1
    /// (A = A1 + A2 − 1), and each of its <paramref name="length2"/> running sums carries that extra A1 − 1 into B
    /// (B = B1 + B2 + length2·(A1 − 1)), all modulo 65521.
    /// </summary>
    public static uint CombineAdler32(uint adler1, uint adler2, long length2)
    {
        ulong a1 = adler1 & 0xFFFF, b1 = adler1 >> 16, a2 = adler2 & 0xFFFF, b2 = adler2 >> 16;
        ulong n = (ulong)(length2 % AdlerBase);
        ulong a = (a1 + a2 + AdlerBase - 1) % AdlerBase;
        ulong b = (b1 + b2 + n * ((a1 + AdlerBase - 1) % AdlerBase)) % AdlerBase;
        return (uint)((b << 16) | a);
    }

    private static readonly uint[] CrcTable = MakeCrcTable();

    private static uint[] MakeCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    /// <summary>The CRC-32 PNG puts after each chunk (ISO 3309, reflected polynomial 0xEDB88320).</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        var t = CrcTable;
        foreach (var x in data) c = t[(c ^ x) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}
