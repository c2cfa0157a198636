using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>Draws figures on a Skia canvas: cells without antialiasing, text with per-character font fallback.</summary>
internal sealed class SkiaFigureCanvas : IFigureCanvas, IDisposable
{
    private readonly SKCanvas _canvas;
    private readonly FontSet _fonts;
    private readonly SKPaint _fill = new() { IsAntialias = false, Style = SKPaintStyle.Fill };
    private readonly SKPaint _stroke = new() { IsAntialias = true, Style = SKPaintStyle.Stroke };
    private readonly SKPaint _text = new() { IsAntialias = true, Style = SKPaintStyle.Fill };

    public SkiaFigureCanvas(SKCanvas canvas, FontSet fonts)
    {
        _canvas = canvas;
        _fonts = fonts;
    }

    public void FillRect(SKRect rect, SKColor color)
    {
        _fill.Color = color;
        _canvas.DrawRect(rect, _fill);
    }

    public void Cells(SKRect plot, CellImage cells)
    {
        using var image = cells.ToImage();
        _canvas.DrawImage(image, plot, new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None), _fill);
    }

    public void Line(float x0, float y0, float x1, float y1, SKColor color, float width)
    {
        _stroke.Color = color;
        _stroke.StrokeWidth = width;
        _canvas.DrawLine(x0, y0, x1, y1, _stroke);
    }

    public void Text(string text, float x, float y, float size, SKColor color, TextAnchor anchor = TextAnchor.Start,
        float rotateDegrees = 0, bool bold = false)
    {
        var runs = _fonts.Runs(text, bold);
        var fonts = runs.Select(r => FontSet.CreateFont(r.Typeface, size)).ToArray();
        try
        {
            float width = 0;
            for (int i = 0; i < runs.Count; i++) width += fonts[i].MeasureText(runs[i].Text);
            float pos = anchor switch { TextAnchor.Middle => -width / 2, TextAnchor.End => -width, _ => 0 };
            _text.Color = color;
            _canvas.Save();
            _canvas.Translate(x, y);
            if (rotateDegrees != 0) _canvas.RotateDegrees(rotateDegrees);
            for (int i = 0; i < runs.Count; i++)
            {
                _canvas.DrawText(runs[i].Text, pos, 0, SKTextAlign.Left, fonts[i], _text);
                pos += fonts[i].MeasureText(runs[i].Text);
            }
            _canvas.Restore();
        }
        finally
        {
            foreach (var f in fonts) f.Dispose();
        }
    }

    public void Dispose()
    {
        _fill.Dispose();
        _stroke.Dispose();
        _text.Dispose();
    }
}
