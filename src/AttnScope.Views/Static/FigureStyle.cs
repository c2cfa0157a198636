using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>Sizes (logical pixels, multiplied by the DPI scale) and colours shared by the static figures.</summary>
internal sealed record FigureStyle
{
    public static FigureStyle Default { get; } = new();

    public SKColor Background { get; init; } = SKColors.White;
    public SKColor Text { get; init; } = new(0x22, 0x22, 0x22);
    /// <summary>Labels of special tokens ([CLS], [SEP], padding).</summary>
    public SKColor SpecialText { get; init; } = new(0x99, 0x99, 0x99);
    /// <summary>Labels of sentence-B tokens of a pair.</summary>
    public SKColor SegmentBText { get; init; } = new(0x1F, 0x5F, 0xB4);
    public SKColor NoteText { get; init; } = new(0x55, 0x55, 0x55);
    public SKColor Frame { get; init; } = new(0x44, 0x44, 0x44);

    public float TitleFont { get; init; } = 16;
    public float AxisTitleFont { get; init; } = 13;
    public float LabelFont { get; init; } = 12;
    /// <summary>Readable minimum: below it labels are thinned instead of shrunk.</summary>
    public float MinLabelFont { get; init; } = 9;
    public float TickFont { get; init; } = 11;
    public float NoteFont { get; init; } = 11;

    public float Padding { get; init; } = 16;
    /// <summary>Gap between a label and the plot, and around axis titles.</summary>
    public float LabelGap { get; init; } = 5;
    /// <summary>Free space between neighbouring labels.</summary>
    public float LabelSpacing { get; init; } = 1;
    /// <summary>Longer labels are cut with "…".</summary>
    public float MaxLabelWidth { get; init; } = 150;
    public float TitleGap { get; init; } = 12;
    public float ColorBarGap { get; init; } = 20;
    public float ColorBarWidth { get; init; } = 16;
    public float ColorBarMinHeight { get; init; } = 140;
    public float TickLength { get; init; } = 4;
    /// <summary>Largest automatic cell edge.</summary>
    public float MaxAutoCell { get; init; } = 36;
    /// <summary>Automatic cells aim at a plot of about this many pixels on its longer side.</summary>
    public float AutoPlotSize { get; init; } = 2048;
    /// <summary>Grid views (heads, layers): the panels of one grid row aim at about this many pixels together.</summary>
    public float AutoGridPlot { get; init; } = 1600;
    /// <summary>Model view: the longer side of the thumbnail grid aims at about this many pixels.</summary>
    public float AutoModelPlot { get; init; } = 1700;
    public float PanelTitleFont { get; init; } = 12;
}
