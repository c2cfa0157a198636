using System.Globalization;
using AttnScope.Analyses.Circuits;
using AttnScope.Capture;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Views.Analyses;

/// <summary>How a circuit map is drawn: DPI scale, cell width, colour map (default: rdbu for signed maps, viridis
/// otherwise), a fixed colour-scale maximum, a title replacing the metric, and the model's name for the title.</summary>
internal sealed record CircuitViewOptions
{
    public float Scale { get; init; } = 1;
    public float? CellSize { get; init; }
    public string? ColorMap { get; init; }
    public float? ColorMax { get; init; }
    public string? Title { get; init; }
    public string? ModelId { get; init; }

    /// <summary>The colour map used for a map: the one asked for, else rdbu (diverging, centred on 0) for signed values.</summary>
    public string ColorMapFor(CircuitMap map) => ColorMap ?? (map.Signed ? "rdbu" : "viridis");

    public void Validate()
    {
        if (!(Scale is >= 0.25f and <= 8)) throw new AttnScopeException($"scale {Scale} must be from 0.25 to 8");
        if (CellSize is { } c && !(c is >= 4 and <= 400)) throw new AttnScopeException($"cell size {c} must be from 4 to 400 pixels");
        if (ColorMax is { } m && !(m > 0 && float.IsFinite(m))) throw new AttnScopeException($"colour maximum {m} must be a positive number");
        if (ColorMap is not null) Static.ColorMap.Get(ColorMap);
    }
}

/// <summary>One cell of a circuit map: its rectangle, value and the text printed in it (null when it does not fit).</summary>
internal sealed record CircuitCell(int Row, int Col, float Value, SKRect Rect, string? Text);

/// <summary>
/// A circuit map (layers × heads, or layers × positions) as a grid of coloured cells: the value (or the map's cell
/// text) printed in each cell when it fits, row and column labels with axis titles, a colour bar — symmetric about 0
/// for signed maps — and a title naming the metric, wrapped over lines.
/// </summary>
internal sealed class CircuitMapLayout : FigureFrame
{
    public override long CellBlocks => Cells.Count;
    public required CircuitMap Map { get; init; }
    public required IReadOnlyList<CircuitCell> Cells { get; init; }
    public required float CellFont { get; init; }
    public required ColorScale ColorScale { get; init; }
    public required SKRect ColorBar { get; init; }
    public required IReadOnlyList<ColorBarTick> Ticks { get; init; }
    public required float TickFont { get; init; }
    /// <summary>Axis titles and labels.</summary>
    public required IReadOnlyList<PlacedText> Texts { get; init; }
    /// <summary>Title lines after the first (drawn bold like it).</summary>
    public required IReadOnlyList<PlacedText> MoreTitle { get; init; }

    public override void Paint(IFigureCanvas canvas, ColorMap colorMap, FontSet fonts, FigureStyle style)
    {
        float s = Scale;
        foreach (var t in Texts) canvas.Text(t.Text, t.Anchor.X, t.Anchor.Y, t.Font, style.Text, t.Align, t.Rotate);
        foreach (var t in MoreTitle) canvas.Text(t.Text, t.Anchor.X, t.Anchor.Y, t.Font, style.Text, t.Align, t.Rotate, bold: true);
        foreach (var c in Cells)
        {
            var color = colorMap.Map(ColorScale.Normalize(c.Value));
            canvas.FillRect(c.Rect, color);
            if (c.Text is not null)
                canvas.Text(c.Text, c.Rect.MidX, c.Rect.MidY + (fonts.AscentRatio - fonts.DescentRatio) / 2 * CellFont, CellFont,
                    SaliencyTextLayout.TextOn(color, style), TextAnchor.Middle);
        }
        PanelPainter.ColorBar(canvas, ColorBar, Ticks, TickFont, colorMap, fonts, style, s);
        PaintFrame(canvas, fonts, style, TextAnchor.Start);
    }

