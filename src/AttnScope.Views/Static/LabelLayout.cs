using System.Globalization;
using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>How one axis labels its tokens: the font size, and every <see cref="Step"/>-th token.</summary>
internal sealed record AxisLabelPlan(int Count, float CellSize, float FontSize, int Step, bool FontReduced)
{
    /// <summary>Indices of the tokens that get a label: 0, Step, 2·Step, ...</summary>
    public IEnumerable<int> Indices
    {
        get { for (int i = 0; i < Count; i += Step) yield return i; }
    }

    public int LabelCount => Count == 0 ? 0 : (Count - 1) / Step + 1;

    /// <summary>What the figure says about thinned or shrunk labels; null when every label is drawn at full size.</summary>
    public string? Note => Step > 1
        ? $"labels: every {Ordinal(Step)} token ({LabelCount} of {Count})"
        : FontReduced ? $"labels: font reduced to {FontSize.ToString("0.#", CultureInfo.InvariantCulture)} px to fit {Count} tokens" : null;

    internal static string Ordinal(int n) => (n % 100) switch
    {
        11 or 12 or 13 => $"{n}th",
        _ => (n % 10) switch { 1 => $"{n}st", 2 => $"{n}nd", 3 => $"{n}rd", _ => $"{n}th" },
    };
}

/// <summary>One drawn label's bounding box in image pixels, for the token at <see cref="Index"/>.</summary>
internal readonly record struct LabelBox(int Index, SKRect Box);

/// <summary>
/// Pure label layout. A label's extent along its axis is one line height (row labels are horizontal, column labels
/// are rotated 90°), so labels never overlap when the distance between drawn labels (Step × cell) is at least a
/// line height plus a gap. The font first shrinks from its preferred size down to a readable minimum; below that,
/// labels are thinned to every k-th token.
/// </summary>
internal static class LabelLayout
{
    /// <param name="count">Tokens on the axis.</param>
    /// <param name="cellSize">Cell edge in pixels.</param>
    /// <param name="lineHeightRatio">Line height per pixel of font size (measured from the font).</param>
    /// <param name="preferredFont">Font size used when cells are large enough.</param>
    /// <param name="minFont">Smallest readable font size.</param>
    /// <param name="gap">Free space between neighbouring labels.</param>
    public static AxisLabelPlan Plan(int count, float cellSize, float lineHeightRatio, float preferredFont, float minFont, float gap)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        if (!(cellSize > 0) || !(lineHeightRatio > 0) || !(minFont > 0) || preferredFont < minFont || gap < 0)
            throw new ArgumentException("invalid label layout parameters");
        float fit = (cellSize - gap) / lineHeightRatio;
        if (fit >= preferredFont) return new AxisLabelPlan(count, cellSize, preferredFont, 1, false);
        if (fit >= minFont) return new AxisLabelPlan(count, cellSize, MathF.Max(minFont, MathF.Floor(fit * 2) / 2), 1, true);
        int step = (int)MathF.Ceiling((minFont * lineHeightRatio + gap) / cellSize);
        return new AxisLabelPlan(count, cellSize, minFont, Math.Max(2, step), true);
    }

    /// <summary>Boxes of row labels: right-aligned, ending <paramref name="gapToPlot"/> left of the plot, centred on their rows.</summary>
    public static IReadOnlyList<LabelBox> RowBoxes(AxisLabelPlan plan, IReadOnlyList<float> widths, float lineHeight,
        float plotLeft, float plotTop, float gapToPlot)
    {
        var boxes = new List<LabelBox>(plan.LabelCount);
        float right = plotLeft - gapToPlot;
        foreach (var i in plan.Indices)
        {
            float cy = plotTop + (i + 0.5f) * plan.CellSize;
            boxes.Add(new LabelBox(i, new SKRect(right - widths[i], cy - lineHeight / 2, right, cy + lineHeight / 2)));
        }
        return boxes;
    }

    /// <summary>Boxes of column labels: rotated 90° (reading upwards), starting <paramref name="gapToPlot"/> below the plot.</summary>
    public static IReadOnlyList<LabelBox> ColumnBoxes(AxisLabelPlan plan, IReadOnlyList<float> widths, float lineHeight,
        float plotLeft, float plotBottom, float gapToPlot)
    {
        var boxes = new List<LabelBox>(plan.LabelCount);
        float top = plotBottom + gapToPlot;
        foreach (var i in plan.Indices)
        {
            float cx = plotLeft + (i + 0.5f) * plan.CellSize;
            boxes.Add(new LabelBox(i, new SKRect(cx - lineHeight / 2, top, cx + lineHeight / 2, top + widths[i])));
        }
        return boxes;
    }

    /// <summary>True when any two boxes overlap (touching edges do not count).</summary>
    public static bool AnyOverlap(IReadOnlyList<LabelBox> boxes)
    {
        var sorted = boxes.OrderBy(b => b.Box.Left).ToArray();
        for (int i = 0; i < sorted.Length; i++)
            for (int j = i + 1; j < sorted.Length && sorted[j].Box.Left < sorted[i].Box.Right; j++)
                if (Intersects(sorted[i].Box, sorted[j].Box)) return true;
        return false;
    }

    public static bool Intersects(SKRect a, SKRect b) =>
        a.Left < b.Right && b.Left < a.Right && a.Top < b.Bottom && b.Top < a.Bottom;
}
