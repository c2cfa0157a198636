using AttnScope.Capture;
using AttnScope.Sources.Vision;
using SkiaSharp;

namespace AttnScope.Views.Vision;

/// <summary>
/// Reads PNG, JPEG and WebP files through SkiaSharp into 8-bit RGB. Alpha is dropped without compositing (as
/// PIL's <c>convert("RGB")</c> does), so colours are taken unpremultiplied; EXIF orientation is not applied (as
/// PIL's <c>Image.open</c>). The size is checked from the header before the pixels are decoded.
/// </summary>
internal static class ImageFile
{
    /// <summary>Largest file read (bytes).</summary>
    public const long MaxBytes = 256L << 20;

    public static RgbImage Load(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new AttnScopeException($"image '{path}' does not exist");
        if (info.Length > MaxBytes) throw new AttnScopeException($"image '{path}' is {info.Length:N0} bytes; at most {MaxBytes:N0} are read");
        return Decode(File.ReadAllBytes(path), path);
    }

    public static RgbImage Decode(byte[] bytes, string origin)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data) ?? throw new AttnScopeException($"'{origin}' is not an image SkiaSharp can read (PNG, JPEG, WebP)");
        int w = codec.Info.Width, h = codec.Info.Height;
        RgbImage.Check(w, h);
        if ((long)w * h > 64L << 20) throw new AttnScopeException($"image '{origin}' has {w}×{h} pixels; at most {64 << 20:N0} are read");
        var target = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[(long)w * h * 4];
        unsafe
        {
            fixed (byte* p = rgba)
            {
                var result = codec.GetPixels(target, (nint)p);
                if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
                    throw new AttnScopeException($"'{origin}' could not be decoded: {result}");
            }
        }
        var rgb = new byte[(long)w * h * 3];
        for (long i = 0, j = 0; i < rgba.Length; i += 4, j += 3)
        {
            rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2];
        }
        return new RgbImage(w, h, rgb);
    }

    /// <summary>Writes an RGB image as PNG (atomically).</summary>
    public static void SavePng(string path, RgbImage image)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var rgba = new byte[image.Width * image.Height * 4];
        for (int i = 0, j = 0; i < image.Pixels.Length; i += 3, j += 4)
        {
            rgba[j] = image.Pixels[i]; rgba[j + 1] = image.Pixels[i + 1]; rgba[j + 2] = image.Pixels[i + 2]; rgba[j + 3] = 255;
        }
        using var sk = SKImage.FromPixelCopy(info, rgba);
        using var data = sk.Encode(SKEncodedImageFormat.Png, 100);
        AttnScope.Capture.Io.AtomicFile.WriteAllBytes(path, data.ToArray());
    }
}
