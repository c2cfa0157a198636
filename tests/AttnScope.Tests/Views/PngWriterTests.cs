using System.Buffers.Binary;
using System.IO.Compression;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Tests.Views;

/// <summary>
/// The multi-core PNG encoder. References, each independent of the encoder: Skia's PNG decoder (libpng-derived code
/// in native Skia) must give back every pixel; .NET's zlib inflater must accept the joined IDAT stream, whose Adler-32
/// it checks; each chunk's CRC is recomputed here with a bitwise CRC-32 (no table); the checksum helpers are checked
/// against direct definitions computed here.
/// </summary>
public class PngWriterTests
{
    private static SKBitmap RandomBitmap(int w, int h, int seed, bool opaque, SKColorType type = SKColorType.Bgra8888)
    {
        var alphaType = opaque ? SKAlphaType.Opaque : SKAlphaType.Unpremul;
        var bmp = new SKBitmap(new SKImageInfo(w, h, type, alphaType));
        var rng = new Random(seed);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                // flat areas, repeated rows and noise, as in a figure
                byte v = (byte)(x < w / 3 ? 240 : y % 7 == 0 ? rng.Next(256) : (x * 13 + y / 5) & 0xFF);
                byte a = opaque ? (byte)255 : (byte)rng.Next(256);
                bmp.SetPixel(x, y, new SKColor(v, (byte)(255 - v), (byte)rng.Next(256), a));
            }
        return bmp;
    }

    private static List<(string Type, byte[] Data)> Chunks(byte[] png)
    {
        var sig = new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };
        Assert.Equal(sig, png[..8]);
        var chunks = new List<(string, byte[])>();
        int at = 8;
        while (at < png.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            var data = png.AsSpan(at + 8, len).ToArray();
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + len));
            Assert.Equal(BitwiseCrc32(png.AsSpan(at + 4, 4 + len)), crc);
            chunks.Add((type, data));
            at += 12 + len;
        }
        Assert.Equal(png.Length, at);
        return chunks;
    }

    private static uint BitwiseCrc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (uint)-(int)(c & 1));
        }
        return ~c;
    }

    [Theory]
    [InlineData(1, 1, true)]
    [InlineData(7, 3, false)]
    [InlineData(1733, 940, true)]   // the model view's size
    [InlineData(301, 517, false)]   // odd sizes, more bands than cores
    [InlineData(64, 33, true)]      // one band
    public void Every_pixel_comes_back_through_an_independent_decoder(int w, int h, bool opaque)
    {
        using var bmp = RandomBitmap(w, h, w * 31 + h, opaque);
        var png = PngWriter.Encode(bmp);
        using var decoded = SKBitmap.Decode(png);
        Assert.NotNull(decoded);
        Assert.Equal(w, decoded.Width);
        Assert.Equal(h, decoded.Height);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var want = bmp.GetPixel(x, y);
                var got = decoded.GetPixel(x, y);
                if (opaque || want.Alpha == 255) Assert.Equal(want, got);
                else
                {
                    // Skia hands back what it decodes premultiplied; compare at that precision
                    Assert.Equal(want.Alpha, got.Alpha);
                    Assert.InRange(Math.Abs(want.Red * want.Alpha / 255 - got.Red * got.Alpha / 255), 0, 1);
                    Assert.InRange(Math.Abs(want.Green * want.Alpha / 255 - got.Green * got.Alpha / 255), 0, 1);
                    Assert.InRange(Math.Abs(want.Blue * want.Alpha / 255 - got.Blue * got.Alpha / 255), 0, 1);
                }
            }
    }

    [Fact]
    public void Opaque_images_are_rgb_and_transparent_ones_rgba_and_the_zlib_stream_checks_out()
    {
        foreach (var opaque in new[] { true, false })
        {
            using var bmp = RandomBitmap(257, 411, 5, opaque);
            var chunks = Chunks(PngWriter.Encode(bmp));
            Assert.Equal("IHDR", chunks[0].Type);
            Assert.Equal("IEND", chunks[^1].Type);
            Assert.Equal(opaque ? 2 : 6, chunks[0].Data[9]);
            Assert.True(chunks.Count(c => c.Type == "IDAT") > 2, "the image is encoded in several bands");
            var zlib = chunks.Where(c => c.Type == "IDAT").SelectMany(c => c.Data).ToArray();
            // ZLibStream verifies the Adler-32 at the end of the stream: a wrong combined checksum throws here
            using var inflate = new ZLibStream(new MemoryStream(zlib), CompressionMode.Decompress);
            var raw = new MemoryStream();
            inflate.CopyTo(raw);
            int channels = opaque ? 3 : 4;
            Assert.Equal(411L * (257 * channels + 1), raw.Length);
            // every row is "Up"-filtered: undo the filter here and compare the first pixels to the bitmap
            var bytes = raw.ToArray();
            var prev = new byte[257 * channels];
            for (int y = 0; y < 411; y++)
            {
                int at = y * (257 * channels + 1);
                Assert.Equal(2, bytes[at]);
                for (int i = 0; i < prev.Length; i++) prev[i] = (byte)(prev[i] + bytes[at + 1 + i]);
                var c = bmp.GetPixel(y % 257, y);
                int p = (y % 257) * channels;
                Assert.Equal((c.Red, c.Green, c.Blue), (prev[p], prev[p + 1], prev[p + 2]));
            }
        }
    }

    [Theory]
    [InlineData(7, 5, 6, 4)]     // the last pixel of the last row, in the scalar tail of a row
    [InlineData(33, 40, 13, 20)] // inside a vector of four pixels
    [InlineData(33, 40, 0, 0)]
    public void One_pixel_with_transparency_makes_the_image_rgba(int w, int h, int x, int y)
    {
        using var bmp = RandomBitmap(w, h, 3, opaque: true);
        bmp.SetPixel(x, y, new SKColor(10, 20, 30, 254));
        var png = PngWriter.Encode(bmp);
        Assert.Equal(6, Chunks(png)[0].Data[9]);
        using var back = SKBitmap.Decode(png);
        Assert.Equal(254, back.GetPixel(x, y).Alpha);
    }

    [Fact]
    public void Adler32_and_its_combination_match_the_definition()
    {
        var rng = new Random(3);
        var data = new byte[200_000];
        rng.NextBytes(data);
        // the definition, modulo at every step
        uint a = 1, b = 0;
        foreach (var x in data) { a = (a + x) % 65521; b = (b + a) % 65521; }
        uint direct = (b << 16) | a;
        Assert.Equal(direct, PngWriter.Adler32(data));
        foreach (int cut in new[] { 0, 1, 5552, 65521, 70_000, 199_999, 200_000 })
        {
            uint joined = PngWriter.CombineAdler32(PngWriter.Adler32(data.AsSpan(0, cut)), PngWriter.Adler32(data.AsSpan(cut)), data.Length - cut);
            Assert.Equal(direct, joined);
        }
        Assert.Equal(BitwiseCrc32("IEND"u8), PngWriter.Crc32("IEND"u8));
        Assert.Equal(0xAE426082u, PngWriter.Crc32("IEND"u8)); // the CRC every PNG file ends with
    }

    [Fact]
    public void A_rendered_figure_encodes_to_the_same_pixels_skia_encodes()
    {
        var cap = ViewTestCaptures.OneHot(40, 2, 3, pair: true);
        var renderer = new ViewRenderer();
        var layout = renderer.Layout(cap, ViewKind.Model, new HeatmapOptions());
        using var bmp = renderer.RenderBitmap(layout, "viridis");
        using var ours = SKBitmap.Decode(renderer.EncodePng(bmp));
        using var pixmap = bmp.PeekPixels();
        using var skiaData = pixmap.Encode(SKEncodedImageFormat.Png, 100);
        using var theirs = SKBitmap.Decode(skiaData);
        Assert.Equal(theirs.Width, ours.Width);
        Assert.Equal(theirs.Height, ours.Height);
        Assert.Equal(theirs.Pixels, ours.Pixels);
    }

    [Fact]
    public void Other_colour_types_and_empty_bitmaps_are_refused()
    {
        using var gray = new SKBitmap(new SKImageInfo(4, 4, SKColorType.Gray8));
        Assert.Throws<ArgumentException>(() => PngWriter.Encode(gray));
        Assert.Throws<ArgumentException>(() => PngWriter.Encode(new byte[16], 0, 4, 16, true, false));
        Assert.Throws<ArgumentException>(() => PngWriter.Encode(new byte[15], 2, 2, 8, true, false));
    }
}
