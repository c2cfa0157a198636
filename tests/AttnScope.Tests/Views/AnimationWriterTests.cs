using AttnScope.Views.Animation;
using SkiaSharp;

namespace AttnScope.Tests.Views;

/// <summary>The GIF writer, checked by decoding its output with SkiaSharp's GIF decoder.</summary>
public class AnimationWriterTests
{
    internal static SKBitmap[] DecodeFrames(byte[] gif, out SKCodecFrameInfo[] info)
    {
        using var codec = SKCodec.Create(new SKMemoryStream(gif)) ?? throw new Xunit.Sdk.XunitException("not a decodable image");
        Assert.Equal(SKEncodedImageFormat.Gif, codec.EncodedFormat);
        info = codec.FrameInfo;
        int n = Math.Max(1, codec.FrameCount);
        var frames = new SKBitmap[n];
        var imageInfo = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Bgra8888, SKAlphaType.Premul);
        for (int i = 0; i < n; i++)
        {
            frames[i] = new SKBitmap(imageInfo);
            var result = codec.GetPixels(imageInfo, frames[i].GetPixels(), new SKCodecOptions(i));
            Assert.Equal(SKCodecResult.Success, result);
        }
        return frames;
    }

    private static SKBitmap Solid(int w, int h, SKColor c)
    {
        var b = new SKBitmap(w, h);
        b.Erase(c);
        return b;
    }

    [Fact]
    public void SolidFramesDecodeToTheirColoursAndDelays()
    {
        SKColor[] colors = [new(0xFD, 0xE7, 0x25), new(0x44, 0x01, 0x54), new(0x12, 0x34, 0x56)];
        var frames = colors.Select((c, i) => new AnimationFrame(Solid(31, 17, c), DelayMs: 100 * (i + 1))).ToList();
        var gif = AnimationWriter.EncodeGif(frames, new AnimationOptions { LastFrameExtraMs = 0 });
        Assert.Equal("GIF89a", System.Text.Encoding.ASCII.GetString(gif, 0, 6));
        var decoded = DecodeFrames(gif, out var info);
        Assert.Equal(3, decoded.Length);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(100 * (i + 1), info[i].Duration);
            foreach (var (x, y) in new[] { (0, 0), (30, 16), (15, 8) })
                Assert.Equal(colors[i], decoded[i].GetPixel(x, y));
        }
    }

    [Fact]
    public void NoiseOfAtMost256ColoursRoundTripsExactlyThroughTableResets()
    {
        // 400 × 300 pixels of random colours from a set of 200: LZW fills its 4096-code table many times over
        var rng = new Random(7);
        var palette = Enumerable.Range(0, 200).Select(_ => new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256))).ToArray();
        var frames = new List<AnimationFrame>();
        for (int f = 0; f < 2; f++)
        {
            var b = new SKBitmap(400, 300);
            for (int y = 0; y < 300; y++)
                for (int x = 0; x < 400; x++)
                    b.SetPixel(x, y, f == 0 ? palette[rng.Next(200)] : palette[(x / 7 + y / 3) % 200]);
            frames.Add(new AnimationFrame(b));
        }
        var decoded = DecodeFrames(AnimationWriter.EncodeGif(frames), out _);
        Assert.Equal(2, decoded.Length);
        for (int f = 0; f < 2; f++)
            for (int y = 0; y < 300; y++)
                for (int x = 0; x < 400; x++)
                    if (decoded[f].GetPixel(x, y) != frames[f].Image.GetPixel(x, y))
                        Assert.Fail($"frame {f} pixel ({x}, {y}): {decoded[f].GetPixel(x, y)} != {frames[f].Image.GetPixel(x, y)}");
    }

    [Fact]
    public void ManyColoursKeepTheLargeAreasExact()
    {
        // a smooth gradient (thousands of colours) with two large solid blocks
        var b = new SKBitmap(256, 200);
        for (int y = 0; y < 200; y++)
            for (int x = 0; x < 256; x++)
                b.SetPixel(x, y, new SKColor((byte)x, (byte)y, (byte)(x ^ y)));
        var top = new SKColor(0xFD, 0xE7, 0x25);
        var bottom = new SKColor(0x44, 0x01, 0x54);
        using (var c = new SKCanvas(b))
        {
            c.DrawRect(0, 0, 60, 60, new SKPaint { Color = top });
            c.DrawRect(100, 100, 60, 60, new SKPaint { Color = bottom });
        }
        var decoded = DecodeFrames(AnimationWriter.EncodeGif([new AnimationFrame(b)]), out _);
        Assert.Equal(top, decoded[0].GetPixel(30, 30));
        Assert.Equal(bottom, decoded[0].GetPixel(130, 130));
        // everything else is near its original colour
        long err = 0;
        for (int y = 0; y < 200; y++)
            for (int x = 0; x < 256; x++)
            {
                var o = b.GetPixel(x, y);
                var d = decoded[0].GetPixel(x, y);
                err += Math.Abs(o.Red - d.Red) + Math.Abs(o.Green - d.Green) + Math.Abs(o.Blue - d.Blue);
            }
        Assert.True(err / (256.0 * 200) < 30, $"mean error {err / (256.0 * 200)}");
    }

    [Fact]
    public void CaptionsAreDrawnInAStripAboveEachFrame()
    {
        var frames = new[] { new AnimationFrame(Solid(200, 50, SKColors.White), "layer 0 of 2"), new AnimationFrame(Solid(200, 80, SKColors.White), "layer 1 of 2") };
        var composed = AnimationWriter.Compose(frames);
        Assert.All(composed, c => Assert.Equal(composed[0].Width, c.Width));
        Assert.All(composed, c => Assert.Equal(composed[0].Height, c.Height));
        Assert.True(composed[0].Height > 80, "a caption strip is added above the largest frame");
        int strip = composed[0].Height - 80;
        foreach (var c in composed)
        {
            int dark = 0;
            for (int y = 0; y < strip; y++)
                for (int x = 0; x < c.Width; x++)
                    if (c.GetPixel(x, y).Red < 128) dark++;
            Assert.True(dark > 30, "caption text is drawn");
        }
        var gif = AnimationWriter.EncodeGif(frames);
        Assert.Equal(2, DecodeFrames(gif, out _).Length);
    }

    [Fact]
    public void EncodedFramesOfAnyColourTypeAndSizeAreCentred()
    {
        using var small = new SKBitmap(new SKImageInfo(10, 6, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        small.Erase(new SKColor(0x12, 0x80, 0xF0));
        byte[] png;
        using (var img = SKImage.FromBitmap(small)) using (var data = img.Encode(SKEncodedImageFormat.Png, 100)) png = data.ToArray();
        var frames = new[] { AnimationFrame.FromEncoded(png), new AnimationFrame(Solid(20, 10, SKColors.Black)) };
        var decoded = DecodeFrames(AnimationWriter.EncodeGif(frames, new AnimationOptions { Background = SKColors.White }), out _);
        Assert.Equal((20, 10), (decoded[0].Width, decoded[0].Height));
        Assert.Equal(new SKColor(0x12, 0x80, 0xF0), decoded[0].GetPixel(10, 3)); // centred horizontally, top-aligned
        Assert.Equal(SKColors.White, decoded[0].GetPixel(1, 1));                 // padding in the background colour
        Assert.Equal(SKColors.White, decoded[0].GetPixel(10, 8));
        Assert.Equal(SKColors.Black, decoded[1].GetPixel(1, 1));
        Assert.Throws<ArgumentException>(() => AnimationFrame.FromEncoded([1, 2, 3]));
    }

    [Fact]
    public void EmptyAnimationIsAnError()
    {
        Assert.Throws<AttnScope.Capture.AttnScopeException>(() => AnimationWriter.EncodeGif([]));
    }
}
