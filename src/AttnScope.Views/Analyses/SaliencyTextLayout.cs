using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Views.Analyses;

/// <summary>A token drawn as coloured text: its piece, its background box and the baseline of its text.</summary>
internal sealed record SaliencyBox(int Section, SaliencyPiece Piece, SKRect Box, SKPoint Baseline);

/// <summary>
/// Token saliency as coloured text: the tokens wrapped into lines like running text, each on a background of its
/// saliency's colour (continuations joined to their word, special tokens dimmed and left out of the colour scale),
/// a colour bar, a title naming the explained output, and one block per section (source, target prefix).
/// </summary>
internal sealed class SaliencyTextLayout : FigureFrame
{
    public override long CellBlocks => Boxes.Count;
    public required IReadOnlyList<SaliencyBox> Boxes { get; init; }
    public required IReadOnlyList<PlacedText> Texts { get; init; }
    public required float TokenFont { get; init; }
    public required ColorScale ColorScale { get; init; }
    public required SKRect ColorBar { get; init; }
    public required IReadOnlyList<ColorBarTick> Ticks { get; init; }
    public required float TickFont { get; init; }

    /// <summary>How much of the background colour a special token keeps (the rest is white).</summary>
    public const float SpecialStrength = 0.3f;

    /// <summary>The background a token gets: its value's colour, or for special tokens that colour faded towards white.</summary>
    public SKColor Background(SaliencyPiece p, ColorMap map)
    {
        var c = map.Map(ColorScale.Normalize(p.Value));
        return p.Special ? Blend(c, SKColors.White, 1 - SpecialStrength) : c;
    }

    public static SKColor Blend(SKColor a, SKColor b, float t) => new(
        (byte)MathF.Round(a.Red + (b.Red - a.Red) * t), (byte)MathF.Round(a.Green + (b.Green - a.Green) * t), (byte)MathF.Round(a.Blue + (b.Blue - a.Blue) * t));

    /// <summary>Dark text on light backgrounds, white text on dark ones.</summary>
    public static SKColor TextOn(SKColor bg, FigureStyle style) =>
        (0.2126f * bg.Red + 0.7152f * bg.Green + 0.0722f * bg.Blue) / 255f > 0.5f ? style.Text : SKColors.White;

    public override void Paint(IFigureCanvas canvas, ColorMap colorMap, FontSet fonts, FigureStyle style)
    {
        float s = Scale;
        foreach (var t in Texts) canvas.Text(t.Text, t.Anchor.X, t.Anchor.Y, t.Font, style.Text, t.Align, t.Rotate);
        foreach (var b in Boxes)
        {
            var bg = Background(b.Piece, colorMap);
            canvas.FillRect(b.Box, bg);
            canvas.Text(b.Piece.Text, b.Baseline.X, b.Baseline.Y, TokenFont, b.Piece.Special ? style.SpecialText : TextOn(bg, style));
        }
        PanelPainter.ColorBar(canvas, ColorBar, Ticks, TickFont, colorMap, fonts, style, s);
        PaintFrame(canvas, fonts, style, TextAnchor.Start);
    }

