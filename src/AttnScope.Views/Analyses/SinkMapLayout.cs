using AttnScope.Analyses.Heads;
using AttnScope.Capture;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Views.Analyses;

/// <summary>One head's cell of the sink map: which panel (0: first-token share, 1: top-1 key share), its value, rectangle and printed value (null when it does not fit).</summary>
internal sealed record SinkCell(int Panel, int Layer, int Head, float Value, SKRect Rect, string? Text);

/// <summary>
/// The attention-sink view: two layers × heads grids side by side, the share of attention on the first token and
/// on each row's top-1 key (<see cref="SinkStatistics"/>), each cell coloured by its value on a 0–1 scale with the
/// value printed in it, layer and head numbers, and notes on the rows averaged and the first token.
/// </summary>
internal sealed class SinkMapLayout : FigureFrame
{
    public override long CellBlocks => Cells.Count;
    public required IReadOnlyList<SinkCell> Cells { get; init; }
    public required float CellFont { get; init; }
    public required IReadOnlyList<PlacedText> Texts { get; init; }
    /// <summary>The 0–1 colour bar right of the grids.</summary>
    public required SKRect ColorBar { get; init; }
    public required IReadOnlyList<ColorBarTick> Ticks { get; init; }
    public required float TickFont { get; init; }

    public static readonly string[] PanelTitles = ["first-token share", "top-1 key share"];

    public override void Paint(IFigureCanvas canvas, ColorMap colorMap, FontSet fonts, FigureStyle style)
    {
        foreach (var t in Texts) canvas.Text(t.Text, t.Anchor.X, t.Anchor.Y, t.Font, style.Text, t.Align, t.Rotate);
        foreach (var c in Cells)
        {
            var color = colorMap.Map(Math.Clamp(c.Value, 0f, 1f));
            canvas.FillRect(c.Rect, color);
            if (c.Text is not null)
                canvas.Text(c.Text, c.Rect.MidX, c.Rect.MidY + (fonts.AscentRatio - fonts.DescentRatio) / 2 * CellFont, CellFont,
                    SaliencyTextLayout.TextOn(color, style), TextAnchor.Middle);
        }
        PanelPainter.ColorBar(canvas, ColorBar, Ticks, TickFont, colorMap, fonts, style, Scale);
        PaintFrame(canvas, fonts, style, TextAnchor.Start);
    }

