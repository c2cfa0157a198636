using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>Paints a computed <see cref="HeatmapLayout"/> on any <see cref="IFigureCanvas"/>.</summary>
public static class HeatmapPainter
{
    public static void Paint(IFigureCanvas canvas, HeatmapLayout layout, ColorMap colorMap, FontSet fonts, FigureStyle? style = null)
    {
        style ??= FigureStyle.Default;
        var m = layout.Matrix;
        float s = layout.Scale;
        float inv = 1f / layout.ColorMax;

        // cells: solid, pixel-aligned rectangles
        for (int r = 0; r < m.Rows; r++)
            for (int c = 0; c < m.Cols; c++)
                canvas.FillRect(layout.CellRect(r, c), colorMap.Map(m[r, c] * inv));
        Frame(canvas, layout.Plot, style.Frame, s);

        // token labels, each with a short tick mark from the plot edge to its row / column
        float tick = MathF.Max(1, MathF.Round((style.LabelGap - 1) * s));
        foreach (var l in layout.RowLabels)
        {
            float y = layout.Plot.Top + (l.Index + 0.5f) * layout.CellSize;
            canvas.Line(layout.Plot.Left - tick, y, layout.Plot.Left, y, style.Frame, MathF.Max(1, s * 0.75f));
        }
        foreach (var l in layout.ColumnLabels)
        {
            float x = layout.Plot.Left + (l.Index + 0.5f) * layout.CellSize;
            canvas.Line(x, layout.Plot.Bottom, x, layout.Plot.Bottom + tick, style.Frame, MathF.Max(1, s * 0.75f));
        }
        foreach (var l in layout.RowLabels)
            canvas.Text(l.Text, l.Box.Right, l.Box.Top + fonts.AscentRatio * layout.RowPlan.FontSize,
                layout.RowPlan.FontSize, LabelColor(l.Kind, style), TextAnchor.End);
        foreach (var l in layout.ColumnLabels)
            canvas.Text(l.Text, l.Box.Left + fonts.AscentRatio * layout.ColumnPlan.FontSize, l.Box.Top,
                layout.ColumnPlan.FontSize, LabelColor(l.Kind, style), TextAnchor.End, rotateDegrees: -90);

        // colour bar, bottom (0) to top (max), one strip per pixel row
        var bar = layout.ColorBar;
        int rows = (int)bar.Height;
        for (int y = 0; y < rows; y++)
        {
            float t = (rows - y - 0.5f) / rows;
            canvas.FillRect(new SKRect(bar.Left, bar.Top + y, bar.Right, bar.Top + y + 1), colorMap.Map(t));
        }
        Frame(canvas, bar, style.Frame, s);
        float tickFont = layout.TickFont;
        foreach (var t in layout.Ticks)
        {
            canvas.Line(bar.Right, t.Y, bar.Right + style.TickLength * s, t.Y, style.Frame, s);
            canvas.Text(t.Text, bar.Right + (style.TickLength + 3) * s,
                t.Y + (fonts.AscentRatio - fonts.DescentRatio) / 2 * tickFont, tickFont, style.Text);
        }

        // titles
        canvas.Text(layout.Title, layout.TitleAnchor.X, layout.TitleAnchor.Y, layout.TitleFont, style.Text, TextAnchor.Middle, bold: true);
        canvas.Text(layout.RowAxisTitle, layout.RowAxisTitleAnchor.X, layout.RowAxisTitleAnchor.Y, layout.AxisTitleFont,
            style.Text, TextAnchor.Middle, rotateDegrees: -90);
        canvas.Text(layout.ColumnAxisTitle, layout.ColumnAxisTitleAnchor.X, layout.ColumnAxisTitleAnchor.Y,
            layout.AxisTitleFont, style.Text, TextAnchor.Middle);

        // notes
        float y0 = layout.NoteAnchor.Y;
        foreach (var line in layout.Notes)
        {
            float x = layout.NoteAnchor.X;
            foreach (var piece in line)
            {
                canvas.Text(piece.Text, x, y0, layout.NoteFont, piece.Color);
                x += fonts.Measure(piece.Text, layout.NoteFont);
            }
            y0 += layout.NoteLineHeight;
        }
    }

    public static SKColor LabelColor(LabelKind kind, FigureStyle style) => kind switch
    {
        LabelKind.Special => style.SpecialText,
        LabelKind.SegmentB => style.SegmentBText,
        _ => style.Text,
    };

    /// <summary>A thin frame just outside a rectangle, so it never covers cells.</summary>
    private static void Frame(IFigureCanvas canvas, SKRect r, SKColor color, float s)
    {
        float w = MathF.Max(1, MathF.Round(s));
        var o = SKRect.Inflate(r, w, w);
        canvas.FillRect(new SKRect(o.Left, o.Top, o.Right, r.Top), color);
        canvas.FillRect(new SKRect(o.Left, r.Bottom, o.Right, o.Bottom), color);
        canvas.FillRect(new SKRect(o.Left, r.Top, r.Left, r.Bottom), color);
        canvas.FillRect(new SKRect(r.Right, r.Top, o.Right, r.Bottom), color);
    }
}
