using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Views.Analyses;

/// <summary>One token's bar: label (right-aligned before the axis), bar and the value printed after it.</summary>
internal sealed record SaliencyBar(int Section, SaliencyPiece Piece, string Label, SKPoint LabelAnchor, SKRect Bar, string ValueText, SKPoint ValueAnchor);

/// <summary>
/// Token saliency as bars: one row per token with its label, a bar as long as its value (coloured like the
/// coloured-text view, on one scale with it) and the value printed beside it; one block per section.
/// </summary>
internal sealed class SaliencyBarsLayout : FigureFrame
{
    public override long CellBlocks => Bars.Count;
    public required IReadOnlyList<SaliencyBar> Bars { get; init; }
    public required IReadOnlyList<PlacedText> Texts { get; init; }
    public required float LabelFont { get; init; }
    public required ColorScale ColorScale { get; init; }
    /// <summary>The zero line, from the top of the first bar to the bottom of the last.</summary>
    public required IReadOnlyList<(float X, float Top, float Bottom)> Axes { get; init; }

    public override void Paint(IFigureCanvas canvas, ColorMap colorMap, FontSet fonts, FigureStyle style)
    {
        float s = Scale;
        foreach (var t in Texts) canvas.Text(t.Text, t.Anchor.X, t.Anchor.Y, t.Font, style.Text, t.Align, t.Rotate);
        foreach (var b in Bars)
        {
            canvas.Text(b.Label, b.LabelAnchor.X, b.LabelAnchor.Y, LabelFont, b.Piece.Special ? style.SpecialText : style.Text, TextAnchor.End);
            if (b.Bar.Width > 0) canvas.FillRect(b.Bar, colorMap.Map(ColorScale.Normalize(b.Piece.Value)));
            canvas.Text(b.ValueText, b.ValueAnchor.X, b.ValueAnchor.Y, LabelFont, style.NoteText,
                b.Piece.Value < 0 ? TextAnchor.End : TextAnchor.Start);
        }
        foreach (var (x, top, bottom) in Axes) canvas.Line(x, top, x, bottom, style.Frame, MathF.Max(1, s));
        PaintFrame(canvas, fonts, style, TextAnchor.Start);
    }

