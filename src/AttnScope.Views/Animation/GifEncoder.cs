using SkiaSharp;

namespace AttnScope.Views.Animation;

/// <summary>
/// Writes an animated GIF89a: one global 256-colour palette, one full frame per bitmap with its own delay, looping.
/// <para>
/// Why a hand-written encoder: SkiaSharp (the drawing library already used) decodes GIF and animated WebP but
/// encodes neither; the one maintained managed imaging library on offer is either an old release with reported
/// security flaws or a paid licence. GIF89a is small and fully specified (LZW, a palette, a few extension blocks),
/// plays in every browser and in a GitHub README, and heatmap figures have few colours, so a palette loses little.
/// The tests decode the output with SkiaSharp's own GIF decoder (frame count, delays, pixel colours).
/// </para>
/// </summary>
internal static class GifEncoder
{
    /// <summary>Encodes frames of equal size (BGRA8888, alpha ignored) with per-frame delays in milliseconds.</summary>
    /// <param name="loops">Times to play; 0 loops forever.</param>
    public static void Write(Stream output, IReadOnlyList<SKBitmap> frames, IReadOnlyList<int> delaysMs, int loops = 0)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (frames.Count == 0) throw new ArgumentException("an animation needs at least one frame", nameof(frames));
        if (delaysMs.Count != frames.Count) throw new ArgumentException("one delay per frame", nameof(delaysMs));
        int w = frames[0].Width, h = frames[0].Height;
        if (w < 1 || h < 1 || w > 65535 || h > 65535) throw new ArgumentException($"a GIF frame cannot be {w} × {h} pixels");
        foreach (var f in frames)
            if (f.Width != w || f.Height != h) throw new ArgumentException("all frames must have the same size", nameof(frames));

        var palette = GifPalette.Build(frames);
        output.Write("GIF89a"u8);
        U16(output, w);
        U16(output, h);
        output.WriteByte(0xF7); // global colour table of 2^(7+1) entries, 8 bits per primary
        output.WriteByte(0);    // background colour index
        output.WriteByte(0);    // no pixel aspect ratio
        for (int i = 0; i < GifPalette.Size; i++)
        {
            uint c = i < palette.Count ? palette[i] : 0;
            output.WriteByte((byte)(c >> 16));
            output.WriteByte((byte)(c >> 8));
            output.WriteByte((byte)c);
        }
        // NETSCAPE2.0 application extension: loop count
        output.Write([0x21, 0xFF, 0x0B]);
        output.Write("NETSCAPE2.0"u8);
        output.Write([0x03, 0x01]);
        U16(output, Math.Clamp(loops, 0, 65535));
        output.WriteByte(0);

        for (int f = 0; f < frames.Count; f++)
        {
            // graphic control extension: disposal "do not dispose", no transparency, delay in 1/100 s
            output.Write([0x21, 0xF9, 0x04, 0x04]);
            U16(output, Math.Clamp((delaysMs[f] + 5) / 10, 2, 65535)); // browsers treat delays under 2 cs as 10 cs
            output.Write([0x00, 0x00]);
            // image descriptor: the whole canvas, no local colour table, not interlaced
            output.WriteByte(0x2C);
            U16(output, 0);
            U16(output, 0);
            U16(output, w);
            U16(output, h);
            output.WriteByte(0);
            GifLzw.Write(output, palette.Map(frames[f]));
        }
        output.WriteByte(0x3B); // trailer
    }

    private static void U16(Stream s, int v)
    {
        s.WriteByte((byte)v);
        s.WriteByte((byte)(v >> 8));
    }
}
