using AttnScope.Capture;

namespace AttnScope.Analyses.Results;

/// <summary>How the heads of a layer are combined into one matrix before rollout.</summary>
public enum HeadFusion
{
    /// <summary>The mean of the heads, entry by entry (the usual choice).</summary>
    Mean,
    /// <summary>The largest of the heads' entries.</summary>
    Max,
    /// <summary>The smallest of the heads' entries.</summary>
    Min,
}

internal static class HeadFusionNames
{
    public static string Name(this HeadFusion f) => f switch { HeadFusion.Max => "max", HeadFusion.Min => "min", _ => "mean" };

    public static HeadFusion Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "mean" => HeadFusion.Mean,
        "max" => HeadFusion.Max,
        "min" => HeadFusion.Min,
        _ => throw new AttnScopeException($"unknown head fusion '{text}' (expected mean, max or min)"),
    };
}
