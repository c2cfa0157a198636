using AttnScope.Capture;
using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>One heatmap panel of a grid view: its matrix, colour scale and where it is drawn.</summary>
/// <param name="Cell">Edge of one cell block in whole pixels.</param>
/// <param name="Pool">Tokens per cell block along each axis (1 unless the panel is smaller than its token count).</param>
internal sealed record GridPanel(HeatmapMatrix Matrix, ColorScale ColorScale, SKRect Plot, int Cell, int Pool, string? Title,
    SKPoint TitleAnchor, IReadOnlyList<DrawnLabel> RowLabels, IReadOnlyList<DrawnLabel> ColumnLabels)
{
    /// <summary>Pixels per token along an axis (below 1 for pooled panels).</summary>
    public float TokenSize => (float)Cell / Pool;

    /// <summary>The pixel rectangle of cell (row = query, col = key) of an unpooled panel.</summary>
    public SKRect CellRect(int row, int col) => Pool == 1
        ? SKRect.Create(Plot.Left + col * Cell, Plot.Top + row * Cell, Cell, Cell)
        : throw new InvalidOperationException("cells of a pooled panel share pixels");
}

/// <summary>A text placed on a figure (panel titles, grid headers).</summary>
internal sealed record PlacedText(string Text, SKPoint Anchor, float Font, TextAnchor Align, float Rotate = 0);

/// <summary>
/// The geometry of a grid view (heads of a layer, layers of a head, or the model's layers × heads), in device
/// pixels: panels, token labels on the outer panels, headers, one colour bar, titles and notes.
/// </summary>
internal sealed class GridLayout : FigureFrame
{
    public required ViewKind View { get; init; }
    public required int GridRows { get; init; }
    public required int GridColumns { get; init; }
    public required IReadOnlyList<GridPanel> Panels { get; init; }
    public AxisLabelPlan? RowPlan { get; init; }
    public AxisLabelPlan? ColumnPlan { get; init; }
    public required IReadOnlyList<PlacedText> Texts { get; init; }
    /// <summary>The colour bar's scale: the shared scale, or 0..1 of each panel's own range.</summary>
    public required ColorScale BarScale { get; init; }
    public required SKRect ColorBar { get; init; }
    public required IReadOnlyList<ColorBarTick> Ticks { get; init; }
    public required float TickFont { get; init; }

    public override long CellBlocks => Panels.Sum(p => (long)((p.Matrix.Rows + p.Pool - 1) / p.Pool) * ((p.Matrix.Cols + p.Pool - 1) / p.Pool));

    /// <summary>All drawn token labels (for overlap checks).</summary>
    public IEnumerable<DrawnLabel> AllLabels => Panels.SelectMany(p => p.RowLabels.Concat(p.ColumnLabels));

    public override void Paint(IFigureCanvas canvas, ColorMap colorMap, FontSet fonts, FigureStyle style)
    {
        float s = Scale;
        // The panels' cell colours (pooling and colour mapping, most of the work for a large grid) on every core;
        // the drawing itself stays on this thread, in panel order.
        var images = new CellImage[Panels.Count];
        Parallel.For(0, Panels.Count, i => images[i] = CellImage.Build(Panels[i].Matrix, Panels[i].ColorScale, colorMap, Panels[i].Pool, style.Background));
        for (int i = 0; i < Panels.Count; i++)
        {
            var p = Panels[i];
            PanelPainter.Cells(canvas, p.Plot, images[i], style, s);
            PanelPainter.Labels(canvas, p.Plot, p.TokenSize, p.TokenSize, p.RowLabels, RowPlan, p.ColumnLabels, ColumnPlan, fonts, style, s);
            if (p.Title is not null) canvas.Text(p.Title, p.TitleAnchor.X, p.TitleAnchor.Y, PanelTitleFont, style.Text, TextAnchor.Middle);
        }
        foreach (var t in Texts) canvas.Text(t.Text, t.Anchor.X, t.Anchor.Y, t.Font, style.Text, t.Align, t.Rotate);
        PanelPainter.ColorBar(canvas, ColorBar, Ticks, TickFont, colorMap, fonts, style, s);
        PaintFrame(canvas, fonts, style, TextAnchor.Middle);
    }

