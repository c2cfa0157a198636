using AttnScope.Capture;

namespace AttnScope.Views.Static;

/// <summary>How a grid view scales colours: one range for all panels, or each panel up to its own maximum.</summary>
internal enum ColorRange { Shared, PerPanel }

/// <summary>What a heatmap (or a grid of heatmaps) shows and how big it is drawn.</summary>
internal sealed record HeatmapOptions
{
    /// <summary>Attention stack: <c>encoder</c> (default), <c>decoder</c> or <c>cross</c>.</summary>
    public string Stack { get; init; } = AttentionStack.Encoder;
    public int Layer { get; init; }
    /// <summary>One head, or mean / max over the heads of <see cref="Layer"/>.</summary>
    public HeadSelection Heads { get; init; } = HeadSelection.Single(0);
    /// <summary>Colour map name: viridis (default), magma, cividis, greys, rdbu (diverging, for signed values).</summary>
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

    /// <summary>The values drawn: <c>attention</c> (default) or <c>scores</c> (pre-softmax, signed; captured with --qkv).</summary>
    public string Values { get; init; } = ValueKind.Attention;
    /// <summary>Query → key sentence filter for sentence pairs.</summary>
    public PairFilter Pairs { get; init; } = PairFilter.All;
    /// <summary>Drops special tokens' rows and columns (values are not renormalised; the title says so).</summary>
    public bool HideSpecial { get; init; }
    /// <summary>Only token positions in this window, on both axes.</summary>
    public TokenWindow? Window { get; init; }
    /// <summary>Logarithmic colour scale over <see cref="ColorScale.LogDecades"/> decades below the top.</summary>
    public bool LogScale { get; init; }
    /// <summary>Grid views: one colour range for all panels (default) or each panel to its own maximum.</summary>
    public ColorRange Range { get; init; } = ColorRange.Shared;
    /// <summary>
    /// A step of decoding or generation: only query rows (token positions) before this are shown; the later rows are
    /// blank and unlabelled, not computed yet. The figure keeps its size and colour scale. Null shows every row.
    /// </summary>
    public int? RevealRows { get; init; }
    /// <summary>The same for key columns (a generation step: keys after it are tokens not generated yet).</summary>
    public int? RevealColumns { get; init; }

    internal void Validate()
    {
        if (!(Scale >= 0.25f && Scale <= 8f)) throw new AttnScopeException($"scale {Scale} is out of range (0.25..8)");
        if (CellSize is { } c && (c < 1 || c > 400)) throw new AttnScopeException($"cell size {c} is out of range (1..400)");
        if (MaxImageSize < 200) throw new AttnScopeException($"maximum image size {MaxImageSize} is too small (at least 200)");
        if (ColorMax is { } m && !(m > 0 && float.IsFinite(m))) throw new AttnScopeException($"colour scale maximum {m} must be a positive number");
        if (Values is not (ValueKind.Attention or ValueKind.Scores))
            throw new AttnScopeException($"unknown values '{Values}' (expected {ValueKind.Attention} or {ValueKind.Scores})");
        Static.ColorMap.Get(ColorMap);
        if (RevealRows is < 0 || RevealColumns is < 0) throw new AttnScopeException("a step reveals a negative number of rows");
    }
}

/// <summary>Names of the value tensors a view can draw.</summary>
internal static class ValueKind
{
    public const string Attention = "attention";
    public const string Scores = "scores";
    /// <summary>How titles name scores.</summary>
    public const string ScoresTitle = "pre-softmax scores";
}
