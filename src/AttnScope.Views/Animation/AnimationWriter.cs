using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Views.Animation;

/// <summary>
/// Turns a list of captioned frames into an animated GIF that plays in browsers and GitHub READMEs. Reusable for
/// anything drawn frame by frame: attention over layers, over decoding steps, over training checkpoints.
/// <code>
/// var frames = layers.Select(l => AnimationFrame.FromEncoded(renderer.RenderPng(...), $"layer {l}")).ToList();
/// AnimationWriter.SaveGif("anim.gif", frames);
/// </code>
/// Each frame gets a caption strip above it (the frame label); frames of different sizes are centred on a canvas
/// of the largest size.
/// </summary>
internal static class AnimationWriter
{
    /// <summary>Hard limit on the pixels of all frames together (about 1 GiB of BGRA), so a runaway call fails clearly.</summary>
    public const long MaxTotalPixels = 256L * 1024 * 1024;

    public static byte[] EncodeGif(IReadOnlyList<AnimationFrame> frames, AnimationOptions? options = null, FontSet? fonts = null)
    {
        using var ms = new MemoryStream();
        WriteGif(ms, frames, options, fonts);
        return ms.ToArray();
    }

    /// <summary>Encodes and writes atomically (temporary file, then rename).</summary>
    public static void SaveGif(string path, IReadOnlyList<AnimationFrame> frames, AnimationOptions? options = null, FontSet? fonts = null) =>
        AtomicFile.WriteAllBytes(path, EncodeGif(frames, options, fonts));

    public static void WriteGif(Stream output, IReadOnlyList<AnimationFrame> frames, AnimationOptions? options = null, FontSet? fonts = null)
    {
        ArgumentNullException.ThrowIfNull(frames);
        if (frames.Count == 0) throw new AttnScopeException("an animation needs at least one frame");
        options ??= new AnimationOptions();
        var canvases = Compose(frames, options, fonts);
        try
        {
            var delays = frames.Select((f, i) => (f.DelayMs ?? options.DelayMs) + (i == frames.Count - 1 ? options.LastFrameExtraMs : 0)).ToList();
            GifEncoder.Write(output, canvases, delays, options.Loops);
        }
        finally
        {
            foreach (var c in canvases) c.Dispose();
        }
    }

    /// <summary>The frames as drawn into the file: caption strip on top, image centred below, all the same size.</summary>
    public static List<SKBitmap> Compose(IReadOnlyList<AnimationFrame> frames, AnimationOptions? options = null, FontSet? fonts = null)
    {
        options ??= new AnimationOptions();
        bool captions = frames.Any(f => !string.IsNullOrEmpty(f.Caption));
        fonts = captions ? fonts ?? FontSet.Default : fonts;
        float s = options.Scale, size = options.CaptionFont * s;
        int strip = captions ? (int)MathF.Ceiling(fonts!.LineHeightRatio * size + 12 * s) : 0;
        int w = frames.Max(f => f.Image.Width), h = frames.Max(f => f.Image.Height) + strip;
        if (w > 65535 || h > 65535 || (long)w * h * frames.Count > MaxTotalPixels)
            throw new AttnScopeException($"the animation would be {frames.Count} frames of {w} × {h} pixels, too large; use a smaller scale or fewer frames");
        var result = new List<SKBitmap>(frames.Count);
        try
        {
            foreach (var f in frames)
            {
                var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Bgra8888, SKAlphaType.Premul));
                result.Add(bmp);
                using var canvas = new SKCanvas(bmp);
                canvas.Clear(options.Background);
                canvas.DrawBitmap(f.Image, (w - f.Image.Width) / 2, strip);
                if (captions && !string.IsNullOrEmpty(f.Caption))
                {
                    using var fc = new SkiaFigureCanvas(canvas, fonts!);
                    string text = fonts!.Fit(TokenText.Printable(f.Caption), size, w - 8 * s, bold: true);
                    fc.Text(text, w / 2f, 6 * s + fonts.AscentRatio * size, size, options.CaptionColor, TextAnchor.Middle, bold: true);
                }
                canvas.Flush();
            }
            return result;
        }
        catch
        {
            foreach (var b in result) b.Dispose();
            throw;
        }
    }
}