    /// <summary>A value as printed in a cell: two decimals, no decimals from 100 on.</summary>
    public static string Format(float v) => MathF.Abs(v) < 0.005f ? "0.00" : MathF.Abs(v) >= 100
        ? v.ToString("0", CultureInfo.InvariantCulture)
        : v.ToString("0.00", CultureInfo.InvariantCulture);

    public static CircuitMapLayout Compute(CircuitMap map, CircuitViewOptions o, FontSet fonts, FigureStyle st)
    {
        ArgumentNullException.ThrowIfNull(map);
        o.Validate();
        map.Validate();
        float s = o.Scale;
        float A(float size) => fonts.AscentRatio * size;
        float LH(float size) => fonts.LineHeightRatio * size;
        float pad = st.Padding * s, gap = st.LabelGap * s;
        float titleFont = st.TitleFont * s, axisFont = st.AxisTitleFont * s, labelFont = st.PanelTitleFont * s, cellFont = st.TickFont * s;
        int rows = map.Rows, cols = map.Cols;

        // cells: wide enough for a printed value when there are few columns
        float valueW = fonts.Measure("-0.00", cellFont) + 8 * s;
        float cellW = o.CellSize is { } cs ? cs * s
            : MathF.Round(Math.Clamp(st.AutoModelPlot * s / Math.Max(cols, rows), 10 * s, MathF.Max(valueW, 56 * s)));
        if (map.CellTexts is not null && o.CellSize is null)
            cellW = MathF.Max(cellW, MathF.Min(96 * s, map.CellTexts.Max(t => fonts.Measure(t, cellFont)) + 8 * s));
        float cellH = MathF.Round(MathF.Max(12 * s, MathF.Min(cellW, MathF.Max(cellW * 0.62f, LH(cellFont) + 8 * s))));
        if (cellW < 24 * s) cellH = cellW;
        float cellGap = cellW >= 16 * s ? MathF.Max(1, MathF.Round(2 * s)) : 0;

        // labels: column labels horizontal above the grid when they fit their cells, otherwise rotated (reading upwards)
        var rowLabels = map.RowLabels.Select(l => fonts.Fit(TokenText.Printable(l), labelFont, st.MaxLabelWidth * s)).ToList();
        var colLabels = map.ColumnLabels.Select(l => fonts.Fit(TokenText.Printable(l), labelFont, st.MaxLabelWidth * s)).ToList();
        float colLabelMax = colLabels.Max(l => fonts.Measure(l, labelFont));
        bool rotate = colLabelMax > cellW + cellGap - 2 * s;
        // thin labels when rows or columns are too narrow for the font
        int colStep = Math.Max(1, (int)MathF.Ceiling(LH(labelFont) / (cellW + cellGap)));
        int rowStep = Math.Max(1, (int)MathF.Ceiling(LH(labelFont) / (cellH + cellGap)));
        if (!rotate) colStep = 1;
        float colLabelH = rotate ? colLabelMax : LH(labelFont);
        float rowLabelW = rowLabels.Max(l => fonts.Measure(l, labelFont));

        // grid
        float gridLeft = MathF.Ceiling(pad + LH(axisFont) + 2 * gap + rowLabelW + gap);
        float gridW = cols * cellW + (cols - 1) * cellGap, gridH = rows * cellH + (rows - 1) * cellGap;

        // colour bar and its ticks
        float min = map.Values.Data.Min(), max = map.Values.Data.Max();
        var scale = ColorScale.For(MathF.Min(min, 0), MathF.Max(max, 0), false, map.Signed || Static.ColorMap.Get(o.ColorMapFor(map)).IsDiverging, o.ColorMax ?? map.ColorMax);
        float tickFont = st.TickFont * s;
        float tickW = new[] { scale.Min, scale.Max }.Max(v => fonts.Measure(ColorBarTicks.Format(v), tickFont)) + fonts.Measure("0.00", tickFont);
        float contentRight = gridLeft + gridW + st.ColorBarGap * s + st.ColorBarWidth * s + (st.TickLength + 3) * s + tickW;

        // title: the model and the metric, wrapped to the figure's width (at least 560 px)
        string titleText = TokenText.Printable(o.Title ?? string.Join(" · ", new[] { o.ModelId, map.Metric }.Where(x => !string.IsNullOrWhiteSpace(x))));
        float wrapW = MathF.Max(contentRight - pad, 560 * s);
        var titleLines = Wrap(titleText, titleFont, wrapW, fonts);
        float titleTop = pad;
        float titleBottom = titleTop + titleLines.Count * LH(titleFont) + st.TitleGap * s;

        float gridTop = MathF.Ceiling(titleBottom + LH(axisFont) + gap + colLabelH + gap);
        var texts = new List<PlacedText>
        {
            new(map.ColumnAxis, new SKPoint(gridLeft + gridW / 2, titleBottom + A(axisFont)), axisFont, TextAnchor.Middle),
            new(map.RowAxis, new SKPoint(pad + A(axisFont), gridTop + gridH / 2), axisFont, TextAnchor.Middle, -90),
        };
        for (int c = 0; c < cols; c += colStep)
        {
            float x = gridLeft + c * (cellW + cellGap) + cellW / 2;
            texts.Add(rotate
                ? new PlacedText(colLabels[c], new SKPoint(x + (A(labelFont) - fonts.DescentRatio * labelFont) / 2, gridTop - gap), labelFont, TextAnchor.Start, -90)
                : new PlacedText(colLabels[c], new SKPoint(x, gridTop - gap - fonts.DescentRatio * labelFont), labelFont, TextAnchor.Middle));
        }
        for (int r = 0; r < rows; r += rowStep)
            texts.Add(new PlacedText(rowLabels[r], new SKPoint(gridLeft - gap, gridTop + r * (cellH + cellGap) + cellH / 2 + (fonts.AscentRatio - fonts.DescentRatio) / 2 * labelFont), labelFont, TextAnchor.End));

        var cells = new List<CircuitCell>(rows * cols);
        bool anyHidden = false;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                var rect = SKRect.Create(gridLeft + c * (cellW + cellGap), gridTop + r * (cellH + cellGap), cellW, cellH);
                float v = map[r, c];
                string? text = map.CellTexts is { } ct ? TokenText.Printable(ct[r * cols + c]) : Format(v);
                if (fonts.Measure(text, cellFont) > cellW - 4 * s || LH(cellFont) > cellH - 2 * s) { text = null; anyHidden = true; }
                cells.Add(new CircuitCell(r, c, v, rect, text));
            }