    public static SaliencyBarsLayout Compute(AttentionCapture capture, SaliencyResult r, HeatmapOptions o, FontSet fonts, FigureStyle st)
    {
        o.Validate();
        var sections = SaliencyText.Sections(capture, r);
        float s = o.Scale;
        float A(float size) => fonts.AscentRatio * size;
        float LH(float size) => fonts.LineHeightRatio * size;
        float pad = st.Padding * s, gap = st.LabelGap * s;
        float titleFont = st.TitleFont * s, subFont = st.AxisTitleFont * s, headFont = st.AxisTitleFont * s;
        float labelFont = st.LabelFont * s;
        float rowH = MathF.Ceiling(LH(labelFont) + 4 * s);
        float barSpan = 360 * s;

        var map = Static.ColorMap.Get(o.ColorMap);
        var all = sections.SelectMany(x => x.Pieces).ToList();
        var (cmin, cmax) = SaliencyText.ColourRange(all);
        var colour = ColorScale.For(cmin, cmax, o.LogScale, map.IsDiverging, o.ColorMax);
        // bar lengths: every value (specials included) fits; negative values extend left of the zero line
        float lo = MathF.Min(0, all.Min(p => p.Value)), hi = MathF.Max(0, all.Max(p => p.Value));
        if (!(hi - lo > 0)) hi = 1;
        float perUnit = barSpan / (hi - lo);

        // a bar's label is the token as the model saw it ("##s" keeps its marker), so pieces stay distinguishable
        IReadOnlyList<CaptureToken>[] tokenLists = [capture.Tokens, capture.TargetTokens];
        var labels = sections.Select((sec, si) => sec.Pieces
            .Select(p => fonts.Fit(TokenText.Printable(tokenLists[si][p.Index].Text), labelFont, st.MaxLabelWidth * s)).ToList()).ToList();
        float labelW = labels.SelectMany(l => l).Select(t => fonts.Measure(t, labelFont)).DefaultIfEmpty(0).Max();
        var values = all.Select(p => ColorBarTicks.Format(p.Value)).ToList();
        float valueW = values.Select(v => fonts.Measure(v, labelFont)).DefaultIfEmpty(0).Max();

        string title = TokenText.Printable(o.Title ?? SaliencyText.Title(capture));
        string sub = SaliencyText.Target(r.Info);
        var texts = new List<PlacedText>();
        float y = pad + LH(titleFont) + 4 * s;
        texts.Add(new PlacedText(sub, new SKPoint(pad, y + A(subFont)), subFont, TextAnchor.Start));
        y += LH(subFont) + st.TitleGap * s;

        float left = MathF.Ceiling(pad + labelW + gap + (lo < 0 ? valueW + gap : 0));
        float zeroX = MathF.Round(left + -lo * perUnit);
        var bars = new List<SaliencyBar>();
        var axes = new List<(float, float, float)>();
        for (int si = 0; si < sections.Count; si++)
        {
            var sec = sections[si];
            if (sections.Count > 1)
            {
                if (si > 0) y += 10 * s;
                texts.Add(new PlacedText(sec.Name, new SKPoint(pad, y + A(headFont)), headFont, TextAnchor.Start));
                y += LH(headFont) + 4 * s;
            }
            float top = y;
            for (int i = 0; i < sec.Pieces.Count; i++)
            {
                var p = sec.Pieces[i];
                float baseline = y + (rowH - LH(labelFont)) / 2 + A(labelFont);
                float len = MathF.Round(MathF.Abs(p.Value) * perUnit);
                var bar = p.Value >= 0
                    ? new SKRect(zeroX, MathF.Round(y + 2 * s), zeroX + len, MathF.Round(y + rowH - 2 * s))
                    : new SKRect(zeroX - len, MathF.Round(y + 2 * s), zeroX, MathF.Round(y + rowH - 2 * s));
                var valueAnchor = p.Value >= 0 ? new SKPoint(bar.Right + gap, baseline) : new SKPoint(bar.Left - gap, baseline);
                bars.Add(new SaliencyBar(si, p, labels[si][i], new SKPoint(pad + labelW, baseline), bar,
                    ColorBarTicks.Format(p.Value), valueAnchor));
                y += rowH;
            }
            axes.Add((zeroX, top, y));
        }
        float contentRight = zeroX + hi * perUnit + gap + valueW;
        float noteFont = st.NoteFont * s;
        var notes = new List<IReadOnlyList<NotePiece>>
        {
            new[] { new NotePiece("bar length: the token's saliency; colour: the same scale as the coloured-text view", st.NoteText) },
        };
        if (all.Any(p => p.Special)) notes.Add([new NotePiece("grey labels: special tokens", st.SpecialText)]);
        float noteLine = LH(noteFont) + 2 * s;
        float noteTop = y + 12 * s;
        float noteW = notes.Select(l => l.Sum(p => fonts.Measure(p.Text, noteFont))).Max();
        float headW = MathF.Max(fonts.Measure(title, titleFont, bold: true), fonts.Measure(sub, subFont));
        int width = (int)MathF.Ceiling(MathF.Max(contentRight + pad, MathF.Max(headW, noteW) + 2 * pad));
        int height = (int)MathF.Ceiling(noteTop + notes.Count * noteLine + pad);
        if (width > HeatmapLayout.MaxPixels || height > HeatmapLayout.MaxPixels)
            throw new AttnScopeException($"the figure would be {width} × {height} pixels (at most {HeatmapLayout.MaxPixels} per side): {all.Count} bars are too many; use the saliency view");
        return new SaliencyBarsLayout
        {
            Width = width, Height = height, Scale = s, Bars = bars, Texts = texts, LabelFont = labelFont, ColorScale = colour, Axes = axes,
            Title = title, TitleFont = titleFont, TitleAnchor = new SKPoint(pad, pad + A(titleFont)),
            Notes = notes, NoteFont = noteFont, NoteAnchor = new SKPoint(pad, noteTop + A(noteFont)), NoteLineHeight = noteLine,
        };
    }
}
