using System.Runtime.InteropServices;
using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>
/// The colours of a heatmap panel's cells, one pixel per cell, or one pixel per <see cref="Pool"/> × Pool block
/// of cells when a panel is smaller than its token count (overview thumbnails). A pooled pixel shows the value of
/// largest magnitude in its block (the maximum, for attention), so sparse patterns such as a diagonal stay visible.
/// </summary>
public sealed class CellImage
{
    public int Width { get; }
    public int Height { get; }
    /// <summary>Cells per pixel along each axis (1 = every cell is its own pixel block).</summary>
    public int Pool { get; }
    /// <summary>Row-major colours, Width × Height.</summary>
    public SKColor[] Colors { get; }

    private CellImage(int width, int height, int pool, SKColor[] colors)
    {
        Width = width; Height = height; Pool = pool; Colors = colors;
    }

    public SKColor this[int x, int y] => Colors[y * Width + x];

    public static CellImage Build(HeatmapMatrix m, ColorScale scale, ColorMap map, int pool = 1)
    {
        if (pool < 1) throw new ArgumentOutOfRangeException(nameof(pool));
        int w = (m.Cols + pool - 1) / pool, h = (m.Rows + pool - 1) / pool;
        var colors = new SKColor[w * h];
        if (pool == 1)
        {
            for (int i = 0; i < colors.Length; i++) colors[i] = map.Map(scale.Normalize(m.Values[i]));
            return new CellImage(w, h, 1, colors);
        }
        var pooled = new float[w * h];
        var mag = new float[w * h];
        for (int r = 0; r < m.Rows; r++)
        {
            int y = r / pool;
            var row = m.Values.AsSpan(r * m.Cols, m.Cols);
            for (int c = 0; c < m.Cols; c++)
            {
                float v = row[c], a = MathF.Abs(v);
                int i = y * w + c / pool;
                if (a > mag[i]) { mag[i] = a; pooled[i] = v; }
            }
        }
        for (int i = 0; i < colors.Length; i++) colors[i] = map.Map(scale.Normalize(pooled[i]));
        return new CellImage(w, h, pool, colors);
    }

    /// <summary>The cells as an opaque BGRA bitmap, one pixel per cell (scaled up with nearest-neighbour sampling when drawn).</summary>
    public SKImage ToImage()
    {
        var info = new SKImageInfo(Width, Height, SKColorType.Bgra8888, SKAlphaType.Premul);
        // SKColor is 0xAARRGGBB, which is BGRA in memory on little-endian machines
        var bytes = MemoryMarshal.AsBytes(Colors.AsSpan());
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian machines are not supported");
        return SKImage.FromPixelCopy(info, bytes, Width * 4) ?? throw new InvalidOperationException("cannot build the cell image");
    }
}
