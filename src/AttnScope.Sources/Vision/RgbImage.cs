using AttnScope.Capture;

namespace AttnScope.Sources.Vision;

/// <summary>An 8-bit RGB image, rows top to bottom, pixels left to right, 3 bytes each (no alpha).</summary>
internal sealed class RgbImage
{
    /// <summary>Largest side accepted (pixels); larger images are refused before anything is allocated.</summary>
    public const int MaxSide = 16384;

    public int Width { get; }
    public int Height { get; }
    /// <summary>[height, width, 3] bytes.</summary>
    public byte[] Pixels { get; }

    public RgbImage(int width, int height, byte[] pixels)
    {
        Check(width, height);
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.Length != (long)width * height * 3)
            throw new AttnScopeException($"an RGB image of {width}×{height} needs {(long)width * height * 3} bytes, not {pixels.Length}");
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>Refuses sizes outside 1…<see cref="MaxSide"/>, in one line.</summary>
    public static void Check(int width, int height)
    {
        if (width is < 1 or > MaxSide || height is < 1 or > MaxSide)
            throw new AttnScopeException($"image size {width}×{height} is out of range (each side 1…{MaxSide} pixels)");
    }

    /// <summary>The crop [left, left + width) × [top, top + height); the box must lie inside the image.</summary>
    public RgbImage Crop(int left, int top, int width, int height)
    {
        if (left < 0 || top < 0 || left + width > Width || top + height > Height)
            throw new AttnScopeException($"crop {width}×{height} at ({left}, {top}) does not fit the {Width}×{Height} image");
        var p = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            Pixels.AsSpan(((top + y) * Width + left) * 3, width * 3).CopyTo(p.AsSpan(y * width * 3, width * 3));
        return new RgbImage(width, height, p);
    }
}
