using AttnScope.Capture;
using AttnScope.Capture.Io;
using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>
/// Renders one attention heatmap (one head, or the mean / max over heads, of one layer of one stack) as PNG or SVG:
/// queries on rows, keys on columns, token labels on both axes, a colour bar, a title and axis titles.
/// </summary>
public sealed class HeatmapRenderer
{
    private readonly FontSet? _fonts;
    private readonly FigureStyle _style;

    public HeatmapRenderer(FigureStyle? style = null, FontSet? fonts = null)
    {
        _style = style ?? FigureStyle.Default;
        _fonts = fonts;
    }

    private FontSet Fonts => _fonts ?? FontSet.Default;

    /// <summary>Selects the matrix and computes the figure geometry without drawing.</summary>
    public HeatmapLayout Layout(AttentionCapture capture, HeatmapOptions options)
    {
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var matrix = HeatmapMatrix.From(capture, options);
        return HeatmapLayout.Compute(matrix, options, capture.Metadata.ModelId, Fonts, _style);
    }

    public byte[] RenderPng(AttentionCapture capture, HeatmapOptions options) => RenderPng(Layout(capture, options), options.ColorMap);

    public byte[] RenderPng(HeatmapLayout layout, string colorMap)
    {
        var map = ColorMap.Get(colorMap);
        var info = new SKImageInfo(layout.Width, layout.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info)
            ?? throw new AttnScopeException($"cannot allocate a {layout.Width} × {layout.Height} image");
        surface.Canvas.Clear(_style.Background);
        using (var canvas = new SkiaFigureCanvas(surface.Canvas, Fonts))
            HeatmapPainter.Paint(canvas, layout, map, Fonts, _style);
        surface.Canvas.Flush();
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new AttnScopeException("PNG encoding failed");
        return data.ToArray();
    }

    /// <summary>Renders and writes a PNG atomically (temporary file, then rename).</summary>
    public void SavePng(AttentionCapture capture, HeatmapOptions options, string path)
    {
        var png = RenderPng(capture, options);
        AtomicFile.WriteAllBytes(path, png);
    }

    public string RenderSvg(AttentionCapture capture, HeatmapOptions options) => RenderSvg(Layout(capture, options), options.ColorMap);

    public string RenderSvg(HeatmapLayout layout, string colorMap)
    {
        var map = ColorMap.Get(colorMap);
        var canvas = new SvgFigureCanvas(layout.Width, layout.Height, _style.Background, Fonts.FamilyName);
        HeatmapPainter.Paint(canvas, layout, map, Fonts, _style);
        return canvas.Finish();
    }

    /// <summary>Renders and writes an SVG (UTF-8) atomically.</summary>
    public void SaveSvg(AttentionCapture capture, HeatmapOptions options, string path)
    {
        var svg = RenderSvg(capture, options);
        AtomicFile.WriteAllBytes(path, new System.Text.UTF8Encoding(false).GetBytes(svg));
    }
}