        var bar = SKRect.Create(MathF.Round(gridLeft + gridW + st.ColorBarGap * s), gridTop, MathF.Round(st.ColorBarWidth * s),
            MathF.Round(MathF.Max(gridH, st.ColorBarMinHeight * s)));
        var ticks = PanelPainter.Ticks(scale, bar, LH(tickFont));
        float right = MathF.Max(contentRight, bar.Right + (st.TickLength + 3) * s + ticks.Select(t => fonts.Measure(t.Text, tickFont)).DefaultIfEmpty(0).Max());

        float noteFont = st.NoteFont * s;
        var notes = new List<IReadOnlyList<NotePiece>>();
        if (map.CellTexts is not null) notes.Add([new NotePiece("text in each cell: the top token; colour: the value named in the title", st.NoteText)]);
        if (map.Signed) notes.Add([new NotePiece("colour scale symmetric about 0 (blue negative, red positive with rdbu)", st.NoteText)]);
        if (anyHidden) notes.Add([new NotePiece("cells too small for their text leave it out (larger: --cell or --scale)", st.NoteText)]);
        if (colStep > 1 || rowStep > 1) notes.Add([new NotePiece("labels: some rows or columns unlabelled for lack of room", st.NoteText)]);
        float noteLine = LH(noteFont) + 2 * s;
        float contentBottom = MathF.Max(gridTop + gridH, bar.Bottom + LH(tickFont) / 2);
        float noteTop = contentBottom + 12 * s;
        float noteW = notes.Select(l => l.Sum(p => fonts.Measure(p.Text, noteFont))).DefaultIfEmpty(0).Max();
        float titleW = titleLines.Max(l => fonts.Measure(l, titleFont, bold: true));
        int width = (int)MathF.Ceiling(MathF.Max(right + pad, MathF.Max(titleW, noteW) + 2 * pad));
        int height = (int)MathF.Ceiling(noteTop + notes.Count * noteLine + pad);
        if (width > HeatmapLayout.MaxPixels || height > HeatmapLayout.MaxPixels)
            throw new AttnScopeException($"the figure would be {width} × {height} pixels (at most {HeatmapLayout.MaxPixels} per side); use a smaller cell size or scale");
        var more = new List<PlacedText>();
        for (int i = 1; i < titleLines.Count; i++)
            more.Add(new PlacedText(titleLines[i], new SKPoint(pad, titleTop + A(titleFont) + i * LH(titleFont)), titleFont, TextAnchor.Start));
        return new CircuitMapLayout
        {
            Width = width, Height = height, Scale = s, Map = map, Cells = cells, CellFont = cellFont, ColorScale = scale,
            ColorBar = bar, Ticks = ticks, TickFont = tickFont, Texts = texts, MoreTitle = more,
            Title = titleLines[0], TitleFont = titleFont, TitleAnchor = new SKPoint(pad, titleTop + A(titleFont)),
            Notes = notes, NoteFont = noteFont, NoteAnchor = new SKPoint(pad, noteTop + A(noteFont)), NoteLineHeight = noteLine,
        };
    }

    /// <summary>Words over lines no wider than <paramref name="width"/> (a word longer than a line is shortened).</summary>
    internal static List<string> Wrap(string text, float font, float width, FontSet fonts)
    {
        var lines = new List<string>();
        var line = "";
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = line.Length == 0 ? word : line + " " + word;
            if (fonts.Measure(next, font, bold: true) <= width || line.Length == 0) line = next;
            else { lines.Add(line); line = word; }
        }
        if (line.Length > 0 || lines.Count == 0) lines.Add(line);
        return [.. lines.Select(l => fonts.Fit(l, font, width, bold: true))];
    }
}

