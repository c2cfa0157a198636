using System.Globalization;
using AttnScope.Capture;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Views.Corpus;

/// <summary>A placed histogram of one head: its rectangle and bar heights as a share of the cell's tallest bar.</summary>
internal sealed record HistogramCell(int Layer, int Head, SKRect Rect, float[] Heights, float MeanX, string MeanText);

/// <summary>
/// The distribution of a per-head statistic over a corpus as a layers × heads grid of small histograms (one shared
/// x range, each cell scaled to its tallest bar) with the mean marked by a line and printed, for <c>attnscope corpus plot</c>.
/// </summary>
internal sealed class HeadDistributionGridLayout : FigureFrame
{
    public override long CellBlocks => Cells.Count;
    public required IReadOnlyList<HistogramCell> Cells { get; init; }
    public required IReadOnlyList<PlacedText> Texts { get; init; }
    public required float CellFont { get; init; }

    /// <summary>Bar and mean-line colours.</summary>
    public static readonly SKColor Bar = new(0x3B, 0x6E, 0xA8), MeanLine = new(0xD9, 0x5F, 0x0E), CellBack = new(0xF2, 0xF2, 0xF2);

    /// <summary>Most layers or heads a figure accepts.</summary>
    public const int MaxSide = 64;

    public override void Paint(IFigureCanvas canvas, ColorMap colorMap, FontSet fonts, FigureStyle style)
    {
        foreach (var t in Texts) canvas.Text(t.Text, t.Anchor.X, t.Anchor.Y, t.Font, style.Text, t.Align, t.Rotate);
        foreach (var c in Cells)
        {
            canvas.FillRect(c.Rect, CellBack);
            float inner = c.Rect.Height - CellFont * 1.3f;
            float w = c.Rect.Width / c.Heights.Length;
            for (int b = 0; b < c.Heights.Length; b++)
            {
                if (c.Heights[b] <= 0) continue;
                float h = MathF.Max(1, c.Heights[b] * inner);
                canvas.FillRect(new SKRect(c.Rect.Left + b * w, c.Rect.Bottom - h, c.Rect.Left + (b + 1) * w, c.Rect.Bottom), Bar);
            }
            if (float.IsFinite(c.MeanX)) canvas.Line(c.MeanX, c.Rect.Bottom, c.MeanX, c.Rect.Bottom - inner, MeanLine, MathF.Max(1, Scale * 1.2f));
            canvas.Text(c.MeanText, c.Rect.Right - 2 * Scale, c.Rect.Top + fonts.AscentRatio * CellFont + 1 * Scale, CellFont, style.Text, TextAnchor.End);
        }
        PaintFrame(canvas, fonts, style, TextAnchor.Start);
    }

