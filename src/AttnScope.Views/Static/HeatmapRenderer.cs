using AttnScope.Capture;
using AttnScope.Capture.Io;

namespace AttnScope.Views.Static;

/// <summary>
/// Renders one attention heatmap (one head, or the mean / max over heads, of one layer of one stack) as PNG or SVG:
/// queries on rows, keys on columns, token labels on both axes, a colour bar, a title and axis titles. The head
/// view of <see cref="ViewRenderer"/>, with a typed layout.
/// </summary>
internal sealed class HeatmapRenderer
{
    private readonly ViewRenderer _views;
    private readonly FontSet? _fonts;
    private readonly FigureStyle _style;

    public HeatmapRenderer(FigureStyle? style = null, FontSet? fonts = null)
    {
        _style = style ?? FigureStyle.Default;
        _fonts = fonts;
        _views = new ViewRenderer(style, fonts);
    }

    /// <summary>Selects the matrix and computes the figure geometry without drawing.</summary>
    public HeatmapLayout Layout(AttentionCapture capture, HeatmapOptions options)
    {
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return HeatmapLayout.Compute(HeatmapMatrix.From(capture, options), options, capture.Metadata.ModelId, _fonts ?? FontSet.Default, _style);
    }

    public byte[] RenderPng(AttentionCapture capture, HeatmapOptions options) => RenderPng(Layout(capture, options), options.ColorMap);

    public byte[] RenderPng(HeatmapLayout layout, string colorMap) => _views.RenderPng(layout, colorMap);

    /// <summary>Renders and writes a PNG atomically (temporary file, then rename).</summary>
    public void SavePng(AttentionCapture capture, HeatmapOptions options, string path) =>
        AtomicFile.WriteAllBytes(path, RenderPng(capture, options));

    public string RenderSvg(AttentionCapture capture, HeatmapOptions options) => RenderSvg(Layout(capture, options), options.ColorMap);

    public string RenderSvg(HeatmapLayout layout, string colorMap) => _views.RenderSvg(layout, colorMap);

    /// <summary>Renders and writes an SVG (UTF-8) atomically.</summary>
    public void SaveSvg(AttentionCapture capture, HeatmapOptions options, string path) =>
        AtomicFile.WriteAllBytes(path, new System.Text.UTF8Encoding(false).GetBytes(RenderSvg(capture, options)));
}
