using AttnScope.Capture;
using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>How a token label is coloured.</summary>
internal enum LabelKind { Normal, SegmentB, Special }

/// <summary>A label as drawn: token index, printable (possibly shortened) text and its box in image pixels.</summary>
internal sealed record DrawnLabel(int Index, string Text, SKRect Box, LabelKind Kind);

/// <summary>A piece of a note line, drawn in its own colour.</summary>
internal sealed record NotePiece(string Text, SKColor Color);

/// <summary>A colour bar tick: value and its y in image pixels.</summary>
internal readonly record struct ColorBarTick(float Value, float Y, string Text);

/// <summary>
/// The geometry of one heatmap figure, in device pixels: image size, plot rectangle and cell size, token labels,
/// colour bar, title, axis titles and notes. Computed once; painters (PNG, SVG) and tests read it.
/// </summary>
internal sealed class HeatmapLayout : FigureFrame
{
    public required HeatmapMatrix Matrix { get; init; }
    /// <summary>The cell area; its corners lie on whole pixels.</summary>
    public required SKRect Plot { get; init; }
    /// <summary>Cell edge in whole pixels.</summary>
    public required int CellSize { get; init; }
    /// <summary>Top of the colour scale.</summary>
    public float ColorMax => ColorScale.Max;
    public required ColorScale ColorScale { get; init; }

    public required AxisLabelPlan RowPlan { get; init; }
    public required AxisLabelPlan ColumnPlan { get; init; }
    /// <summary>Query labels left of the plot (horizontal text).</summary>
    public required IReadOnlyList<DrawnLabel> RowLabels { get; init; }
    /// <summary>Key labels below the plot (text rotated 90°, reading upwards).</summary>
    public required IReadOnlyList<DrawnLabel> ColumnLabels { get; init; }

    public required SKRect ColorBar { get; init; }
    public required IReadOnlyList<ColorBarTick> Ticks { get; init; }
    public required float TickFont { get; init; }

    public required string RowAxisTitle { get; init; }
    public required string ColumnAxisTitle { get; init; }
    public required float AxisTitleFont { get; init; }
    /// <summary>Baseline anchor of the row axis title (rotated −90°, centred).</summary>
    public required SKPoint RowAxisTitleAnchor { get; init; }
    /// <summary>Baseline anchor of the column axis title (centred).</summary>
    public required SKPoint ColumnAxisTitleAnchor { get; init; }


    /// <summary>The label notes ("labels: every 4th token ...") as plain text, empty when all labels are drawn full size.</summary>
    public IEnumerable<string> LabelNotes => new[] { RowPlan.Note, ColumnPlan.Note }.Where(n => n is not null).Distinct()!;

    public override long CellBlocks => (long)Matrix.Rows * Matrix.Cols;

    /// <summary>The pixel rectangle of cell (row = query, col = key).</summary>
    public SKRect CellRect(int row, int col) =>
        SKRect.Create(Plot.Left + col * CellSize, Plot.Top + row * CellSize, CellSize, CellSize);

    /// <summary>Hard limit on either image side; explicit cell sizes beyond it are a user error.</summary>
    public const int MaxPixels = 16384;

    public static HeatmapLayout Compute(HeatmapMatrix matrix, HeatmapOptions options, string modelId = "",
        FontSet? fonts = null, FigureStyle? style = null)
    {
        options.Validate();
        fonts ??= FontSet.Default;
        style ??= FigureStyle.Default;
        float s = options.Scale;
        int n = Math.Max(matrix.Rows, matrix.Cols);
        bool auto = options.CellSize is null;
        int cell = auto
            ? Math.Clamp((int)(style.AutoPlotSize * s / n), 1, Math.Max(1, (int)MathF.Round(style.MaxAutoCell * s)))
            : Math.Max(1, (int)MathF.Round(options.CellSize!.Value * s));
        while (true)
        {
            var layout = Build(matrix, options, modelId, fonts, style, cell);
            if (auto && cell > 1 && (layout.Width > options.MaxImageSize || layout.Height > options.MaxImageSize))
            {
                cell--;
                continue;
            }
            if (layout.Width > MaxPixels || layout.Height > MaxPixels)
                throw new AttnScopeException(
                    $"the heatmap would be {layout.Width} × {layout.Height} pixels (at most {MaxPixels} per side); use a smaller cell size or scale");
            return layout;
        }
    }

