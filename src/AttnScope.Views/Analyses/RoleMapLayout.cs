using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Views.Analyses;

/// <summary>One head's cell of the role map: its role, colour, rectangle and the score printed in it (null when it does not fit).</summary>
internal sealed record RoleCell(int Layer, int Head, string Role, SKColor Color, SKRect Rect, string? Score);

/// <summary>A legend entry: a colour swatch and its text.</summary>
internal sealed record RoleLegendEntry(string Role, SKColor Color, SKRect Swatch, string Text, SKPoint TextAnchor);

/// <summary>
/// The layers × heads map of head roles: one cell per head coloured by its role, the statistic behind the role
/// printed in the cell when there is room, layer and head numbers, and a legend of the roles with their colours,
/// how many heads have each, and which statistic the numbers are.
/// </summary>
internal sealed class RoleMapLayout : FigureFrame
{
    public override long CellBlocks => Cells.Count;
    public required IReadOnlyList<RoleCell> Cells { get; init; }
    public required float CellFont { get; init; }
    public required IReadOnlyList<RoleLegendEntry> Legend { get; init; }
    public required float LegendFont { get; init; }
    public required IReadOnlyList<PlacedText> Texts { get; init; }

    public override void Paint(IFigureCanvas canvas, ColorMap colorMap, FontSet fonts, FigureStyle style)
    {
        float s = Scale;
        foreach (var t in Texts) canvas.Text(t.Text, t.Anchor.X, t.Anchor.Y, t.Font, style.Text, t.Align, t.Rotate);
        foreach (var c in Cells)
        {
            canvas.FillRect(c.Rect, c.Color);
            if (c.Score is not null)
                canvas.Text(c.Score, c.Rect.MidX, c.Rect.MidY + (fonts.AscentRatio - fonts.DescentRatio) / 2 * CellFont, CellFont,
                    SaliencyTextLayout.TextOn(c.Color, style), TextAnchor.Middle);
        }
        foreach (var e in Legend)
        {
            canvas.FillRect(e.Swatch, e.Color);
            PanelPainter.Frame(canvas, e.Swatch, style.Frame, MathF.Max(1, s * 0.5f));
            canvas.Text(e.Text, e.TextAnchor.X, e.TextAnchor.Y, LegendFont, style.Text);
        }
        PaintFrame(canvas, fonts, style, TextAnchor.Start);
    }

