using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>
/// What every figure layout has around its content: image size and scale, a bold title and note lines under the
/// figure. Layouts derive from it and paint their content, then <see cref="PaintFrame"/>.
/// </summary>
internal abstract class FigureFrame : IFigureLayout
{
    public required int Width { get; init; }
    public required int Height { get; init; }
    public required float Scale { get; init; }
    public required string Title { get; init; }
    public required float TitleFont { get; init; }
    public required SKPoint TitleAnchor { get; init; }
    public required IReadOnlyList<IReadOnlyList<NotePiece>> Notes { get; init; }
    public required float NoteFont { get; init; }
    /// <summary>Baseline of the first note line; further lines follow every <see cref="NoteLineHeight"/>.</summary>
    public required SKPoint NoteAnchor { get; init; }
    public required float NoteLineHeight { get; init; }

    public abstract long CellBlocks { get; }
    public abstract void Paint(IFigureCanvas canvas, ColorMap colorMap, FontSet fonts, FigureStyle style);

    /// <summary>The title (anchored as <paramref name="titleAlign"/> says) and the notes.</summary>
    protected void PaintFrame(IFigureCanvas canvas, FontSet fonts, FigureStyle style, TextAnchor titleAlign)
    {
        canvas.Text(Title, TitleAnchor.X, TitleAnchor.Y, TitleFont, style.Text, titleAlign, bold: true);
        PanelPainter.Notes(canvas, Notes, NoteAnchor, NoteFont, NoteLineHeight, fonts);
    }
}
