using SkiaSharp;

namespace AttnScope.Views.Static;

internal enum TextAnchor { Start, Middle, End }

/// <summary>
/// What figures draw on: a raster (Skia, for PNG) or SVG. Coordinates are image pixels; text is placed by its
/// baseline anchor point and rotated about it.
/// </summary>
internal interface IFigureCanvas
{
    /// <summary>A solid rectangle with exact edges (no antialiasing).</summary>
    void FillRect(SKRect rect, SKColor color);
    /// <summary>Heatmap cells: the cell image stretched over <paramref name="plot"/>, every cell a solid block.</summary>
    void Cells(SKRect plot, CellImage cells);
    void Line(float x0, float y0, float x1, float y1, SKColor color, float width);
    void Text(string text, float x, float y, float size, SKColor color, TextAnchor anchor = TextAnchor.Start,
        float rotateDegrees = 0, bool bold = false);
}
