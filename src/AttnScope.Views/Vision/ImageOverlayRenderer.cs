using AttnScope.Analyses.Vision;
using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Sources.Vision;
using AttnScope.Views.Animation;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Views.Vision;

/// <summary>How overlays are drawn.</summary>
internal sealed record OverlayOptions
{
    /// <summary>Side of each panel's image in pixels (the model's input image is scaled to it).</summary>
    public int PanelSize { get; init; } = 224;
    /// <summary>Panels per row.</summary>
    public int Columns { get; init; } = 4;
    /// <summary>Opacity of the colour layer at the map's maximum (it fades to <see cref="MinAlpha"/> at 0).</summary>
    public float MaxAlpha { get; init; } = 0.4f;
    public float MinAlpha { get; init; } = 0.0f;
    /// <summary>Opacity of the dark veil over a value of 0 (none at the maximum).</summary>
    public float Veil { get; init; } = 0.7f;
    public string ColorMap { get; init; } = "magma";
    /// <summary>A patch to outline (the query patch), or null.</summary>
    public (int Row, int Col)? Marked { get; init; }
}

/// <summary>
/// Heat maps over an image's patch grid: each panel is the model's view of the image with one map drawn on it, one
/// coloured square per patch (each panel scaled from 0 to its own maximum, the value named under the panel), the
/// image veiled dark under low values and coloured under high ones, so the attended patches stand out. PNG panels side by side, or one map per frame
/// as a GIF (layer animation).
/// </summary>
internal static class ImageOverlayRenderer
{
    private const int Margin = 10, TitleSize = 13;

    /// <summary>The panels as one PNG, with a title line above them.</summary>
    public static byte[] RenderPng(RgbImage image, IReadOnlyList<PatchMap> maps, string title, OverlayOptions? options = null)
    {
        using var bmp = Render(image, maps, title, options);
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    public static void SavePng(string path, RgbImage image, IReadOnlyList<PatchMap> maps, string title, OverlayOptions? options = null) =>
        AtomicFile.WriteAllBytes(path, RenderPng(image, maps, title, options));

    /// <summary>One frame per map (captioned with its title), as the existing animations are written.</summary>
    public static void SaveGif(string path, RgbImage image, IReadOnlyList<PatchMap> maps, OverlayOptions? options = null, int delayMs = 900)
    {
        var o = (options ?? new OverlayOptions()) with { Columns = 1 };
        var frames = maps.Select(m => new AnimationFrame(Render(image, [m], null, o), m.Title)).ToList();
        try { AnimationWriter.SaveGif(path, frames, new AnimationOptions { DelayMs = delayMs }); }
        finally { foreach (var f in frames) f.Image.Dispose(); }
    }

    public static SKBitmap Render(RgbImage image, IReadOnlyList<PatchMap> maps, string? title, OverlayOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (maps.Count == 0) throw new AttnScopeException("nothing to draw: no maps");
        var o = options ?? new OverlayOptions();
        if (o.PanelSize is < 32 or > 2048) throw new AttnScopeException($"panel size {o.PanelSize} is out of range (32…2048)");
        var fonts = FontSet.Default;
        var cmap = Static.ColorMap.Get(o.ColorMap);
        int cols = Math.Clamp(o.Columns, 1, maps.Count), rows = (maps.Count + cols - 1) / cols;
        int side = o.PanelSize;
        int titleH = title is null ? 0 : (int)(fonts.LineHeightRatio * (TitleSize + 2)) + Margin;
        int labelH = (int)(fonts.LineHeightRatio * TitleSize) * 2 + 6;
        int cellW = side + Margin, cellH = side + labelH + Margin;
        int w = Margin + cols * cellW, h = titleH + Margin + rows * cellH;
        if (title is not null) w = Math.Max(w, (int)MathF.Ceiling(fonts.Measure(TokenText.Printable(title), TitleSize + 2, bold: true)) + 2 * Margin);
        if ((long)w * h > 64L << 20) throw new AttnScopeException($"the figure would be {w}×{h} pixels; use fewer panels or a smaller panel size");
        var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Bgra8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bmp);
        canvas.Clear(SKColors.White);
        using var photo = ToSkImage(image);
        using var fc = new SkiaFigureCanvas(canvas, fonts);
        if (title is not null)
            fc.Text(fonts.Fit(TokenText.Printable(title), TitleSize + 2, w - 2 * Margin, bold: true), Margin, Margin + fonts.AscentRatio * (TitleSize + 2), TitleSize + 2, SKColors.Black, TextAnchor.Start, bold: true);
        for (int k = 0; k < maps.Count; k++)
        {
            var m = maps[k];
            if (m.Values.Length != m.Rows * m.Cols) throw new AttnScopeException($"map '{m.Title}' has {m.Values.Length} values for a {m.Rows}×{m.Cols} grid");
            float x0 = Margin + (k % cols) * cellW, y0 = titleH + Margin + (k / cols) * cellH;
            var rect = new SKRect(x0, y0, x0 + side, y0 + side);
            canvas.DrawImage(photo, rect, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
            float max = 0, min = float.MaxValue;
            foreach (var v in m.Values) { max = MathF.Max(max, v); min = MathF.Min(min, v); }
            float pw = side / (float)m.Cols, ph = side / (float)m.Rows;
            using var paint = new SKPaint { IsAntialias = false };
            for (int r = 0; r < m.Rows; r++)
                for (int c = 0; c < m.Cols; c++)
                {
                    float t = max > 0 ? Math.Clamp(m.Values[r * m.Cols + c] / max, 0, 1) : 0;
                    var cell = new SKRect(x0 + c * pw, y0 + r * ph, x0 + (c + 1) * pw, y0 + (r + 1) * ph);
                    // A dark veil over low values, the colour map's colour over high ones.
                    paint.Color = SKColors.Black.WithAlpha((byte)(255 * o.Veil * (1 - t)));
                    canvas.DrawRect(cell, paint);
                    paint.Color = cmap.Map(t).WithAlpha((byte)(255 * (o.MinAlpha + (o.MaxAlpha - o.MinAlpha) * t)));
                    canvas.DrawRect(cell, paint);
                }
            if (o.Marked is (int mr, int mc) && mr < m.Rows && mc < m.Cols)
            {
                using var box = new SKPaint { Style = SKPaintStyle.Stroke, StrokeWidth = 2, Color = SKColors.Cyan, IsAntialias = true };
                canvas.DrawRect(new SKRect(x0 + mc * pw + 1, y0 + mr * ph + 1, x0 + (mc + 1) * pw - 1, y0 + (mr + 1) * ph - 1), box);
            }
            float ty = y0 + side + 4 + fonts.AscentRatio * TitleSize;
            fc.Text(fonts.Fit(TokenText.Printable(m.Title), TitleSize, side, bold: false), x0, ty, TitleSize, SKColors.Black);
            fc.Text($"max {max:G3}, min {min:G3}", x0, ty + fonts.LineHeightRatio * TitleSize, TitleSize - 1, new SKColor(90, 90, 90));
        }
        canvas.Flush();
        return bmp;
    }

    private static SKImage ToSkImage(RgbImage image)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var rgba = new byte[image.Width * image.Height * 4];
        for (int i = 0, j = 0; i < image.Pixels.Length; i += 3, j += 4)
        {
            rgba[j] = image.Pixels[i]; rgba[j + 1] = image.Pixels[i + 1]; rgba[j + 2] = image.Pixels[i + 2]; rgba[j + 3] = 255;
        }
        return SKImage.FromPixelCopy(info, rgba);
    }
}
