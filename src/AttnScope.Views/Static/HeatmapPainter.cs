namespace AttnScope.Views.Static;

/// <summary>Paints a computed single-panel <see cref="HeatmapLayout"/> (the head view) through <see cref="PanelPainter"/>.</summary>
internal static class HeatmapPainter
{
    public static void Paint(IFigureCanvas canvas, HeatmapLayout layout, ColorMap colorMap, FontSet fonts, FigureStyle? style = null)
    {
        style ??= FigureStyle.Default;
        float s = layout.Scale;
        PanelPainter.Cells(canvas, layout.Plot, CellImage.Build(layout.Matrix, layout.ColorScale, colorMap, 1, style.Background), style, s);
        PanelPainter.Labels(canvas, layout.Plot, layout.CellSize, layout.CellSize, layout.RowLabels, layout.RowPlan,
            layout.ColumnLabels, layout.ColumnPlan, fonts, style, s);
        PanelPainter.ColorBar(canvas, layout.ColorBar, layout.Ticks, layout.TickFont, colorMap, fonts, style, s);

        canvas.Text(layout.Title, layout.TitleAnchor.X, layout.TitleAnchor.Y, layout.TitleFont, style.Text, TextAnchor.Middle, bold: true);
        canvas.Text(layout.RowAxisTitle, layout.RowAxisTitleAnchor.X, layout.RowAxisTitleAnchor.Y, layout.AxisTitleFont,
            style.Text, TextAnchor.Middle, rotateDegrees: -90);
        canvas.Text(layout.ColumnAxisTitle, layout.ColumnAxisTitleAnchor.X, layout.ColumnAxisTitleAnchor.Y,
            layout.AxisTitleFont, style.Text, TextAnchor.Middle);
        PanelPainter.Notes(canvas, layout.Notes, layout.NoteAnchor, layout.NoteFont, layout.NoteLineHeight, fonts);
    }

    public static SkiaSharp.SKColor LabelColor(LabelKind kind, FigureStyle style) => PanelPainter.LabelColor(kind, style);
}