    public required float PanelTitleFont { get; init; }

    /// <summary>Columns × rows of a grid of <paramref name="count"/> panels: a divisor near √count when one fits, else ⌈√count⌉.</summary>
    public static (int Columns, int Rows) Shape(int count)
    {
        int root = (int)Math.Ceiling(Math.Sqrt(count));
        for (int c = root; c <= 2 * Math.Sqrt(count); c++)
            if (count % c == 0) return (c, count / c);
        return (root, (count + root - 1) / root);
    }

    public static GridLayout Compute(AttentionCapture capture, ViewKind view, HeatmapOptions o, FontSet? fonts = null, FigureStyle? style = null)
    {
        if (view == ViewKind.Head) throw new ArgumentException("the head view is a HeatmapLayout", nameof(view));
        o.Validate();
        fonts ??= FontSet.Default;
        style ??= FigureStyle.Default;
        var stack = capture.Stack(o.Stack);
        var (q, k) = capture.AxisTokens(o.Stack);
        var selection = TokenSelection.For(q, k, o);
        var kv = KeyValueHeads.Of(capture.Metadata, stack.Heads, o.Stack);

        var items = new List<(HeatmapMatrix Matrix, string? Title)>();
        int gridCols, gridRows;
        string what;
        switch (view)
        {
            case ViewKind.Heads:
                for (int h = 0; h < stack.Heads; h++)
                    items.Add((HeatmapMatrix.From(capture, o with { Heads = HeadSelection.Single(h) }, selection), KeyValueHeads.HeadName(h, stack.Heads, kv)));
                (gridCols, gridRows) = Shape(stack.Heads);
                what = $"layer {o.Layer} · all {stack.Heads} heads";
                if (KeyValueHeads.Note(stack.Heads, kv) is { } note) what += $" · {note}";
                break;
            case ViewKind.Layers:
                for (int l = 0; l < stack.Layers; l++)
                    items.Add((HeatmapMatrix.From(capture, o with { Layer = l }, selection), $"layer {l}"));
                (gridCols, gridRows) = Shape(stack.Layers);
                what = $"{items[0].Matrix.HeadLabel ?? o.Heads.ToString()} · all {stack.Layers} layers";
                break;
            default:
            {
                // every head's matrix (and its value range, a pass over the whole head) on every core
                var cells = new HeatmapMatrix[stack.Layers * stack.Heads];
                ParallelWork.For(0, cells.Length, i =>
                    cells[i] = HeatmapMatrix.From(capture, o with { Layer = i / stack.Heads, Heads = HeadSelection.Single(i % stack.Heads) }, selection));
                foreach (var m in cells) items.Add((m, null));
                (gridCols, gridRows) = (stack.Heads, stack.Layers);
                what = $"{stack.Layers} layers × {stack.Heads} heads";
                if (KeyValueHeads.Note(stack.Heads, kv) is { } modelNote) what += $" · {modelNote}";
                break;
            }
        }
        var titleParts = new List<string>();
        if (!string.IsNullOrWhiteSpace(capture.Metadata.ModelId)) titleParts.Add(capture.Metadata.ModelId);
        titleParts.Add(o.Stack);
        titleParts.Add(what);
        if (o.Values == ValueKind.Scores) titleParts.Add(ValueKind.ScoresTitle);
        titleParts.AddRange(selection.Description);
        string title = TokenText.Printable(o.Title ?? string.Join(" · ", titleParts));
        return FromPanels(view, items, o, title, gridCols, gridRows, fonts, style);
    }

