using SkiaSharp;

namespace AttnScope.Views.Animation;

/// <summary>
/// One frame of an animation: a rendered image, the caption drawn above it (e.g. "layer 3 of 12", "step 7",
/// "checkpoint 2000") and how long it shows. The frame does not own the bitmap; dispose it after writing.
/// </summary>
/// <param name="Image">The rendered figure (any colour type; frames of different sizes are centred on the largest).</param>
/// <param name="Caption">Frame label drawn in a strip above the image; null or empty draws no strip text.</param>
/// <param name="DelayMs">How long the frame shows; null uses <see cref="AnimationOptions.DelayMs"/>.</param>
internal sealed record AnimationFrame(SKBitmap Image, string? Caption = null, int? DelayMs = null)
{
    /// <summary>A frame from encoded image bytes (PNG, JPEG, WebP), e.g. the output of a figure renderer.</summary>
    public static AnimationFrame FromEncoded(byte[] image, string? caption = null, int? delayMs = null)
    {
        using var data = SKData.CreateCopy(image);
        using var codec = SKCodec.Create(data) ?? throw new ArgumentException("the frame image could not be decoded", nameof(image));
        return new(SKBitmap.Decode(codec) ?? throw new ArgumentException("the frame image could not be decoded", nameof(image)),
            caption, delayMs);
    }
}

/// <summary>How an animation plays and how its frame captions look.</summary>
internal sealed record AnimationOptions
{
    /// <summary>Default time each frame shows, in milliseconds (GIF stores hundredths of a second).</summary>
    public int DelayMs { get; init; } = 900;
    /// <summary>Extra time the last frame shows before the animation starts again.</summary>
    public int LastFrameExtraMs { get; init; } = 1200;
    /// <summary>Times to play; 0 loops forever.</summary>
    public int Loops { get; init; }
    /// <summary>Caption font size in logical pixels (multiplied by <see cref="Scale"/>).</summary>
    public float CaptionFont { get; init; } = 15;
    /// <summary>DPI scale of the caption strip; use the scale the frames were rendered at.</summary>
    public float Scale { get; init; } = 1f;
    public SKColor Background { get; init; } = SKColors.White;
    public SKColor CaptionColor { get; init; } = new(0x22, 0x22, 0x22);
}
