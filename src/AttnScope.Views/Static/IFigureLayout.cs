namespace AttnScope.Views.Static;

/// <summary>A computed figure of any view: its size, and how to paint it on a canvas (PNG, SVG, PDF).</summary>
internal interface IFigureLayout
{
    int Width { get; }
    int Height { get; }
    /// <summary>The DPI scale the figure was laid out at.</summary>
    float Scale { get; }
    /// <summary>Cell blocks drawn over all panels (one per cell, or per pooled block of cells).</summary>
    long CellBlocks { get; }
    void Paint(IFigureCanvas canvas, ColorMap colorMap, FontSet fonts, FigureStyle style);
}