    public static SinkMapLayout Compute(AttentionCapture capture, SinkStatsResult r, HeatmapOptions o, FontSet fonts, FigureStyle st)
    {
        o.Validate();
        var map = ColorMap.Get(o.ColorMap);
        if (map.IsDiverging) throw new AttnScopeException($"the sinks view shows shares from 0 to 1; the diverging colour map {o.ColorMap} does not suit it");
        float s = o.Scale;
        float A(float size) => fonts.AscentRatio * size;
        float LH(float size) => fonts.LineHeightRatio * size;
        float pad = st.Padding * s, gap = st.LabelGap * s;
        float titleFont = st.TitleFont * s, axisFont = st.AxisTitleFont * s, numFont = st.PanelTitleFont * s, cellFont = st.TickFont * s;
        int layers = r.Layers, heads = r.Heads;
        var kv = KeyValueHeads.Of(capture.Metadata, heads, r.Stack);

        // two panels side by side; with many heads one above the other, so that each cell has room for its number
        bool stacked = heads >= 16;
        float cellW = o.CellSize is { } cs ? cs * s
            : MathF.Round(Math.Clamp(st.AutoModelPlot * s / (stacked ? 1 : 2) / Math.Max(heads, layers), 16 * s, 48 * s));
        float cellH = MathF.Round(MathF.Max(12 * s, MathF.Min(cellW, MathF.Max(cellW * 0.62f, LH(cellFont) + 8 * s))));
        float cellGap = MathF.Max(1, MathF.Round(2 * s));
        float panelW = heads * cellW + (heads - 1) * cellGap;
        float panelH = layers * cellH + (layers - 1) * cellGap;
        float panelGap = MathF.Round((stacked ? 18 : 36) * s);

        var titleParts = new List<string>();
        if (!string.IsNullOrWhiteSpace(capture.Metadata.ModelId)) titleParts.Add(capture.Metadata.ModelId);
        titleParts.Add(r.Stack);
        titleParts.Add($"attention sinks ({layers} layers × {heads} heads)");
        string title = TokenText.Printable(o.Title ?? string.Join(" · ", titleParts));
        float titleBottom = pad + LH(titleFont) + st.TitleGap * s;
        float layerNumW = Enumerable.Range(0, layers).Max(l => fonts.Measure(l.ToString(), numFont));
        float gridLeft = MathF.Ceiling(pad + LH(axisFont) + 2 * gap + layerNumW + gap);
        // above each panel: its title, the "head" axis title, head numbers (and kv heads)
        float header = MathF.Ceiling(LH(axisFont) + gap + LH(cellFont) + gap + LH(numFont) + gap + (kv is null ? 0 : LH(cellFont)));
        var texts = new List<PlacedText>();
        var cells = new List<SinkCell>(2 * layers * heads);
        bool anyHidden = false;
        float gridRight = 0, gridBottom = 0, firstGridTop = 0;
        for (int panel = 0; panel < 2; panel++)
        {
            float left = stacked ? gridLeft : gridLeft + panel * (panelW + panelGap);
            float top = stacked ? titleBottom + panel * (header + panelH + panelGap) : titleBottom;
            float gridTop = top + header;
            if (panel == 0) firstGridTop = gridTop;
            gridRight = MathF.Max(gridRight, left + panelW);
            gridBottom = MathF.Max(gridBottom, gridTop + panelH);
            texts.Add(new PlacedText(PanelTitles[panel], new SKPoint(left + panelW / 2, top + A(axisFont)), axisFont, TextAnchor.Middle));
            texts.Add(new PlacedText(kv is null ? "head" : "head (kv head below)", new SKPoint(left + panelW / 2, top + LH(axisFont) + gap + A(cellFont)), cellFont, TextAnchor.Middle));
            if (panel == 0 || stacked)
            {
                texts.Add(new PlacedText("layer", new SKPoint(pad + A(axisFont), gridTop + panelH / 2), axisFont, TextAnchor.Middle, -90));
                for (int l = 0; l < layers; l++)
                    texts.Add(new PlacedText(l.ToString(), new SKPoint(gridLeft - gap, gridTop + l * (cellH + cellGap) + cellH / 2 + (fonts.AscentRatio - fonts.DescentRatio) / 2 * numFont), numFont, TextAnchor.End));
            }
            for (int h = 0; h < heads; h++)
            {
                float x = left + h * (cellW + cellGap) + cellW / 2;
                texts.Add(new PlacedText(h.ToString(), new SKPoint(x, gridTop - gap - fonts.DescentRatio * numFont - (kv is null ? 0 : LH(cellFont))), numFont, TextAnchor.Middle));
                if (kv is { } g)
                    texts.Add(new PlacedText(KeyValueHeads.KvHead(h, heads, g).ToString(), new SKPoint(x, gridTop - gap - fonts.DescentRatio * cellFont), cellFont, TextAnchor.Middle));
            }
            for (int l = 0; l < layers; l++)
                for (int h = 0; h < heads; h++)
                {
                    float v = panel == 0 ? r.FirstTokenShare(l, h) : r.TopKeyShare(l, h);
                    var rect = SKRect.Create(left + h * (cellW + cellGap), gridTop + l * (cellH + cellGap), cellW, cellH);
                    string? text = RoleMapLayout.Score(v);
                    if (fonts.Measure(text, cellFont) > cellW - 4 * s || LH(cellFont) > cellH - 2 * s) { text = null; anyHidden = true; }
                    cells.Add(new SinkCell(panel, l, h, v, rect, text));
                }
        }
        float gridTopAll = firstGridTop;

        float tickFont = st.TickFont * s;
        var bar = SKRect.Create(MathF.Round(gridRight + st.ColorBarGap * s), gridTopAll, MathF.Round(st.ColorBarWidth * s), MathF.Max(MathF.Min(gridBottom - gridTopAll, 300 * s), 60 * s));
        var scale = ColorScale.For(0, 1, false, false, 1f);
        var ticks = PanelPainter.Ticks(scale, bar, LH(tickFont));
        float barRight = bar.Right + (st.TickLength + 3) * s + ticks.Select(t => fonts.Measure(t.Text, tickFont)).DefaultIfEmpty(0).Max();

        float noteFont = st.NoteFont * s;
        var first = capture.AxisTokens(r.Stack).Keys[0];
        var notes = new List<IReadOnlyList<NotePiece>>
        {
            new[] { new NotePiece($"first token: '{TokenText.Printable(first.Text, 24)}' (key 0); top-1 key: each row's largest weight, wherever it is", st.NoteText) },
            new[] { new NotePiece(r.FirstRow == 1
                ? $"means over query rows 1..{r.Rows}; row 0 of a causal stack sees only the first token"
                : $"means over all {r.Rows} query rows", st.NoteText) },
        };
        if (KeyValueHeads.Note(heads, kv) is { } kvNote) notes.Add([new NotePiece(kvNote, st.NoteText)]);
        if (anyHidden) notes.Add([new NotePiece("cells too small for their number leave it out (larger: --cell or --scale)", st.NoteText)]);
        float noteLine = LH(noteFont) + 2 * s;
        float noteTop = MathF.Max(gridBottom, bar.Bottom) + 12 * s;
        float noteW = notes.Select(l => l.Sum(p => fonts.Measure(p.Text, noteFont))).Max();
        float titleW = fonts.Measure(title, titleFont, bold: true);
        int width = (int)MathF.Ceiling(MathF.Max(barRight + pad, MathF.Max(titleW, noteW) + 2 * pad));
        int height = (int)MathF.Ceiling(noteTop + notes.Count * noteLine + pad);
        if (width > HeatmapLayout.MaxPixels || height > HeatmapLayout.MaxPixels)
            throw new AttnScopeException($"the figure would be {width} × {height} pixels (at most {HeatmapLayout.MaxPixels} per side); use a smaller cell size or scale");
        return new SinkMapLayout
        {
            Width = width, Height = height, Scale = s, Cells = cells, CellFont = cellFont, Texts = texts,
            ColorBar = bar, Ticks = ticks, TickFont = tickFont,
            Title = title, TitleFont = titleFont, TitleAnchor = new SKPoint(pad, pad + A(titleFont)),
            Notes = notes, NoteFont = noteFont, NoteAnchor = new SKPoint(pad, noteTop + A(noteFont)), NoteLineHeight = noteLine,
        };
    }
}