    /// <summary>Lays out the grid; <paramref name="cellSize"/> is the cell width in logical pixels.</summary>
    public static HeadDistributionGridLayout Compute(StatHistogramGrid grid, string title, IReadOnlyList<string> notes, FontSet fonts,
        FigureStyle? style = null, float scale = 1f, float cellSize = 96)
    {
        var st = style ?? FigureStyle.Default;
        int layers = grid.Counts.Length, heads = layers == 0 ? 0 : grid.Counts[0].Length;
        if (layers is < 1 or > MaxSide || heads is < 1 or > MaxSide)
            throw new AttnScopeException($"a distribution grid of {layers} layers × {heads} heads (each must be 1..{MaxSide})");
        if (grid.Bins is < 1 or > 200) throw new AttnScopeException("a distribution grid takes 1..200 bins");
        if (!(scale is > 0 and <= 8) || !(cellSize is >= 40 and <= 400)) throw new AttnScopeException("grid scale must be in (0, 8] and cell size 40..400");
        float s = scale;
        float LH(float size) => fonts.LineHeightRatio * size;
        float A(float size) => fonts.AscentRatio * size;
        float pad = st.Padding * s, gap = st.LabelGap * s;
        float titleFont = st.TitleFont * s, axisFont = st.AxisTitleFont * s, numFont = st.TickFont * s, cellFont = MathF.Max(st.MinLabelFont, 10) * s, noteFont = st.NoteFont * s;
        float cellW = MathF.Round(cellSize * s), cellH = MathF.Round(cellSize * 0.6f * s), cellGap = MathF.Round(4 * s);
        title = TokenText.Printable(title);
        float titleBottom = pad + LH(titleFont) + st.TitleGap * s;
        float layerNumW = Enumerable.Range(0, layers).Max(l => fonts.Measure(l.ToString(CultureInfo.InvariantCulture), numFont));
        float left = MathF.Ceiling(pad + LH(axisFont) + gap + layerNumW + gap);
        float top = MathF.Ceiling(titleBottom + LH(axisFont) + gap + LH(numFont) + gap);
        float gridW = heads * cellW + (heads - 1) * cellGap, gridH = layers * cellH + (layers - 1) * cellGap;
        var texts = new List<PlacedText>
        {
            new("head", new SKPoint(left + gridW / 2, titleBottom + A(axisFont)), axisFont, TextAnchor.Middle),
            new("layer", new SKPoint(pad + A(axisFont), top + gridH / 2), axisFont, TextAnchor.Middle, -90),
        };
        for (int h = 0; h < heads; h++)
            texts.Add(new PlacedText(h.ToString(CultureInfo.InvariantCulture), new SKPoint(left + h * (cellW + cellGap) + cellW / 2, top - gap - fonts.DescentRatio * numFont), numFont, TextAnchor.Middle));
        for (int l = 0; l < layers; l++)
            texts.Add(new PlacedText(l.ToString(CultureInfo.InvariantCulture), new SKPoint(left - gap, top + l * (cellH + cellGap) + cellH / 2 + A(numFont) / 2), numFont, TextAnchor.End));
        var cells = new List<HistogramCell>();
        float span = grid.Max - grid.Min;
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
            {
                var counts = grid.Counts[l][h];
                if (counts.Length != grid.Bins) throw new AttnScopeException($"head {l}.{h} has {counts.Length} bins, not {grid.Bins}");
                long most = counts.DefaultIfEmpty(0).Max();
                var heights = counts.Select(c => most > 0 ? (float)c / most : 0f).ToArray();
                var rect = SKRect.Create(left + h * (cellW + cellGap), top + l * (cellH + cellGap), cellW, cellH);
                float mean = grid.Means[l][h];
                float meanX = float.IsFinite(mean) ? rect.Left + (span > 0 ? (mean - grid.Min) / span : 0.5f) * rect.Width : float.NaN;
                cells.Add(new HistogramCell(l, h, rect, heights, meanX, float.IsFinite(mean) ? Number(mean) : "–"));
            }
        var allNotes = new List<string>
        {
            $"x axis of every cell: {grid.Stat} from {Number(grid.Min)} to {Number(grid.Max)} in {grid.Bins} bins; bars: sentences per bin, each cell scaled to its tallest bar",
            $"orange line and number: the mean over {grid.Sentences:N0} sentences",
        };
        allNotes.AddRange(notes);
        float noteLine = LH(noteFont) + 2 * s;
        float noteTop = top + gridH + 14 * s;
        var noteLines = allNotes.Select(n => (IReadOnlyList<NotePiece>)[new NotePiece(TokenText.Printable(n), st.NoteText)]).ToList();
        float noteW = allNotes.Max(n => fonts.Measure(TokenText.Printable(n), noteFont));
        int width = (int)MathF.Ceiling(MathF.Max(left + gridW + pad, MathF.Max(fonts.Measure(title, titleFont, bold: true), noteW) + 2 * pad));
        int height = (int)MathF.Ceiling(noteTop + noteLines.Count * noteLine + pad);
        if (width > HeatmapLayout.MaxPixels || height > HeatmapLayout.MaxPixels)
            throw new AttnScopeException($"the distribution grid would be {width} × {height} pixels (at most {HeatmapLayout.MaxPixels} per side)");
        return new HeadDistributionGridLayout
        {
            Width = width, Height = height, Scale = s, Cells = cells, Texts = texts, CellFont = cellFont,
            Title = title, TitleFont = titleFont, TitleAnchor = new SKPoint(pad, pad + A(titleFont)),
            Notes = noteLines, NoteFont = noteFont, NoteAnchor = new SKPoint(pad, noteTop + A(noteFont)), NoteLineHeight = noteLine,
        };
    }

    private static string Number(float v) => Math.Abs(v) >= 100 ? v.ToString("0", CultureInfo.InvariantCulture) : v.ToString("0.00", CultureInfo.InvariantCulture);
}
