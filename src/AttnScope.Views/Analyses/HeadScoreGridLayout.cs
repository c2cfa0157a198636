using AttnScope.Capture;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Views.Analyses;

/// <summary>One layers × heads grid of a <see cref="HeadScoreGridLayout"/>: its title and values [layer][head].</summary>
internal sealed record HeadScorePanel(string Title, float[][] Values);

/// <summary>A placed cell of a score grid: its rectangle, colour and printed value.</summary>
internal sealed record HeadScoreCell(int Panel, int Layer, int Head, SKRect Rect, float Value, string Text);

/// <summary>
/// Layers × heads grids of per-head scores in [0, 1] (e.g. induction and previous-token scores), side by side on
/// one fixed colour scale from 0 to 1 so that figures of different checkpoints are comparable: each cell coloured
/// by its score with the score printed in it, layer and head numbers, a colour bar, a title and notes.
/// </summary>
internal sealed class HeadScoreGridLayout : FigureFrame
{
    public override long CellBlocks => Cells.Count;
    public required IReadOnlyList<HeadScoreCell> Cells { get; init; }
    public required float CellFont { get; init; }
    public required IReadOnlyList<PlacedText> Texts { get; init; }
    public required SKRect ColorBar { get; init; }
    public required IReadOnlyList<ColorBarTick> Ticks { get; init; }
    public required float TickFont { get; init; }

    /// <summary>Most panels, and most layers or heads per panel, a figure accepts.</summary>
    public const int MaxPanels = 8, MaxSide = 256;

    public override void Paint(IFigureCanvas canvas, ColorMap colorMap, FontSet fonts, FigureStyle style)
    {
        foreach (var t in Texts) canvas.Text(t.Text, t.Anchor.X, t.Anchor.Y, t.Font, style.Text, t.Align, t.Rotate);
        foreach (var c in Cells)
        {
            var color = colorMap.Map(float.IsFinite(c.Value) ? c.Value : 0);
            canvas.FillRect(c.Rect, color);
            canvas.Text(c.Text, c.Rect.MidX, c.Rect.MidY + (fonts.AscentRatio - fonts.DescentRatio) / 2 * CellFont, CellFont,
                SaliencyTextLayout.TextOn(color, style), TextAnchor.Middle);
        }
        PanelPainter.ColorBar(canvas, ColorBar, Ticks, TickFont, colorMap, fonts, style, Scale);
        PaintFrame(canvas, fonts, style, TextAnchor.Start);
    }

