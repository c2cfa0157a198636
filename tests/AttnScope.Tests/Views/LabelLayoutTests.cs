using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Views.Static;
using Xunit;

namespace AttnScope.Tests.Views;

public class LabelLayoutTests
{
    private static readonly HeatmapRenderer Renderer = new();

    [Theory]
    [InlineData(9)]
    [InlineData(128)]
    [InlineData(512)]
    public void DrawnLabelsNeverOverlap(int n)
    {
        var layout = Renderer.Layout(SyntheticCaptures.Realistic(n, layers: 1, heads: 1), new HeatmapOptions());
        Assert.False(LabelLayout.AnyOverlap(layout.RowLabels.Select(l => new LabelBox(l.Index, l.Box)).ToList()), "row labels overlap");
        Assert.False(LabelLayout.AnyOverlap(layout.ColumnLabels.Select(l => new LabelBox(l.Index, l.Box)).ToList()), "column labels overlap");
        // labels stay inside the image and off the plot
        foreach (var l in layout.RowLabels.Concat(layout.ColumnLabels))
        {
            Assert.True(l.Box.Left >= 0 && l.Box.Top >= 0 && l.Box.Right <= layout.Width && l.Box.Bottom <= layout.Height, $"label {l.Index} outside");
            Assert.False(LabelLayout.Intersects(l.Box, layout.Plot), $"label {l.Index} on the plot");
        }
        // a label is readable
        Assert.True(layout.RowPlan.FontSize >= FigureStyle.Default.MinLabelFont);
    }

    [Fact]
    public void SmallCountsLabelEveryToken()
    {
        var layout = Renderer.Layout(SyntheticCaptures.Realistic(9), new HeatmapOptions());
        Assert.Equal(9, layout.RowLabels.Count);
        Assert.Equal(9, layout.ColumnLabels.Count);
        Assert.Equal(1, layout.RowPlan.Step);
        Assert.False(layout.RowPlan.FontReduced);
        Assert.Empty(layout.LabelNotes);
    }

    [Fact]
    public void LongSequencesThinLabelsAndSaySo()
    {
        var small = Renderer.Layout(SyntheticCaptures.Realistic(128, layers: 1, heads: 1), new HeatmapOptions());
        var large = Renderer.Layout(SyntheticCaptures.Realistic(512, layers: 1, heads: 1), new HeatmapOptions());
        Assert.Equal(128, small.RowLabels.Count);
        Assert.True(large.RowLabels.Count < 512);
        Assert.True(large.ColumnLabels.Count < 512);
        int step = large.RowPlan.Step;
        Assert.True(step > 1);
        Assert.Equal(Enumerable.Range(0, 512).Where(i => i % step == 0), large.RowLabels.Select(l => l.Index));
        var note = Assert.Single(large.LabelNotes);
        Assert.Contains($"every {AxisLabelPlanOrdinal(step)} token", note);
        Assert.Contains(large.Notes, line => line.Any(p => p.Text == note)); // drawn in the image
    }

    private static string AxisLabelPlanOrdinal(int n) => n switch { 2 => "2nd", 3 => "3rd", _ => $"{n}th" };

    [Theory]
    [InlineData(40f, 12f, 1, false)]   // roomy cells: preferred font, every label
    [InlineData(12f, 11f, 1, true)]   // shrink the font first
    [InlineData(5f, 9f, 2, true)]      // below the readable minimum: every 2nd label
    [InlineData(1f, 9f, 10, true)]
    public void PlanShrinksThenThins(float cell, float font, int step, bool reduced)
    {
        var plan = LabelLayout.Plan(600, cell, 1.0f, 12f, 9f, 1f);
        Assert.Equal(font, plan.FontSize);
        Assert.Equal(step, plan.Step);
        Assert.Equal(reduced, plan.FontReduced);
        // pure boxes: never overlapping, one per drawn index
        var widths = Enumerable.Range(0, 600).Select(i => 10f + i % 50).ToArray();
        var rows = LabelLayout.RowBoxes(plan, widths, plan.FontSize * 1.0f, 200, 30, 4);
        var cols = LabelLayout.ColumnBoxes(plan, widths, plan.FontSize * 1.0f, 200, 30 + 600 * cell, 4);
        Assert.Equal(plan.LabelCount, rows.Count);
        Assert.False(LabelLayout.AnyOverlap(rows));
        Assert.False(LabelLayout.AnyOverlap(cols));
    }

    [Fact]
    public void OverlapDetectorFindsOverlaps()
    {
        var boxes = new List<LabelBox>
        {
            new(0, new SkiaSharp.SKRect(0, 0, 10, 10)),
            new(1, new SkiaSharp.SKRect(10, 0, 20, 10)), // touching only
        };
        Assert.False(LabelLayout.AnyOverlap(boxes));
        boxes.Add(new(2, new SkiaSharp.SKRect(5, 5, 8, 8)));
        Assert.True(LabelLayout.AnyOverlap(boxes));
    }

    [Fact]
    public void TokenTextIsData()
    {
        Assert.Equal("a\\nb", TokenText.Printable("a\nb"));
        Assert.Equal("␣", TokenText.Printable(" "));
        Assert.Equal("∅", TokenText.Printable(""));
        Assert.Equal("x\\u0007", TokenText.Printable("x\a"));
        Assert.Equal("\uFFFD", TokenText.Printable("\uD800"));
        Assert.Equal("##ing", TokenText.Printable("##ing"));
        Assert.Equal("北京", TokenText.Printable("北京"));
    }
}