    public static RoleMapLayout Compute(AttentionCapture capture, HeadStatsResult r, HeatmapOptions o, FontSet fonts, FigureStyle st)
    {
        o.Validate();
        float s = o.Scale;
        float A(float size) => fonts.AscentRatio * size;
        float LH(float size) => fonts.LineHeightRatio * size;
        float pad = st.Padding * s, gap = st.LabelGap * s;
        float titleFont = st.TitleFont * s, axisFont = st.AxisTitleFont * s, numFont = st.PanelTitleFont * s;
        float cellFont = st.TickFont * s, legendFont = st.LabelFont * s;
        int layers = r.Layers, heads = r.Heads;
        var roles = r.Roles.SelectMany(l => l).ToList();

        float cellW = o.CellSize is { } cs ? cs * s : MathF.Round(Math.Clamp(st.AutoModelPlot * s / Math.Max(heads, layers), 16 * s, 64 * s));
        float cellH = MathF.Round(MathF.Max(12 * s, MathF.Min(cellW, MathF.Max(cellW * 0.62f, LH(cellFont) + 8 * s))));
        float cellGap = MathF.Max(1, MathF.Round(2 * s));

        string title = TokenText.Printable(o.Title ?? string.Join(" · ",
            new[] { capture.Metadata.ModelId, r.Stack, $"head roles ({layers} layers × {heads} heads)" }.Where(x => !string.IsNullOrWhiteSpace(x))));
        var texts = new List<PlacedText>();
        float titleBottom = pad + LH(titleFont) + st.TitleGap * s;
        float layerNumW = Enumerable.Range(0, layers).Max(l => fonts.Measure(l.ToString(), numFont));
        float gridLeft = MathF.Ceiling(pad + LH(axisFont) + 2 * gap + layerNumW + gap);
        float gridTop = MathF.Ceiling(titleBottom + LH(axisFont) + gap + LH(numFont) + gap);
        float gridRight = gridLeft + heads * cellW + (heads - 1) * cellGap;
        float gridBottom = gridTop + layers * cellH + (layers - 1) * cellGap;
        texts.Add(new PlacedText("head", new SKPoint((gridLeft + gridRight) / 2, titleBottom + A(axisFont)), axisFont, TextAnchor.Middle));
        texts.Add(new PlacedText("layer", new SKPoint(pad + A(axisFont), (gridTop + gridBottom) / 2), axisFont, TextAnchor.Middle, -90));
        for (int h = 0; h < heads; h++)
            texts.Add(new PlacedText(h.ToString(), new SKPoint(gridLeft + h * (cellW + cellGap) + cellW / 2, gridTop - gap - fonts.DescentRatio * numFont), numFont, TextAnchor.Middle));
        for (int l = 0; l < layers; l++)
            texts.Add(new PlacedText(l.ToString(), new SKPoint(gridLeft - gap, gridTop + l * (cellH + cellGap) + cellH / 2 + (fonts.AscentRatio - fonts.DescentRatio) / 2 * numFont), numFont, TextAnchor.End));

        var cells = new List<RoleCell>(layers * heads);
        bool anyHidden = false;
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
            {
                var role = r.Roles[l][h];
                var rect = SKRect.Create(gridLeft + h * (cellW + cellGap), gridTop + l * (cellH + cellGap), cellW, cellH);
                string? score = RoleColors.KeyStatistic(role, r.StatNames) is { } stat ? Score(r.Stat(l, h, stat)) : null;
                if (score is not null && (fonts.Measure(score, cellFont) > cellW - 4 * s || LH(cellFont) > cellH - 2 * s)) { score = null; anyHidden = true; }
                cells.Add(new RoleCell(l, h, role, RoleColors.Color(role, roles), rect, score));
            }

        // legend right of the grid: swatch, role, head count, and the statistic printed in its cells
        var legend = new List<RoleLegendEntry>();
        float lx = MathF.Round(gridRight + st.ColorBarGap * s), ly = gridTop;
        float sw = MathF.Round(LH(legendFont)), legendRight = lx;
        texts.Add(new PlacedText("roles", new SKPoint(lx, ly - gap - fonts.DescentRatio * axisFont), axisFont, TextAnchor.Start));
        foreach (var role in RoleColors.Present(r))
        {
            int count = roles.Count(x => x == role);
            var stat = RoleColors.KeyStatistic(role, r.StatNames);
            string text = $"{role} ({count} head{(count == 1 ? "" : "s")})" + (stat is null ? "" : $" · {stat}");
            text = TokenText.Printable(text);
            var swatch = SKRect.Create(lx, MathF.Round(ly), sw, sw);
            var anchor = new SKPoint(lx + sw + 2 * gap, ly + (sw - LH(legendFont)) / 2 + A(legendFont));
            legend.Add(new RoleLegendEntry(role, RoleColors.Color(role, roles), swatch, text, anchor));
            legendRight = MathF.Max(legendRight, anchor.X + fonts.Measure(text, legendFont));
            ly += sw + 6 * s;
        }
        float contentBottom = MathF.Max(gridBottom, ly);

        float noteFont = st.NoteFont * s;
        var notes = new List<IReadOnlyList<NotePiece>>
        {
            new[] { new NotePiece("number in each cell: the head's score for its role (the statistic named in the legend); hover in the viewer for all statistics", st.NoteText) },
        };
        if (anyHidden) notes.Add([new NotePiece("cells too small for their number leave it out (larger: --cell or --scale)", st.NoteText)]);
        float noteLine = LH(noteFont) + 2 * s;
        float noteTop = contentBottom + 12 * s;
        float noteW = notes.Select(l => l.Sum(p => fonts.Measure(p.Text, noteFont))).Max();
        float titleW = fonts.Measure(title, titleFont, bold: true);
        int width = (int)MathF.Ceiling(MathF.Max(legendRight + pad, MathF.Max(titleW, noteW) + 2 * pad));
        int height = (int)MathF.Ceiling(noteTop + notes.Count * noteLine + pad);
        if (width > HeatmapLayout.MaxPixels || height > HeatmapLayout.MaxPixels)
            throw new AttnScopeException($"the figure would be {width} × {height} pixels (at most {HeatmapLayout.MaxPixels} per side); use a smaller cell size or scale");
        return new RoleMapLayout
        {
            Width = width, Height = height, Scale = s, Cells = cells, CellFont = cellFont, Legend = legend, LegendFont = legendFont, Texts = texts,
            Title = title, TitleFont = titleFont, TitleAnchor = new SKPoint(pad, pad + A(titleFont)),
            Notes = notes, NoteFont = noteFont, NoteAnchor = new SKPoint(pad, noteTop + A(noteFont)), NoteLineHeight = noteLine,
        };
    }

    /// <summary>A score to two decimals (three significant digits above 10, e.g. an entropy in bits).</summary>
    public static string Score(float v) => MathF.Abs(v) >= 10
        ? v.ToString("0", System.Globalization.CultureInfo.InvariantCulture)
        : v.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
}