    /// <summary>
    /// A grid of given panels (all of one size), sized like the built-in grid views: for views of other per-head
    /// matrices, such as norm-based attention. <paramref name="title"/> is drawn as given (make it printable first).
    /// </summary>
    public static GridLayout FromPanels(ViewKind view, List<(HeatmapMatrix Matrix, string? Title)> items, HeatmapOptions o, string title,
        int gridCols, int gridRows, FontSet? fonts = null, FigureStyle? style = null)
    {
        if (items.Count == 0) throw new ArgumentException("a grid needs at least one panel", nameof(items));
        o.Validate();
        fonts ??= FontSet.Default;
        style ??= FigureStyle.Default;
        float s = o.Scale;
        int n = Math.Max(items[0].Matrix.Rows, items[0].Matrix.Cols);
        float target = view == ViewKind.Model
            ? Math.Clamp(style.AutoModelPlot * s / Math.Max(gridCols, gridRows), 40 * s, 200 * s)
            : Math.Clamp(style.AutoGridPlot * s / gridCols, 110 * s, 520 * s);
        while (true)
        {
            int cell, pool;
            if (o.CellSize is { } fixedCell) { cell = Math.Max(1, (int)MathF.Round(fixedCell * s)); pool = 1; }
            else if (target / n >= 1) { cell = Math.Min((int)(target / n), Math.Max(1, (int)MathF.Round(style.MaxAutoCell * s))); pool = 1; }
            else { cell = 1; pool = (int)Math.Ceiling(n / target); }
            var layout = Build(view, items, o, fonts, style, title, gridCols, gridRows, cell, pool);
            if (o.CellSize is null && target > 24 * s && (layout.Width > o.MaxImageSize || layout.Height > o.MaxImageSize))
            {
                target *= 0.9f;
                continue;
            }
            if (layout.Width > HeatmapLayout.MaxPixels || layout.Height > HeatmapLayout.MaxPixels)
                throw new AttnScopeException(
                    $"the figure would be {layout.Width} × {layout.Height} pixels (at most {HeatmapLayout.MaxPixels} per side); use a smaller cell size or scale");
            return layout;
        }
    }

