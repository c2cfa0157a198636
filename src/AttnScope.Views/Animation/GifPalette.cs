using SkiaSharp;

namespace AttnScope.Views.Animation;

/// <summary>
/// One 256-colour palette for all frames of an animation (so colours never flicker between frames). Figures with
/// at most 256 distinct colours keep every colour exactly. Otherwise a median cut over the distinct colours,
/// weighted by their pixel counts, makes 256 boxes; each box is represented by its most frequent colour, so the
/// large areas of a figure (background, heatmap cells, the colour map's ends) keep their exact colours and only
/// rare in-between shades (antialiased text edges, colour bar steps) move to a neighbour.
/// </summary>
internal sealed class GifPalette
{
    public const int Size = 256;

    private readonly uint[] _colors;              // 0x00RRGGBB
    private readonly Dictionary<uint, byte> _index = new();

    public int Count => _colors.Length;
    public uint this[int i] => _colors[i];

    private GifPalette(uint[] colors)
    {
        _colors = colors;
        for (int i = 0; i < colors.Length; i++) _index.TryAdd(colors[i], (byte)i);
    }

    /// <summary>Builds the palette from the pixels of all frames (RGBA8888 or BGRA8888, alpha ignored).</summary>
    public static GifPalette Build(IEnumerable<SKBitmap> frames)
    {
        var counts = new Dictionary<uint, long>();
        foreach (var bmp in frames)
        {
            var px = Pixels(bmp);
            uint last = uint.MaxValue;
            long run = 0;
            foreach (var p in px)
            {
                uint rgb = p & 0xFFFFFF;
                if (rgb == last) { run++; continue; }
                if (run > 0) Add(counts, last, run);
                last = rgb;
                run = 1;
            }
            if (run > 0) Add(counts, last, run);
        }
        if (counts.Count <= Size) return new GifPalette(counts.OrderByDescending(kv => kv.Value).Select(kv => kv.Key).ToArray());
        return new GifPalette(MedianCut(counts.Select(kv => (kv.Key, kv.Value)).ToArray()));
    }

    private static void Add(Dictionary<uint, long> counts, uint c, long n)
    {
        counts.TryGetValue(c, out var have);
        counts[c] = have + n;
    }

    private static uint[] MedianCut((uint Color, long Count)[] colors)
    {
        var boxes = new List<(int Start, int Length)> { (0, colors.Length) };
        while (boxes.Count < Size)
        {
            // split the box with the widest channel range (most pixels on a tie)
            int best = -1, bestRange = 0, bestChannel = 0;
            long bestCount = 0;
            for (int b = 0; b < boxes.Count; b++)
            {
                var (s, n) = boxes[b];
                if (n < 2) continue;
                var (range, channel) = WidestChannel(colors.AsSpan(s, n));
                long count = 0;
                for (int i = s; i < s + n; i++) count += colors[i].Count;
                if (range > bestRange || (range == bestRange && count > bestCount))
                {
                    best = b; bestRange = range; bestChannel = channel; bestCount = count;
                }
            }
            if (best < 0) break;
            var (start, length) = boxes[best];
            int shift = 16 - 8 * bestChannel;
            Array.Sort(colors, start, length, Comparer<(uint Color, long Count)>.Create(
                (a, b) => ((a.Color >> shift) & 0xFF).CompareTo((b.Color >> shift) & 0xFF)));
            // weighted median, leaving at least one colour on each side
            long half = bestCount / 2, acc = 0;
            int cut = start + 1;
            for (int i = start; i < start + length - 1; i++)
            {
                acc += colors[i].Count;
                cut = i + 1;
                if (acc >= half) break;
            }
            boxes[best] = (start, cut - start);
            boxes.Add((cut, start + length - cut));
        }
        return boxes.Select(b =>
        {
            var span = colors.AsSpan(b.Start, b.Length);
            var top = span[0];
            foreach (var c in span) if (c.Count > top.Count) top = c;
            return top.Color;
        }).ToArray();
    }

    private static (int Range, int Channel) WidestChannel(ReadOnlySpan<(uint Color, long Count)> colors)
    {
        int bestRange = -1, bestChannel = 0;
        for (int ch = 0; ch < 3; ch++)
        {
            int shift = 16 - 8 * ch, lo = 255, hi = 0;
            foreach (var c in colors)
            {
                int v = (int)((c.Color >> shift) & 0xFF);
                if (v < lo) lo = v;
                if (v > hi) hi = v;
            }
            if (hi - lo > bestRange) { bestRange = hi - lo; bestChannel = ch; }
        }
        return (bestRange, bestChannel);
    }

    /// <summary>Palette index of each pixel (the exact colour when present, else the nearest palette colour).</summary>
    public byte[] Map(SKBitmap bmp)
    {
        var px = Pixels(bmp);
        var result = new byte[px.Length];
        uint last = uint.MaxValue;
        byte lastIndex = 0;
        for (int i = 0; i < px.Length; i++)
        {
            uint rgb = px[i] & 0xFFFFFF;
            if (rgb != last)
            {
                last = rgb;
                lastIndex = IndexOf(rgb);
            }
            result[i] = lastIndex;
        }
        return result;
    }

    private byte IndexOf(uint rgb)
    {
        if (_index.TryGetValue(rgb, out var i)) return i;
        int r = (int)(rgb >> 16) & 0xFF, g = (int)(rgb >> 8) & 0xFF, b = (int)rgb & 0xFF;
        int best = 0, bestDist = int.MaxValue;
        for (int k = 0; k < _colors.Length; k++)
        {
            uint c = _colors[k];
            int dr = r - (int)((c >> 16) & 0xFF), dg = g - (int)((c >> 8) & 0xFF), db = b - (int)(c & 0xFF);
            // weighted towards green, as the eye is
            int d = 2 * dr * dr + 4 * dg * dg + 3 * db * db;
            if (d < bestDist) { bestDist = d; best = k; }
        }
        _index[rgb] = (byte)best;
        return (byte)best;
    }

    /// <summary>The bitmap's pixels as 0x??RRGGBB values.</summary>
    private static uint[] Pixels(SKBitmap bmp)
    {
        if (bmp.ColorType != SKColorType.Bgra8888)
            throw new ArgumentException($"frames must be BGRA8888 bitmaps (got {bmp.ColorType}); use AnimationWriter, which converts");
        if (bmp.RowBytes != bmp.Width * 4)
            throw new ArgumentException("frames must be tightly packed bitmaps (row bytes = 4 × width); use AnimationWriter, which converts");
        var span = bmp.GetPixelSpan();
        var result = new uint[bmp.Width * bmp.Height];
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(span)[..result.Length].CopyTo(result);
        return result; // little-endian BGRA bytes read as 0xAARRGGBB
    }
}
