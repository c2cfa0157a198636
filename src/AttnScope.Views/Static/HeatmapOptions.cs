using AttnScope.Capture;

namespace AttnScope.Views.Static;

/// <summary>What a single-head heatmap shows and how big it is drawn.</summary>
public sealed record HeatmapOptions
{
    /// <summary>Attention stack: <c>encoder</c> (default), <c>decoder</c> or <c>cross</c>.</summary>
    public string Stack { get; init; } = AttentionStack.Encoder;
    public int Layer { get; init; }
    /// <summary>One head, or mean / max over the heads of <see cref="Layer"/>.</summary>
    public HeadSelection Heads { get; init; } = HeadSelection.Single(0);
    /// <summary>Colour map name: viridis (default), magma, cividis, greys.</summary>
    public string ColorMap { get; init; } = "viridis";
    /// <summary>Cell edge in logical pixels (multiplied by <see cref="Scale"/>); null picks it from the token count.</summary>
    public int? CellSize { get; init; }
    /// <summary>Automatic cell sizes shrink so that neither image side exceeds this many device pixels.</summary>
    public int MaxImageSize { get; init; } = 4000;
    /// <summary>DPI scale: 1 = 96 dpi screen pixels, 2 = retina / print. Multiplies every size.</summary>
    public float Scale { get; init; } = 1f;
    /// <summary>Replaces the automatic title "model · stack · layer L · head H".</summary>
    public string? Title { get; init; }
    /// <summary>Top of the colour scale; null uses the largest value shown (a fixed 1 makes heads comparable).</summary>
    public float? ColorMax { get; init; }

    internal void Validate()
    {
        if (!(Scale >= 0.25f && Scale <= 8f)) throw new AttnScopeException($"scale {Scale} is out of range (0.25..8)");
        if (CellSize is { } c && (c < 1 || c > 400)) throw new AttnScopeException($"cell size {c} is out of range (1..400)");
        if (MaxImageSize < 200) throw new AttnScopeException($"maximum image size {MaxImageSize} is too small (at least 200)");
        if (ColorMax is { } m && !(m > 0 && float.IsFinite(m))) throw new AttnScopeException($"colour scale maximum {m} must be a positive number");
        Static.ColorMap.Get(ColorMap);
    }
}
