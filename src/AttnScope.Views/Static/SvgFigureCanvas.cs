using System.Globalization;
using System.Text;
using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>
/// Writes figures as SVG: cells as &lt;rect&gt; (neighbouring cells of one colour in a row merged), text as
/// XML-escaped &lt;text&gt;.
/// </summary>
internal sealed class SvgFigureCanvas : IFigureCanvas
{
    private readonly StringBuilder _sb = new();
    private readonly string _fontFamily;
    private SKRect _pending;
    private SKColor _pendingColor;
    private bool _hasPending;

    public SvgFigureCanvas(int width, int height, SKColor background, string fontFamily)
    {
        _fontFamily = fontFamily;
        _sb.Append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
           .Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n")
           .Append($"<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"{Hex(background)}\"/>\n")
           .Append("<g shape-rendering=\"crispEdges\">\n");
    }

    public void FillRect(SKRect rect, SKColor color)
    {
        if (_hasPending && color == _pendingColor && rect.Top == _pending.Top && rect.Bottom == _pending.Bottom
            && Math.Abs(rect.Left - _pending.Right) < 1e-3f)
        {
            _pending.Right = rect.Right;
            return;
        }
        Flush();
        _pending = rect;
        _pendingColor = color;
        _hasPending = true;
    }

    /// <summary>Figures with more cells than this embed each panel's cells as a PNG image instead of rectangles
    /// (text stays text), so that SVG files stay small enough for browsers and editors.</summary>
    public const int MaxCellRects = 65536;

    /// <summary>Cells as &lt;rect&gt; elements (true) or as embedded images; set from the figure's total cell count.</summary>
    public bool CellRects { get; init; } = true;

    public void Cells(SKRect plot, CellImage cells)
    {
        if (CellRects)
        {
            float cw = plot.Width / cells.Width, ch = plot.Height / cells.Height;
            for (int y = 0; y < cells.Height; y++)
                for (int x = 0; x < cells.Width; x++)
                    FillRect(SKRect.Create(plot.Left + x * cw, plot.Top + y * ch, cw, ch), cells[x, y]);
            return;
        }
        Flush();
        using var image = cells.ToImage();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100) ?? throw new InvalidOperationException("PNG encoding failed");
        _sb.Append($"<image x=\"{N(plot.Left)}\" y=\"{N(plot.Top)}\" width=\"{N(plot.Width)}\" height=\"{N(plot.Height)}\" preserveAspectRatio=\"none\" ")
           .Append("image-rendering=\"pixelated\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,")
           .Append(Convert.ToBase64String(png.AsSpan())).Append("\"/>\n");
    }

    private void Flush()
    {
        if (!_hasPending) return;
        _sb.Append($"<rect x=\"{N(_pending.Left)}\" y=\"{N(_pending.Top)}\" width=\"{N(_pending.Width)}\" height=\"{N(_pending.Height)}\" fill=\"{Hex(_pendingColor)}\"/>\n");
        _hasPending = false;
    }

    public void Line(float x0, float y0, float x1, float y1, SKColor color, float width)
    {
        Flush();
        _sb.Append($"<line x1=\"{N(x0)}\" y1=\"{N(y0)}\" x2=\"{N(x1)}\" y2=\"{N(y1)}\" stroke=\"{Hex(color)}\" stroke-width=\"{N(width)}\"/>\n");
    }

    public void Text(string text, float x, float y, float size, SKColor color, TextAnchor anchor = TextAnchor.Start,
        float rotateDegrees = 0, bool bold = false)
    {
        Flush();
        _sb.Append($"<text x=\"{N(x)}\" y=\"{N(y)}\" font-family=\"{Escape(_fontFamily)}, sans-serif\" font-size=\"{N(size)}\" fill=\"{Hex(color)}\"");
        if (anchor != TextAnchor.Start) _sb.Append(anchor == TextAnchor.Middle ? " text-anchor=\"middle\"" : " text-anchor=\"end\"");
        if (bold) _sb.Append(" font-weight=\"bold\"");
        if (rotateDegrees != 0) _sb.Append($" transform=\"rotate({N(rotateDegrees)} {N(x)} {N(y)})\"");
        _sb.Append(" xml:space=\"preserve\">").Append(Escape(text)).Append("</text>\n");
    }

    public string Finish()
    {
        Flush();
        _sb.Append("</g>\n</svg>\n");
        return _sb.ToString();
    }

    private static string N(float v) => v.ToString("0.##", CultureInfo.InvariantCulture);
    private static string Hex(SKColor c) => $"#{c.Red:x2}{c.Green:x2}{c.Blue:x2}";

    /// <summary>XML-escapes text and drops characters XML cannot hold.</summary>
    public static string Escape(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&apos;"); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { sb.Append(c).Append(s[++i]); }
                    else if (char.IsSurrogate(c) || c == '\uFFFE' || c == '\uFFFF' || (c < 0x20 && c != '\t' && c != '\n' && c != '\r')) sb.Append('\uFFFD');
                    else sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }
}