    private static GridLayout Build(ViewKind view, List<(HeatmapMatrix Matrix, string? Title)> items, HeatmapOptions o,
        FontSet fonts, FigureStyle st, string title, int gridCols, int gridRows, int cell, int pool)
    {
        float s = o.Scale;
        float A(float size) => fonts.AscentRatio * size;
        float LH(float size) => fonts.LineHeightRatio * size;
        float pad = st.Padding * s, gap = st.LabelGap * s;
        var first = items[0].Matrix;
        int plotW = (first.Cols + pool - 1) / pool * cell, plotH = (first.Rows + pool - 1) / pool * cell;
        float tokenSize = (float)cell / pool;
        bool model = view == ViewKind.Model;
        var (rowAxis, colAxis) = AxisLabels.Titles(o.Stack);
        float axisFont = st.AxisTitleFont * s, titleFont = st.TitleFont * s, panelFont = st.PanelTitleFont * s;

        // token labels: rows left of the first grid column, columns below the lowest panel of each grid column
        AxisLabelPlan? rowPlan = null, colPlan = null;
        string[] rowTexts = [], colTexts = [];
        float[] rowWidths = [], colWidths = [];
        float rowLabelW = 0, colLabelH = 0;
        if (!model)
        {
            rowPlan = AxisLabels.Plan(first.Rows, tokenSize, fonts, st, s);
            colPlan = AxisLabels.Plan(first.Cols, tokenSize, fonts, st, s);
            (rowTexts, rowWidths) = AxisLabels.Texts(first.RowTokens, rowPlan, fonts, st.MaxLabelWidth * s, first.VisibleRows);
            (colTexts, colWidths) = AxisLabels.Texts(first.ColumnTokens, colPlan, fonts, st.MaxLabelWidth * s, first.VisibleColumns);
            rowLabelW = AxisLabels.MaxWidth(rowPlan, rowWidths);
            colLabelH = AxisLabels.MaxWidth(colPlan, colWidths);
        }

        // model view: layer numbers left of each row, head numbers above each column
        float headerW = 0;
        if (model)
            for (int r = 0; r < gridRows; r++) headerW = MathF.Max(headerW, fonts.Measure(r.ToString(), panelFont));
        float titleBottom = pad + LH(titleFont) + st.TitleGap * s;
        float gridLeft = MathF.Ceiling(model
            ? pad + LH(axisFont) + 2 * gap + headerW + gap
            : pad + LH(axisFont) + 2 * gap + rowLabelW + gap);
        float gridTop = MathF.Ceiling(model ? titleBottom + LH(axisFont) + gap + LH(panelFont) + gap : titleBottom);
        float panelTitleH = model ? 0 : MathF.Ceiling(LH(panelFont) + 4 * s);
        float hGap = MathF.Round((model ? 6 : 22) * s), vGap = MathF.Round((model ? 6 : 14) * s);
        float slotH = panelTitleH + plotH + vGap;

        // colour scales
        var map = Static.ColorMap.Get(o.ColorMap);
        bool perPanel = o.Range == ColorRange.PerPanel;
        float smallest = float.PositiveInfinity, largest = float.NegativeInfinity;
        foreach (var item in items) { smallest = MathF.Min(smallest, item.Matrix.MinValue); largest = MathF.Max(largest, item.Matrix.MaxValue); }
        var shared = ColorScale.For(smallest, largest, o.LogScale, map.IsDiverging, o.ColorMax);
        var panels = new List<GridPanel>(items.Count);
        var texts = new List<PlacedText>();
        for (int i = 0; i < items.Count; i++)
        {
            var (m, panelTitle) = items[i];
            int r = i / gridCols, c = i % gridCols;
            var plot = SKRect.Create(gridLeft + c * (plotW + hGap), gridTop + r * slotH + panelTitleH, plotW, plotH);
            var scale = perPanel ? ColorScale.For(m.MinValue, m.MaxValue, o.LogScale, map.IsDiverging) : shared;
            if (perPanel && panelTitle is not null) panelTitle += $" (max {ColorBarTicks.Format(scale.Max)})";
            bool lowest = i + gridCols >= items.Count;
            var rows = !model && c == 0 ? AxisLabels.Rows(m.RowTokens, rowPlan!, rowTexts, rowWidths, plot, gap, fonts) : [];
            var cols = !model && lowest ? AxisLabels.Columns(m.ColumnTokens, colPlan!, colTexts, colWidths, plot, gap, fonts) : [];
            string? fitted = panelTitle is null ? null : fonts.Fit(panelTitle, panelFont, plotW + hGap - 2 * s);
            panels.Add(new GridPanel(m, scale, plot, cell, pool, fitted, new SKPoint(plot.MidX, plot.Top - 4 * s - fonts.DescentRatio * panelFont),
                rows, cols));
        }
        float gridRight = gridLeft + gridCols * plotW + (gridCols - 1) * hGap;
        float gridBottom = gridTop + (gridRows - 1) * slotH + panelTitleH + plotH;
        float plotsTop = gridTop + panelTitleH;

        if (model)
        {
            texts.Add(new PlacedText("head", new SKPoint((gridLeft + gridRight) / 2, titleBottom + A(axisFont)), axisFont, TextAnchor.Middle));
            for (int c = 0; c < gridCols; c++)
                texts.Add(new PlacedText(c.ToString(), new SKPoint(gridLeft + c * (plotW + hGap) + plotW / 2f, gridTop - gap - fonts.DescentRatio * panelFont),
                    panelFont, TextAnchor.Middle));
            for (int r = 0; r < gridRows; r++)
                texts.Add(new PlacedText(r.ToString(), new SKPoint(gridLeft - gap, gridTop + r * slotH + plotH / 2f + (fonts.AscentRatio - fonts.DescentRatio) / 2 * panelFont),
                    panelFont, TextAnchor.End));
            texts.Add(new PlacedText("layer", new SKPoint(pad + A(axisFont), (gridTop + gridBottom) / 2), axisFont, TextAnchor.Middle, -90));
        }
        else
        {
            texts.Add(new PlacedText(rowAxis, new SKPoint(pad + A(axisFont), (plotsTop + gridBottom) / 2), axisFont, TextAnchor.Middle, -90));
        }
        float colTitleBaseline = gridBottom + gap + colLabelH + 2 * gap + A(axisFont);
        if (!model) texts.Add(new PlacedText(colAxis, new SKPoint((gridLeft + gridRight) / 2, colTitleBaseline), axisFont, TextAnchor.Middle));
        float contentBottom = model ? gridBottom : colTitleBaseline + fonts.DescentRatio * axisFont;

        // colour bar
        float tickFont = st.TickFont * s;
        var barScale = perPanel ? ColorScale.For(shared.Min < 0 ? -1 : 0, 1, o.LogScale, map.IsDiverging, 1f) : shared;
        float barLeft = MathF.Round(gridRight + st.ColorBarGap * s);
        float barTop = MathF.Round(plotsTop);
        var bar = SKRect.Create(barLeft, barTop, MathF.Round(st.ColorBarWidth * s),
            MathF.Round(MathF.Max(MathF.Min(gridBottom - barTop, 600 * s), st.ColorBarMinHeight * s)));
        var ticks = PanelPainter.Ticks(barScale, bar, LH(tickFont), perPanel ? RelativeTick : null);
        float tickW = 0;
        foreach (var t in ticks) tickW = MathF.Max(tickW, fonts.Measure(t.Text, tickFont));
        float contentRight = bar.Right + st.TickLength * s + 3 * s + tickW;
        contentBottom = MathF.Max(contentBottom, bar.Bottom + LH(tickFont) / 2);

        // notes
        float noteFont = st.NoteFont * s;
        var notes = new List<IReadOnlyList<NotePiece>>();
        if (model) notes.Add([new NotePiece($"each panel: {rowAxis} rows × {colAxis} columns, {first.Rows} × {first.Cols} tokens", st.NoteText)]);
        if (pool > 1)
            notes.Add([new NotePiece($"cells: each pixel shows the {(shared.Min < 0 ? "value of largest magnitude" : "maximum")} of {pool} × {pool} tokens", st.NoteText)]);
        if (rowPlan is not null && colPlan is not null)
        {
            var labelNotes = new[] { rowPlan.Note, colPlan.Note }.Where(x => x is not null).Distinct().ToList();
            if (labelNotes.Count == 1) notes.Add([new NotePiece(labelNotes[0]!, st.NoteText)]);
            else if (labelNotes.Count == 2) notes.Add([new NotePiece($"{rowAxis} {rowPlan.Note}; {colAxis} {colPlan.Note}", st.NoteText)]);
        }
        if (perPanel) notes.Add([new NotePiece("colour: each panel scaled to its own range", st.NoteText)]);
        if (shared.Note is { } scaleNote && !perPanel) notes.Add([new NotePiece(scaleNote, st.NoteText)]);
        if (!model && AxisLabels.ColourLegend(first.RowTokens.Concat(first.ColumnTokens), st) is { } legend) notes.Add(legend);
        float noteLine = LH(noteFont) + 2 * s;
        float noteTop = contentBottom + (notes.Count > 0 ? 10 * s : 0);
        float noteW = 0;
        foreach (var line in notes)
        {
            float lineW = 0;
            foreach (var piece in line) lineW += fonts.Measure(piece.Text, noteFont);
            noteW = MathF.Max(noteW, lineW);
        }

        title = fonts.Fit(title, titleFont, MathF.Max(o.MaxImageSize, contentRight + pad) - 2 * pad, bold: true);
        float titleW = fonts.Measure(title, titleFont, bold: true);
        int width = (int)MathF.Ceiling(MathF.Max(contentRight + pad, MathF.Max(titleW, noteW) + 2 * pad));
        int height = (int)MathF.Ceiling(noteTop + notes.Count * noteLine + pad);
        return new GridLayout
        {
            View = view, Width = width, Height = height, Scale = s, GridRows = gridRows, GridColumns = gridCols,
            Panels = panels, RowPlan = rowPlan, ColumnPlan = colPlan, Texts = texts, PanelTitleFont = panelFont,
            BarScale = barScale, ColorBar = bar, Ticks = ticks, TickFont = tickFont,
            Title = title, TitleFont = titleFont, TitleAnchor = new SKPoint(width / 2f, pad + A(titleFont)),
            Notes = notes, NoteFont = noteFont, NoteAnchor = new SKPoint(pad, noteTop + A(noteFont)), NoteLineHeight = noteLine,
        };
    }

    private static string RelativeTick(float v) => v switch
    {
        1f => "panel max",
        -1f => "−panel max",
        0f => "0",
        _ => ColorBarTicks.Format(v) + "×max",
    };
}
