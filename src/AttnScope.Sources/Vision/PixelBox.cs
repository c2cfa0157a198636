namespace AttnScope.Sources.Vision;

/// <summary>An object's bounding box in pixels: [Left, Right) × [Top, Bottom).</summary>
internal readonly record struct PixelBox(int Left, int Top, int Right, int Bottom)
{
    /// <summary>Whether the box shares at least one pixel with [left, right) × [top, bottom).</summary>
    public bool Overlaps(int left, int top, int right, int bottom) => left < Right && Left < right && top < Bottom && Top < bottom;
}
