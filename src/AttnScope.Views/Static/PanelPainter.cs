using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>
/// Paints the parts every view is made of, on any <see cref="IFigureCanvas"/>: a heatmap panel (cells and frame),
/// token labels with ticks, a colour bar with ticks, and note lines. The head view and the grid views (heads,
/// layers, model) all draw through it.
/// </summary>
internal static class PanelPainter
{
    /// <summary>Cells stretched over the plot (whole-pixel blocks), with a thin frame just outside.</summary>
    public static void Cells(IFigureCanvas canvas, SKRect plot, CellImage cells, FigureStyle style, float s)
    {
        canvas.Cells(plot, cells);
        Frame(canvas, plot, style.Frame, s);
    }

    /// <summary>Row labels left of a plot and column labels below it, each with a short tick to its row / column.</summary>
    public static void Labels(IFigureCanvas canvas, SKRect plot, float cellWidth, float cellHeight,
        IReadOnlyList<DrawnLabel> rows, AxisLabelPlan? rowPlan, IReadOnlyList<DrawnLabel> columns, AxisLabelPlan? columnPlan,
        FontSet fonts, FigureStyle style, float s)
    {
        float tick = MathF.Max(1, MathF.Round((style.LabelGap - 1) * s));
        float width = MathF.Max(1, s * 0.75f);
        foreach (var l in rows)
        {
            if (l.Text.Length == 0) continue; // a token a step has not reached
            float y = plot.Top + (l.Index + 0.5f) * cellHeight;
            canvas.Line(plot.Left - tick, y, plot.Left, y, style.Frame, width);
        }
        foreach (var l in columns)
        {
            if (l.Text.Length == 0) continue;
            float x = plot.Left + (l.Index + 0.5f) * cellWidth;
            canvas.Line(x, plot.Bottom, x, plot.Bottom + tick, style.Frame, width);
        }
        if (rowPlan is not null)
            foreach (var l in rows)
                canvas.Text(l.Text, l.Box.Right, l.Box.Top + fonts.AscentRatio * rowPlan.FontSize,
                    rowPlan.FontSize, LabelColor(l.Kind, style), TextAnchor.End);
        if (columnPlan is not null)
            foreach (var l in columns)
                canvas.Text(l.Text, l.Box.Left + fonts.AscentRatio * columnPlan.FontSize, l.Box.Top,
                    columnPlan.FontSize, LabelColor(l.Kind, style), TextAnchor.End, rotateDegrees: -90);
    }

    /// <summary>A vertical colour bar, bottom (scale minimum) to top (maximum), with labelled ticks to its right.</summary>
    public static void ColorBar(IFigureCanvas canvas, SKRect bar, IReadOnlyList<ColorBarTick> ticks, float tickFont,
        ColorMap map, FontSet fonts, FigureStyle style, float s)
    {
        int rows = (int)bar.Height;
        for (int y = 0; y < rows; y++)
        {
            float t = (rows - y - 0.5f) / rows;
            canvas.FillRect(new SKRect(bar.Left, bar.Top + y, bar.Right, bar.Top + y + 1), map.Map(t));
        }
        Frame(canvas, bar, style.Frame, s);
        foreach (var t in ticks)
        {
            canvas.Line(bar.Right, t.Y, bar.Right + style.TickLength * s, t.Y, style.Frame, s);
            canvas.Text(t.Text, bar.Right + (style.TickLength + 3) * s,
                t.Y + (fonts.AscentRatio - fonts.DescentRatio) / 2 * tickFont, tickFont, style.Text);
        }
    }

    /// <summary>Tick positions for a bar: the scale's ticks, placed where their colour is.</summary>
    public static List<ColorBarTick> Ticks(ColorScale scale, SKRect bar, float labelHeight, Func<float, string>? format = null)
    {
        var values = scale.Ticks(bar.Height, labelHeight);
        var ticks = new List<ColorBarTick>(values.Count);
        foreach (var v in values) ticks.Add(new ColorBarTick(v, bar.Bottom - scale.Normalize(v) * bar.Height, (format ?? ColorBarTicks.Format)(v)));
        return ticks;
    }

    /// <summary>Note lines, each made of coloured pieces, from a first baseline.</summary>
    public static void Notes(IFigureCanvas canvas, IReadOnlyList<IReadOnlyList<NotePiece>> notes, SKPoint firstBaseline,
        float font, float lineHeight, FontSet fonts)
    {
        float y = firstBaseline.Y;
        foreach (var line in notes)
        {
            float x = firstBaseline.X;
            foreach (var piece in line)
            {
                canvas.Text(piece.Text, x, y, font, piece.Color);
                x += fonts.Measure(piece.Text, font);
            }
            y += lineHeight;
        }
    }

    public static SKColor LabelColor(LabelKind kind, FigureStyle style) => kind switch
    {
        LabelKind.Special => style.SpecialText,
        LabelKind.SegmentB => style.SegmentBText,
        _ => style.Text,
    };

    /// <summary>A thin frame just outside a rectangle, so it never covers cells.</summary>
    public static void Frame(IFigureCanvas canvas, SKRect r, SKColor color, float s)
    {
        float w = MathF.Max(1, MathF.Round(s));
        var o = SKRect.Inflate(r, w, w);
        canvas.FillRect(new SKRect(o.Left, o.Top, o.Right, r.Top), color);
        canvas.FillRect(new SKRect(o.Left, r.Bottom, o.Right, o.Bottom), color);
        canvas.FillRect(new SKRect(o.Left, r.Top, r.Left, r.Bottom), color);
        canvas.FillRect(new SKRect(r.Right, r.Top, o.Right, r.Bottom), color);
    }
}
