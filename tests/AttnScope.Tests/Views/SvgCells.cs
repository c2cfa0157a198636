using System.Globalization;
using System.Xml.Linq;
using SkiaSharp;

namespace AttnScope.Tests.Views;

/// <summary>Reads the filled rectangles of an SVG document and answers "which colour is painted at this point".</summary>
public sealed class SvgCells
{
    private readonly List<(SKRect Rect, SKColor Fill)> _rects = [];

    public SvgCells(string svg)
    {
        var doc = XDocument.Parse(svg);
        Assert.Equal("svg", doc.Root!.Name.LocalName);
        foreach (var e in doc.Descendants().Where(e => e.Name.LocalName == "rect"))
        {
            float F(string a) => float.Parse(e.Attribute(a)!.Value, CultureInfo.InvariantCulture);
            var fill = e.Attribute("fill")!.Value;
            Assert.Matches("^#[0-9a-f]{6}$", fill);
            _rects.Add((SKRect.Create(F("x"), F("y"), F("width"), F("height")), SKColor.Parse(fill)));
        }
        Assert.DoesNotContain(doc.Descendants(), e => e.Name.LocalName == "image"); // small figures: every cell a rect
    }

    /// <summary>The fill of the last rectangle (in paint order) that contains the point.</summary>
    public SKColor At(float x, float y)
    {
        for (int i = _rects.Count - 1; i >= 0; i--)
        {
            var r = _rects[i].Rect;
            if (x >= r.Left && x < r.Right && y >= r.Top && y < r.Bottom) return _rects[i].Fill;
        }
        throw new Xunit.Sdk.XunitException($"no rectangle at ({x}, {y})");
    }
}