/// <summary>Renders circuit maps (from a result or a capture) as PNG, SVG or PDF.</summary>
internal static class CircuitViews
{
    public static CircuitMapLayout Layout(CircuitMap map, CircuitViewOptions? o = null, FontSet? fonts = null, FigureStyle? style = null) =>
        CircuitMapLayout.Compute(map, o ?? new CircuitViewOptions(), fonts ?? FontSet.Default, style ?? FigureStyle.Default);

    public static byte[] RenderPng(CircuitMap map, CircuitViewOptions? o = null)
    {
        o ??= new CircuitViewOptions();
        return new ViewRenderer().RenderPng(Layout(map, o), o.ColorMapFor(map));
    }

    /// <summary>Renders and writes atomically; the format follows the extension (.png, .svg, .pdf).</summary>
    public static void Save(CircuitMap map, string path, CircuitViewOptions? o = null)
    {
        o ??= new CircuitViewOptions();
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is not (".png" or ".svg" or ".pdf"))
            throw new AttnScopeException($"cannot tell the image format of '{path}': use a .png, .svg or .pdf file name");
        ViewRenderer.CheckWritable(path);
        var views = new ViewRenderer();
        var layout = Layout(map, o);
        string cmap = o.ColorMapFor(map);
        byte[] bytes = ext switch
        {
            ".svg" => new System.Text.UTF8Encoding(false).GetBytes(views.RenderSvg(layout, cmap)),
            ".pdf" => views.RenderPdf(layout, cmap),
            _ => views.RenderPng(layout, cmap),
        };
        AttnScope.Capture.Io.AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>The circuit map of that kind kept in a capture, or a clear error listing the ones it has.</summary>
    public static CircuitMap FromCapture(AttentionCapture capture, string kind)
    {
        if (CircuitMap.From(capture, kind) is { } m) return m;
        var have = CircuitMap.All(capture).Select(x => x.Kind).ToList();
        throw new AttnScopeException($"the capture has no circuit map '{kind}' ({(have.Count == 0 ? "it holds none" : "it holds: " + string.Join(", ", have))})");
    }
}
