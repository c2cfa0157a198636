using AttnScope.Capture;

namespace AttnScope.Views.Static;

/// <summary>
/// The queries × keys matrix one heatmap shows, with its axis tokens: one head of one layer, or the mean / max
/// over the heads of a layer.
/// </summary>
public sealed class HeatmapMatrix
{
    public string Stack { get; }
    public int Layer { get; }
    public HeadSelection Heads { get; }
    public int Rows { get; }
    public int Cols { get; }
    /// <summary>Row-major values, Rows × Cols.</summary>
    public float[] Values { get; }
    public IReadOnlyList<CaptureToken> RowTokens { get; }
    public IReadOnlyList<CaptureToken> ColumnTokens { get; }
    /// <summary>Largest value in the matrix (0 when empty).</summary>
    public float MaxValue { get; }

    public HeatmapMatrix(string stack, int layer, HeadSelection heads, float[] values,
        IReadOnlyList<CaptureToken> rowTokens, IReadOnlyList<CaptureToken> columnTokens)
    {
        if (values.Length != rowTokens.Count * columnTokens.Count)
            throw new ArgumentException($"{values.Length} values for {rowTokens.Count} × {columnTokens.Count} tokens");
        Stack = stack; Layer = layer; Heads = heads; Values = values;
        RowTokens = rowTokens; ColumnTokens = columnTokens;
        Rows = rowTokens.Count; Cols = columnTokens.Count;
        float max = 0;
        foreach (var v in values) if (v > max) max = v;
        MaxValue = max;
    }

    public float this[int row, int col] => Values[row * Cols + col];

    /// <summary>Selects a layer and head (or aggregates heads) of a stack; out-of-range indices are user errors.</summary>
    public static HeatmapMatrix From(AttentionCapture capture, string stack, int layer, HeadSelection heads)
    {
        var s = capture.Stack(stack);
        var (q, k) = capture.AxisTokens(stack);
        if ((uint)layer >= (uint)s.Layers)
            throw new AttnScopeException($"layer {layer} is out of range: {stack} has {s.Layers} layers (0..{s.Layers - 1})");
        if (q.Count == 0 || k.Count == 0)
            throw new AttnScopeException($"the {stack} stack has no tokens to draw");
        var values = new float[s.Queries * s.Keys];
        switch (heads.Aggregation)
        {
            case HeadAggregation.Single:
                s.Head(layer, heads.Head).CopyTo(values); // Head() checks the index and names the valid range
                break;
            case HeadAggregation.Mean:
                for (int h = 0; h < s.Heads; h++)
                {
                    var src = s.Head(layer, h);
                    for (int i = 0; i < values.Length; i++) values[i] += src[i];
                }
                for (int i = 0; i < values.Length; i++) values[i] /= s.Heads;
                break;
            case HeadAggregation.Max:
                s.Head(layer, 0).CopyTo(values);
                for (int h = 1; h < s.Heads; h++)
                {
                    var src = s.Head(layer, h);
                    for (int i = 0; i < values.Length; i++) values[i] = Math.Max(values[i], src[i]);
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(heads));
        }
        return new HeatmapMatrix(stack, layer, heads, values, q, k);
    }
}
