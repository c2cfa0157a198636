using System.Globalization;
using AttnScope.Capture;

namespace AttnScope.Views.Static;

/// <summary>How heads are reduced to one matrix: a single head, or the mean / max over all heads of a layer.</summary>
internal enum HeadAggregation { Single, Mean, Max }

/// <summary>Which head(s) a heatmap shows: one head index, or an aggregation over all heads.</summary>
internal readonly record struct HeadSelection(HeadAggregation Aggregation, int Head)
{
    public static HeadSelection Single(int head) => new(HeadAggregation.Single, head);
    public static readonly HeadSelection Mean = new(HeadAggregation.Mean, -1);
    public static readonly HeadSelection Max = new(HeadAggregation.Max, -1);

    /// <summary>Parses a head index ("3") or "mean" / "max" (as given on a command line).</summary>
    public static HeadSelection Parse(string text)
    {
        var t = text.Trim();
        if (t.Equals("mean", StringComparison.OrdinalIgnoreCase)) return Mean;
        if (t.Equals("max", StringComparison.OrdinalIgnoreCase)) return Max;
        if (int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out var h) && h >= 0) return Single(h);
        throw new AttnScopeException($"head '{text}' is not valid: expected a head index (0, 1, ...) or 'mean' or 'max'");
    }

    /// <summary>Text used in titles: "head 3", "mean of heads", "max of heads".</summary>
    public override string ToString() => Aggregation switch
    {
        HeadAggregation.Mean => "mean of heads",
        HeadAggregation.Max => "max of heads",
        _ => $"head {Head}",
    };
}
