using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>
/// The colours of a heatmap panel's cells, one pixel per cell, or one pixel per <see cref="Pool"/> × Pool block
/// of cells when a panel is smaller than its token count (overview thumbnails). A pooled pixel shows the value of
/// largest magnitude in its block (the maximum, for attention), so sparse patterns such as a diagonal stay visible.
/// </summary>
internal sealed class CellImage
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

    /// <param name="blank">The colour of cells a step has not reached (<see cref="HeatmapMatrix.Visible"/>): the figure's background.</param>
    public static CellImage Build(HeatmapMatrix m, ColorScale scale, ColorMap map, int pool = 1, SKColor? blank = null)
    {
        if (pool < 1) throw new ArgumentOutOfRangeException(nameof(pool));
        int w = (m.Cols + pool - 1) / pool, h = (m.Rows + pool - 1) / pool;
        var colors = new SKColor[w * h];
        var empty = blank ?? SKColors.White;
        if (pool == 1)
        {
            var all = m.Data.Span;
            map.MapAll(all, scale, colors);
            Blank(m, colors, w, 1, empty);
            return new CellImage(w, h, 1, colors);
        }
        var pooled = new float[w * h];
        bool signed = m.MinValue < 0;
        if (pool % 2 == 0 && !signed && !m.HalfResolution.IsEmpty)
            // a block of pool × pool values is a block of pool/2 × pool/2 maxima of the half-resolution copy: the same
            // maximum from a quarter of the data
            BlockMaxima(m.HalfResolution.Span, (m.Rows + 1) / 2, (m.Cols + 1) / 2, pool / 2, signed: false, pooled, w);
        else
            BlockMaxima(m.Data.Span, m.Rows, m.Cols, pool, signed, pooled, w);
        map.MapAll(pooled, scale, colors);
        Blank(m, colors, w, pool, empty);
        return new CellImage(w, h, pool, colors);
    }

    /// <summary>Block maxima (signed: values of largest magnitude) of a rows × cols matrix: first the rows of a block
    /// row into one row (vectorised), then the columns of each block.</summary>
    private static void BlockMaxima(ReadOnlySpan<float> values, int rows, int cols, int pool, bool signed, float[] pooled, int w)
    {
        int h = pooled.Length / w;
        var rowAcc = new float[cols];
        for (int by = 0; by < h; by++)
        {
            int r0 = by * pool, r1 = Math.Min(rows, r0 + pool);
            values.Slice(r0 * cols, cols).CopyTo(rowAcc);
            for (int r = r0 + 1; r < r1; r++) Combine(rowAcc, values.Slice(r * cols, cols), signed);
            int bx = 0;
            if (pool == 2 && !signed && System.Runtime.Intrinsics.X86.Sse.IsSupported)
            {
                // pairs of columns, four at a time: the even and the odd columns of eight values, then their maximum
                // (maxps(odd, even) is "odd > even ? odd : even", as the loop below)
                ref float acc = ref MemoryMarshal.GetReference(rowAcc.AsSpan());
                ref float dst = ref MemoryMarshal.GetReference(pooled.AsSpan(by * w, w));
                for (; bx + 4 <= w && 2 * bx + 8 <= cols; bx += 4)
                {
                    var a = Vector128.LoadUnsafe(ref acc, (nuint)(2 * bx));
                    var b = Vector128.LoadUnsafe(ref acc, (nuint)(2 * bx + 4));
                    var even = System.Runtime.Intrinsics.X86.Sse.Shuffle(a, b, 0b10_00_10_00);
                    var odd = System.Runtime.Intrinsics.X86.Sse.Shuffle(a, b, 0b11_01_11_01);
                    System.Runtime.Intrinsics.X86.Sse.Max(odd, even).StoreUnsafe(ref dst, (nuint)bx);
                }
            }
            for (int c0 = bx * pool; bx < w; bx++, c0 += pool)
            {
                float best = rowAcc[c0];
                for (int c = c0 + 1; c < Math.Min(cols, c0 + pool); c++)
                {
                    float v = rowAcc[c];
                    if (signed ? MathF.Abs(v) > MathF.Abs(best) : v > best) best = v;
                }
                pooled[by * w + bx] = best;
            }
        }
    }

    /// <summary>Paints the blocks wholly beyond the rows / columns a step shows in the blank colour.</summary>
    private static void Blank(HeatmapMatrix m, SKColor[] colors, int w, int pool, SKColor blank)
    {
        if (m.VisibleRows >= m.Rows && m.VisibleColumns >= m.Cols) return;
        int h = colors.Length / w;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (y * pool >= m.VisibleRows || x * pool >= m.VisibleColumns) colors[y * w + x] = blank;
    }

    /// <summary>acc = the elementwise maximum (signed: the value of larger magnitude) of acc and row.</summary>
    private static void Combine(Span<float> acc, ReadOnlySpan<float> row, bool signed)
    {
        // LoadUnsafe / StoreUnsafe rather than span overloads: the tool's ahead-of-time code covers these, so the
        // loop never runs as unoptimised first-call code
        int i = 0;
        ref float pa = ref MemoryMarshal.GetReference(acc);
        ref float px = ref MemoryMarshal.GetReference(row);
        for (; i <= acc.Length - 4; i += 4)
        {
            var a = Vector128.LoadUnsafe(ref pa, (nuint)i);
            var x = Vector128.LoadUnsafe(ref px, (nuint)i);
            var r = signed ? Vector128.ConditionalSelect(Vector128.GreaterThan(Vector128.Abs(x), Vector128.Abs(a)), x, a) : Vector128.Max(a, x);
            r.StoreUnsafe(ref pa, (nuint)i);
        }
        for (; i < acc.Length; i++)
            if (signed ? MathF.Abs(row[i]) > MathF.Abs(acc[i]) : row[i] > acc[i]) acc[i] = row[i];
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
