using AttnScope.Capture;
using AttnScope.Views.Static;

namespace AttnScope;

/// <summary>Static pictures of a capture's attention, as PNG or SVG files.</summary>
public static class Render
{
    /// <summary>
    /// Draws one head's attention matrix (queries down, keys across, tokens on both axes, a colour bar) and writes
    /// it to <paramref name="path"/>: an SVG file when the name ends in <c>.svg</c>, otherwise a PNG file.
    /// </summary>
    /// <param name="capture">The capture.</param>
    /// <param name="layer">The layer, from 0.</param>
    /// <param name="head">The head, from 0; <c>null</c> draws the mean over the layer's heads.</param>
    /// <param name="path">The image file to write.</param>
    /// <param name="colorMap">viridis (default), magma, cividis, greys or rdbu.</param>
    /// <exception cref="AttnScopeException">The layer or head is out of range, or the colour map is unknown.</exception>
    public static void Heatmap(AttentionCapture capture, int layer, int? head, string path, string colorMap = "viridis")
    {
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var options = new HeatmapOptions
        {
            Stack = Analyze.SelfStack(capture),
            Layer = layer,
            Heads = head is { } h ? HeadSelection.Single(h) : HeadSelection.Mean,
            ColorMap = colorMap,
        };
        var renderer = new HeatmapRenderer();
        if (path.EndsWith(".svg", StringComparison.OrdinalIgnoreCase)) renderer.SaveSvg(capture, options, path);
        else renderer.SavePng(capture, options, path);
    }
}