    /// <summary>Lays out the panels; <paramref name="cellSize"/> is in logical pixels (times <paramref name="scale"/>).</summary>
    public static HeadScoreGridLayout Compute(IReadOnlyList<HeadScorePanel> panels, string title, IReadOnlyList<string> notes,
        FontSet fonts, FigureStyle? style = null, float scale = 1f, float cellSize = 52)
    {
        var st = style ?? FigureStyle.Default;
        if (panels.Count is < 1 or > MaxPanels) throw new AttnScopeException($"a score grid takes 1..{MaxPanels} panels, not {panels.Count}");
        int layers = panels[0].Values.Length, heads = layers == 0 ? 0 : panels[0].Values[0].Length;
        if (layers is < 1 or > MaxSide || heads is < 1 or > MaxSide)
            throw new AttnScopeException($"a score grid of {layers} layers × {heads} heads (each must be 1..{MaxSide})");
        foreach (var p in panels)
            if (p.Values.Length != layers || p.Values.Any(r => r.Length != heads))
                throw new AttnScopeException($"panel '{p.Title}' is not {layers} layers × {heads} heads like the first");
        if (!(scale is > 0 and <= 8) || !(cellSize is >= 8 and <= 400)) throw new AttnScopeException("score grid scale must be in (0, 8] and cell size 8..400");

        float s = scale;
        float A(float size) => fonts.AscentRatio * size;
        float LH(float size) => fonts.LineHeightRatio * size;
        float pad = st.Padding * s, gap = st.LabelGap * s;
        float titleFont = st.TitleFont * s, axisFont = st.AxisTitleFont * s, numFont = st.PanelTitleFont * s, cellFont = st.TickFont * s;
        float panelTitleFont = st.AxisTitleFont * s, tickFont = st.TickFont * s, noteFont = st.NoteFont * s;
        float cellW = MathF.Round(cellSize * s), cellH = MathF.Round(cellSize * 0.62f * s), cellGap = MathF.Max(1, MathF.Round(2 * s));
        cellW = MathF.Max(cellW, MathF.Ceiling(fonts.Measure("0.00", cellFont) + 6 * s));
        cellH = MathF.Max(cellH, MathF.Ceiling(LH(cellFont) + 4 * s));

        title = TokenText.Printable(title);
        var texts = new List<PlacedText>();
        var cells = new List<HeadScoreCell>();
        float titleBottom = pad + LH(titleFont) + st.TitleGap * s;
        float layerNumW = Enumerable.Range(0, layers).Max(l => fonts.Measure(l.ToString(), numFont));
        float gridTop = MathF.Ceiling(titleBottom + LH(panelTitleFont) + gap + LH(axisFont) + gap + LH(numFont) + gap);
        float gridH = layers * cellH + (layers - 1) * cellGap, gridW = heads * cellW + (heads - 1) * cellGap;
        float x = pad;
        for (int p = 0; p < panels.Count; p++)
        {
            var panel = panels[p];
            float left = MathF.Ceiling(x + LH(axisFont) + gap + layerNumW + gap);
            string pt = TokenText.Printable(panel.Title);
            float panelRight = MathF.Max(left + gridW, left + fonts.Measure(pt, panelTitleFont, bold: false));
            texts.Add(new PlacedText(pt, new SKPoint(left, titleBottom + A(panelTitleFont)), panelTitleFont, TextAnchor.Start));
            texts.Add(new PlacedText("head", new SKPoint(left + gridW / 2, titleBottom + LH(panelTitleFont) + gap + A(axisFont)), axisFont, TextAnchor.Middle));
            texts.Add(new PlacedText("layer", new SKPoint(x + A(axisFont), gridTop + gridH / 2), axisFont, TextAnchor.Middle, -90));
            for (int h = 0; h < heads; h++)
                texts.Add(new PlacedText(h.ToString(), new SKPoint(left + h * (cellW + cellGap) + cellW / 2, gridTop - gap - fonts.DescentRatio * numFont), numFont, TextAnchor.Middle));
            for (int l = 0; l < layers; l++)
                texts.Add(new PlacedText(l.ToString(), new SKPoint(left - gap, gridTop + l * (cellH + cellGap) + cellH / 2 + (fonts.AscentRatio - fonts.DescentRatio) / 2 * numFont), numFont, TextAnchor.End));
            for (int l = 0; l < layers; l++)
                for (int h = 0; h < heads; h++)
                {
                    float v = panel.Values[l][h];
                    var rect = SKRect.Create(left + h * (cellW + cellGap), gridTop + l * (cellH + cellGap), cellW, cellH);
                    string text = float.IsFinite(v) ? v.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) : "–";
                    cells.Add(new HeadScoreCell(p, l, h, rect, v, text));
                }
            x = MathF.Ceiling(panelRight + 2 * st.ColorBarGap * s);
        }
        float barLeft = x - st.ColorBarGap * s;
        float barH = MathF.Max(gridH, st.ColorBarMinHeight * s * 0.8f);
        var bar = SKRect.Create(barLeft, gridTop, MathF.Round(st.ColorBarWidth * s), MathF.Round(barH));
        var ticks = PanelPainter.Ticks(new ColorScale(0, 1), bar, LH(tickFont));
        float barRight = bar.Right + (st.TickLength + 3) * s + ticks.Select(t => fonts.Measure(t.Text, tickFont)).DefaultIfEmpty(0).Max();

        float noteLine = LH(noteFont) + 2 * s;
        float noteTop = MathF.Max(gridTop + gridH, bar.Bottom) + 14 * s;
        var noteLines = notes.Select(n => (IReadOnlyList<NotePiece>)[new NotePiece(TokenText.Printable(n), st.NoteText)]).ToList();
        float noteW = notes.Count == 0 ? 0 : notes.Max(n => fonts.Measure(TokenText.Printable(n), noteFont));
        float titleW = fonts.Measure(title, titleFont, bold: true);
        int width = (int)MathF.Ceiling(MathF.Max(barRight + pad, MathF.Max(titleW, noteW) + 2 * pad));
        int height = (int)MathF.Ceiling(noteTop + noteLines.Count * noteLine + pad);
        if (width > HeatmapLayout.MaxPixels || height > HeatmapLayout.MaxPixels)
            throw new AttnScopeException($"the score grid would be {width} × {height} pixels (at most {HeatmapLayout.MaxPixels} per side)");
        return new HeadScoreGridLayout
        {
            Width = width, Height = height, Scale = s, Cells = cells, CellFont = cellFont, Texts = texts, ColorBar = bar, Ticks = ticks, TickFont = tickFont,
            Title = title, TitleFont = titleFont, TitleAnchor = new SKPoint(pad, pad + A(titleFont)),
            Notes = noteLines, NoteFont = noteFont, NoteAnchor = new SKPoint(pad, noteTop + A(noteFont)), NoteLineHeight = noteLine,
        };
    }
}