    private static HeatmapLayout Build(HeatmapMatrix m, HeatmapOptions o, string modelId, FontSet fonts, FigureStyle st, int cell)
    {
        float s = o.Scale;
        float A(float size) => fonts.AscentRatio * size;
        float D(float size) => fonts.DescentRatio * size;
        float LH(float size) => fonts.LineHeightRatio * size;
        float pad = st.Padding * s, gap = st.LabelGap * s;

        // token labels
        var rowPlan = AxisLabels.Plan(m.Rows, cell, fonts, st, s);
        var colPlan = AxisLabels.Plan(m.Cols, cell, fonts, st, s);
        var (rowTexts, rowWidths) = AxisLabels.Texts(m.RowTokens, rowPlan, fonts, st.MaxLabelWidth * s, m.VisibleRows);
        var (colTexts, colWidths) = AxisLabels.Texts(m.ColumnTokens, colPlan, fonts, st.MaxLabelWidth * s, m.VisibleColumns);
        float rowLabelW = AxisLabels.MaxWidth(rowPlan, rowWidths);
        float colLabelH = AxisLabels.MaxWidth(colPlan, colWidths);

        // title
        float titleFont = st.TitleFont * s;
        string title = TokenText.Printable(o.Title ?? DefaultTitle(modelId, m));
        title = fonts.Fit(title, titleFont, o.MaxImageSize - 2 * pad, bold: true);
        float titleW = fonts.Measure(title, titleFont, bold: true);

        // axis titles
        float axisFont = st.AxisTitleFont * s;
        var (rowTitle, colTitle) = AxisLabels.Titles(m.Stack);

        // plot
        float plotLeft = MathF.Ceiling(pad + LH(axisFont) + 2 * gap + rowLabelW + gap);
        float plotTop = MathF.Ceiling(pad + LH(titleFont) + st.TitleGap * s);
        var plot = SKRect.Create(plotLeft, plotTop, m.Cols * cell, m.Rows * cell);

        // colour bar
        float tickFont = st.TickFont * s;
        var scale = ColorScale.For(m.MinValue, m.MaxValue, o.LogScale, Static.ColorMap.Get(o.ColorMap).IsDiverging, o.ColorMax);
        float barLeft = MathF.Round(plot.Right + st.ColorBarGap * s);
        float barHeight = MathF.Round(MathF.Max(plot.Height, st.ColorBarMinHeight * s));
        var bar = SKRect.Create(barLeft, plotTop, MathF.Round(st.ColorBarWidth * s), barHeight);
        var ticks = PanelPainter.Ticks(scale, bar, LH(tickFont));
        float tickW = ticks.Select(t => fonts.Measure(t.Text, tickFont)).DefaultIfEmpty(0).Max();
        float contentRight = bar.Right + st.TickLength * s + 3 * s + tickW;

        // below the plot: column labels, then the column axis title
        float colTitleBaseline = plot.Bottom + gap + colLabelH + 2 * gap + A(axisFont);
        float plotAreaBottom = MathF.Max(colTitleBaseline + D(axisFont), bar.Bottom + LH(tickFont) / 2);

        // notes: label thinning / shrinking, label colours
        float noteFont = st.NoteFont * s;
        var notes = new List<IReadOnlyList<NotePiece>>();
        var labelNotes = new[] { rowPlan.Note, colPlan.Note }.Where(x => x is not null).Distinct().ToList();
        if (labelNotes.Count == 1) notes.Add([new NotePiece(labelNotes[0]!, st.NoteText)]);
        else if (labelNotes.Count == 2)
            notes.Add([new NotePiece($"{rowTitle} {rowPlan.Note}; {colTitle} {colPlan.Note}", st.NoteText)]);
        if (scale.Note is { } scaleNote) notes.Add([new NotePiece(scaleNote, st.NoteText)]);
        if (AxisLabels.ColourLegend(m.RowTokens.Concat(m.ColumnTokens), st) is { } legend) notes.Add(legend);
        float noteW = notes.Select(l => l.Sum(p => fonts.Measure(p.Text, noteFont))).DefaultIfEmpty(0).Max();
        float noteLine = LH(noteFont) + 2 * s;
        float noteTop = plotAreaBottom + (notes.Count > 0 ? 8 * s : 0);
        float bottom = noteTop + notes.Count * noteLine;

        int width = (int)MathF.Ceiling(MathF.Max(contentRight + pad, MathF.Max(titleW, noteW) + 2 * pad));
        int height = (int)MathF.Ceiling(bottom + pad);

        return new HeatmapLayout
        {
            Matrix = m, Scale = s, Width = width, Height = height, Plot = plot, CellSize = cell, ColorScale = scale,
            RowPlan = rowPlan, ColumnPlan = colPlan,
            RowLabels = AxisLabels.Rows(m.RowTokens, rowPlan, rowTexts, rowWidths, plot, gap, fonts),
            ColumnLabels = AxisLabels.Columns(m.ColumnTokens, colPlan, colTexts, colWidths, plot, gap, fonts),
            ColorBar = bar, Ticks = ticks, TickFont = tickFont,
            Title = title, TitleFont = titleFont, TitleAnchor = new SKPoint(width / 2f, pad + A(titleFont)),
            RowAxisTitle = rowTitle, ColumnAxisTitle = colTitle, AxisTitleFont = axisFont,
            RowAxisTitleAnchor = new SKPoint(pad + A(axisFont), plot.MidY),
            ColumnAxisTitleAnchor = new SKPoint(plot.MidX, colTitleBaseline),
            Notes = notes, NoteFont = noteFont, NoteAnchor = new SKPoint(pad, noteTop + A(noteFont)), NoteLineHeight = noteLine,
        };
    }

    /// <summary>"model · stack · layer L · head H", then what was left out (the model part left out when unknown).</summary>
    public static string DefaultTitle(string modelId, HeatmapMatrix m)
    {
        var parts = new List<string>();
        if (!string.IsNullOrWhiteSpace(modelId)) parts.Add(modelId);
        parts.Add(m.Stack);
        parts.Add($"layer {m.Layer}");
        parts.Add(m.HeadLabel ?? m.Heads.ToString());
        if (m.Kind == ValueKind.Scores) parts.Add(ValueKind.ScoresTitle);
        parts.AddRange(m.SelectionNotes);
        return string.Join(" · ", parts);
    }

    public override void Paint(IFigureCanvas canvas, ColorMap colorMap, FontSet fonts, FigureStyle style) =>
        HeatmapPainter.Paint(canvas, this, colorMap, fonts, style);
}
