using AttnScope.Tests.Support;
using AttnScope.Views.Static;

namespace AttnScope.Tests.Views;

/// <summary>Token labels of the grid views: never overlapping each other or any panel, and thinned with a note when dense.</summary>
public class GridLabelTests
{
    private static readonly ViewRenderer Renderer = new();

    [Theory]
    [InlineData(9, ViewKind.Heads)]
    [InlineData(128, ViewKind.Heads)]
    [InlineData(512, ViewKind.Heads)]
    [InlineData(9, ViewKind.Layers)]
    [InlineData(128, ViewKind.Layers)]
    [InlineData(512, ViewKind.Layers)]
    internal void LabelsNeverOverlapLabelsOrPanels(int n, ViewKind view)
    {
        var cap = SyntheticCaptures.Realistic(n, layers: 6, heads: 12, pair: n == 128);
        var g = (GridLayout)Renderer.Layout(cap, view, new HeatmapOptions());
        var labels = g.AllLabels.ToList();
        Assert.NotEmpty(labels);
        Assert.False(LabelLayout.AnyOverlap(labels.Select(l => new LabelBox(l.Index, l.Box)).ToList()), "labels overlap");
        foreach (var l in labels)
        {
            Assert.True(l.Box.Left >= 0 && l.Box.Top >= 0 && l.Box.Right <= g.Width && l.Box.Bottom <= g.Height, $"label {l.Index} outside the image");
            foreach (var p in g.Panels) Assert.False(LabelLayout.Intersects(l.Box, p.Plot), $"label {l.Index} on a panel");
        }
        Assert.True(g.RowPlan!.FontSize >= FigureStyle.Default.MinLabelFont);
        // every grid row has row labels, every grid column has column labels
        Assert.Equal(g.GridRows, g.Panels.Count(p => p.RowLabels.Count > 0));
        Assert.Equal(g.GridColumns, g.Panels.Count(p => p.ColumnLabels.Count > 0));
        if (n == 9) Assert.Equal(9, g.Panels[0].RowLabels.Count);
        if (n >= 128)
        {
            Assert.True(g.RowPlan.Step > 1 || g.RowPlan.FontReduced);
            Assert.Contains(g.Notes, line => line.Any(p => p.Text.StartsWith("labels: ")));
        }
        Assert.True(g.Width <= 4000 && g.Height <= 4000, $"{g.Width} × {g.Height}");
    }
}