    public static SaliencyTextLayout Compute(AttentionCapture capture, SaliencyResult r, HeatmapOptions o, FontSet fonts, FigureStyle st)
    {
        o.Validate();
        var sections = SaliencyText.Sections(capture, r);
        float s = o.Scale;
        float A(float size) => fonts.AscentRatio * size;
        float LH(float size) => fonts.LineHeightRatio * size;
        float pad = st.Padding * s;
        float titleFont = st.TitleFont * s, subFont = st.AxisTitleFont * s, headFont = st.AxisTitleFont * s;
        float tokenFont = (o.CellSize is { } c ? Math.Clamp(c, 8, 40) : 16) * s;
        float boxPad = 3 * s, joinPad = MathF.Max(1, 0.5f * s), wordGap = 7 * s, lineGap = 6 * s;
        float boxH = MathF.Ceiling(LH(tokenFont) + 2 * boxPad);
        float lineWidth = MathF.Min(900 * s, o.MaxImageSize - 2 * pad - 120 * s);

        var map = Static.ColorMap.Get(o.ColorMap);
        var all = sections.SelectMany(x => x.Pieces).ToList();
        var (lo, hi) = SaliencyText.ColourRange(all);
        var scale = ColorScale.For(lo, hi, o.LogScale, map.IsDiverging, o.ColorMax);

        string title = TokenText.Printable(o.Title ?? SaliencyText.Title(capture));
        title = fonts.Fit(title, titleFont, MathF.Max(lineWidth, 600 * s), bold: true);
        string sub = fonts.Fit(SaliencyText.Target(r.Info), subFont, MathF.Max(lineWidth, 600 * s));
        var texts = new List<PlacedText>();
        float y = pad + LH(titleFont) + 4 * s;
        texts.Add(new PlacedText(sub, new SKPoint(pad, y + A(subFont)), subFont, TextAnchor.Start));
        y += LH(subFont) + st.TitleGap * s;
        float textTop = y;

        var boxes = new List<SaliencyBox>();
        float right = pad;
        for (int si = 0; si < sections.Count; si++)
        {
            var sec = sections[si];
            if (sections.Count > 1)
            {
                if (si > 0) y += 10 * s;
                texts.Add(new PlacedText(sec.Name, new SKPoint(pad, y + A(headFont)), headFont, TextAnchor.Start));
                y += LH(headFont) + 4 * s;
            }
            float x = pad;
            bool lineEmpty = true;
            var pieces = sec.Pieces;
            for (int i = 0; i < pieces.Count;)
            {
                // a word: a piece and the pieces that join it
                int end = i + 1;
                while (end < pieces.Count && pieces[end].JoinsPrevious) end++;
                // inside a word the pieces meet with almost no padding, so the word reads as one
                float Left(int j) => j > i ? joinPad : boxPad;
                float Right(int j) => j < end - 1 ? joinPad : boxPad;
                var widths = new float[end - i];
                for (int j = i; j < end; j++)
                    widths[j - i] = MathF.Ceiling(fonts.Measure(Fit(pieces[j].Text, fonts, tokenFont, lineWidth), tokenFont) + Left(j) + Right(j));
                float wordW = widths.Sum();
                if (!lineEmpty && x + wordGap + wordW > pad + lineWidth)
                {
                    x = pad;
                    y += boxH + lineGap;
                    lineEmpty = true;
                }
                if (!lineEmpty) x += wordGap;
                for (int j = i; j < end; j++)
                {
                    float w = widths[j - i];
                    if (!lineEmpty && x + w > pad + lineWidth) { x = pad; y += boxH + lineGap; }
                    var p = pieces[j] with { Text = Fit(pieces[j].Text, fonts, tokenFont, lineWidth) };
                    var box = new SKRect(MathF.Round(x), MathF.Round(y), MathF.Round(x + w), MathF.Round(y + boxH));
                    boxes.Add(new SaliencyBox(si, p, box, new SKPoint(x + Left(j), y + boxPad + A(tokenFont))));
                    x += w;
                    right = MathF.Max(right, x);
                    lineEmpty = false;
                }
                i = end;
            }
            y += boxH;
        }
        float textBottom = y;

        // colour bar to the right of the text
        float tickFont = st.TickFont * s;
        var bar = SKRect.Create(MathF.Round(MathF.Max(right, pad + 200 * s) + st.ColorBarGap * s), MathF.Round(textTop),
            MathF.Round(st.ColorBarWidth * s), MathF.Round(MathF.Max(textBottom - textTop, st.ColorBarMinHeight * s)));
        var ticks = PanelPainter.Ticks(scale, bar, LH(tickFont));
        float tickW = ticks.Select(t => fonts.Measure(t.Text, tickFont)).DefaultIfEmpty(0).Max();
        float contentRight = bar.Right + st.TickLength * s + 3 * s + tickW;
        float contentBottom = MathF.Max(textBottom, bar.Bottom + LH(tickFont) / 2);

        float noteFont = st.NoteFont * s;
        var notes = new List<IReadOnlyList<NotePiece>>
        {
            new[] { new NotePiece("background: each token's saliency on the colour bar; word pieces are joined to their word", st.NoteText) },
        };
        if (all.Any(p => p.Special))
            notes.Add([new NotePiece("special tokens", st.SpecialText),
                new NotePiece(" are dimmed and left out of the colour scale (their values: saliency-bars view)", st.NoteText)]);
        if (scale.Note is { } sn) notes.Add([new NotePiece(sn, st.NoteText)]);
        float noteLine = LH(noteFont) + 2 * s;
        float noteTop = contentBottom + 12 * s;
        float noteW = notes.Select(l => l.Sum(p => fonts.Measure(p.Text, noteFont))).Max();
        float titleW = fonts.Measure(title, titleFont, bold: true);
        float subW = fonts.Measure(sub, subFont);

        int width = (int)MathF.Ceiling(MathF.Max(contentRight + pad, MathF.Max(MathF.Max(titleW, subW), noteW) + 2 * pad));
        int height = (int)MathF.Ceiling(noteTop + notes.Count * noteLine + pad);
        if (width > HeatmapLayout.MaxPixels || height > HeatmapLayout.MaxPixels)
            throw new AttnScopeException($"the figure would be {width} × {height} pixels (at most {HeatmapLayout.MaxPixels} per side); use a smaller scale");
        return new SaliencyTextLayout
        {
            Width = width, Height = height, Scale = s, Boxes = boxes, Texts = texts, TokenFont = tokenFont,
            ColorScale = scale, ColorBar = bar, Ticks = ticks, TickFont = tickFont,
            Title = title, TitleFont = titleFont, TitleAnchor = new SKPoint(pad, pad + A(titleFont)),
            Notes = notes, NoteFont = noteFont, NoteAnchor = new SKPoint(pad, noteTop + A(noteFont)), NoteLineHeight = noteLine,
        };
    }

    private static string Fit(string text, FontSet fonts, float size, float lineWidth) => fonts.Fit(text, size, MathF.Min(lineWidth, 400 * size / 16));
}
