using AttnScope.Capture;
using AttnScope.Views.Analyses;
using AttnScope.Views.Static;

namespace AttnScope.Tests.Views;

/// <summary>The layers × heads score grid: cells coloured on a fixed 0–1 scale, values printed, sizes checked.</summary>
public class HeadScoreGridTests
{
    [Fact]
    public void CellsTakeTheColourOfTheirScoreOnAFixedScale()
    {
        float[][] values = [[0f, 1f, 0.5f], [0.25f, 0.75f, 0f]];
        var layout = HeadScoreGridLayout.Compute([new HeadScorePanel("induction score", values)], "title", ["a note"], FontSet.Default);
        var renderer = new ViewRenderer();
        using var bitmap = renderer.RenderBitmap(layout, "viridis");
        var map = ColorMap.Get("viridis");
        Assert.Equal(6, layout.Cells.Count);
        foreach (var c in layout.Cells)
        {
            Assert.Equal(values[c.Layer][c.Head].ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), c.Text);
            // a point inside the cell, away from its centred number
            var px = bitmap.GetPixel((int)(c.Rect.Left + 2), (int)(c.Rect.Top + 2));
            var want = map.Map(values[c.Layer][c.Head]);
            Assert.True(Math.Abs(px.Red - want.Red) <= 1 && Math.Abs(px.Green - want.Green) <= 1 && Math.Abs(px.Blue - want.Blue) <= 1,
                $"cell L{c.Layer}H{c.Head}: {px} vs {want}");
        }
        // layer rows top to bottom, heads left to right
        var l0h0 = layout.Cells.Single(c => c.Layer == 0 && c.Head == 0).Rect;
        var l1h2 = layout.Cells.Single(c => c.Layer == 1 && c.Head == 2).Rect;
        Assert.True(l1h2.Top > l0h0.Bottom && l1h2.Left > l0h0.Right);
    }

    [Fact]
    public void PanelsMustShareTheirShape()
    {
        Assert.Throws<AttnScopeException>(() => HeadScoreGridLayout.Compute(
            [new HeadScorePanel("a", [[0f, 1f]]), new HeadScorePanel("b", [[0f]])], "t", [], FontSet.Default));
        Assert.Throws<AttnScopeException>(() => HeadScoreGridLayout.Compute([], "t", [], FontSet.Default));
    }
}
