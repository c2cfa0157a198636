using AttnScope.Capture;
using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>Token labels of one panel axis: the plan (font, every k-th token), the texts and their boxes. Shared by all views.</summary>
internal static class AxisLabels
{
    public static AxisLabelPlan Plan(int count, float cellSize, FontSet fonts, FigureStyle st, float s) =>
        LabelLayout.Plan(count, cellSize, fonts.LineHeightRatio, st.LabelFont * s, st.MinLabelFont * s, st.LabelSpacing * s);

    /// <summary>
    /// Printable, width-limited texts of the labelled tokens and their widths (others stay null / 0). Tokens from
    /// <paramref name="visible"/> on (not reached yet by a step) get an empty text but keep their width, so that every
    /// step of an animation has the same layout.
    /// </summary>
    public static (string[] Texts, float[] Widths) Texts(IReadOnlyList<CaptureToken> tokens, AxisLabelPlan plan,
        FontSet fonts, float maxWidth, int visible = int.MaxValue)
    {
        var texts = new string[tokens.Count];
        var widths = new float[tokens.Count];
        foreach (var i in plan.Indices)
        {
            texts[i] = fonts.Fit(TokenText.Printable(tokens[i].Text), plan.FontSize, maxWidth);
            widths[i] = fonts.Measure(texts[i], plan.FontSize);
            if (i >= visible) texts[i] = "";
        }
        return (texts, widths);
    }

    public static float MaxWidth(AxisLabelPlan plan, float[] widths) => plan.Indices.Select(i => widths[i]).DefaultIfEmpty(0).Max();

    /// <summary>Row (query) labels right-aligned left of a plot.</summary>
    public static List<DrawnLabel> Rows(IReadOnlyList<CaptureToken> tokens, AxisLabelPlan plan, string[] texts, float[] widths,
        SKRect plot, float gap, FontSet fonts) =>
        LabelLayout.RowBoxes(plan, widths, fonts.LineHeightRatio * plan.FontSize, plot.Left, plot.Top, gap)
            .Select(b => new DrawnLabel(b.Index, texts[b.Index], b.Box, Kind(tokens[b.Index]))).ToList();

    /// <summary>Column (key) labels rotated below a plot.</summary>
    public static List<DrawnLabel> Columns(IReadOnlyList<CaptureToken> tokens, AxisLabelPlan plan, string[] texts, float[] widths,
        SKRect plot, float gap, FontSet fonts) =>
        LabelLayout.ColumnBoxes(plan, widths, fonts.LineHeightRatio * plan.FontSize, plot.Left, plot.Bottom, gap)
            .Select(b => new DrawnLabel(b.Index, texts[b.Index], b.Box, Kind(tokens[b.Index]))).ToList();

    public static LabelKind Kind(CaptureToken t) =>
        t.IsSpecial ? LabelKind.Special : t.Segment == Segment.B ? LabelKind.SegmentB : LabelKind.Normal;

    /// <summary>The note line explaining label colours, or null when every label is a plain sentence-A token.</summary>
    public static IReadOnlyList<NotePiece>? ColourLegend(IEnumerable<CaptureToken> tokens, FigureStyle st)
    {
        var all = tokens.ToList();
        bool anySpecial = all.Any(t => t.IsSpecial), anyB = all.Any(t => !t.IsSpecial && t.Segment == Segment.B);
        if (!anySpecial && !anyB) return null;
        var legend = new List<NotePiece> { new("label colours: ", st.NoteText) };
        if (anySpecial) legend.Add(new("special token", st.SpecialText));
        if (anyB)
        {
            if (anySpecial) legend.Add(new(" · ", st.NoteText));
            legend.Add(new("sentence A", st.Text));
            legend.Add(new(" · ", st.NoteText));
            legend.Add(new("sentence B", st.SegmentBText));
        }
        return legend;
    }

    /// <summary>Axis titles: "query" / "key", or for cross attention "target (query)" / "source (key)".</summary>
    public static (string Rows, string Columns) Titles(string stack) =>
        stack == AttentionStack.Cross ? ("target (query)", "source (key)") : ("query", "key");
}
