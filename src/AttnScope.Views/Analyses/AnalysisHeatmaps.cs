using System.Globalization;
using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Views.Static;

namespace AttnScope.Views.Analyses;

/// <summary>
/// Rollout, flow and norm-based attention as heatmaps: each result becomes a <see cref="HeatmapMatrix"/> over the
/// stack's tokens and is laid out by the same <see cref="HeatmapLayout"/> / <see cref="GridLayout"/> as attention
/// (labels, colour bar, token selection), with a title that says how it was computed.
/// </summary>
internal static class AnalysisHeatmaps
{
    /// <summary>The rollout step shown for a layer: step i is the joint attention after layer StartLayer + i; null is the last.</summary>
    public static int RolloutStep(RolloutResult r, int? layer)
    {
        if (layer is null) return r.Steps - 1;
        int step = layer.Value - r.StartLayer;
        if (step < 0 || step >= r.Steps)
            throw new AttnScopeException($"the rollout covers layers {r.StartLayer}–{r.StartLayer + r.Steps - 1}; layer {layer} is not among them");
        return step;
    }

    public static string RolloutTitle(AttentionCapture capture, RolloutResult r, int step)
    {
        int last = r.StartLayer + step;
        var parts = new List<string>();
        if (!string.IsNullOrWhiteSpace(capture.Metadata.ModelId)) parts.Add(capture.Metadata.ModelId);
        parts.Add(r.Stack);
        parts.Add($"rollout after layer {last} (layers {r.StartLayer}–{last})");
        parts.Add($"{r.Fusion.Name()} of heads");
        if (r.DiscardRatio > 0) parts.Add($"discard {r.DiscardRatio.ToString("0.##", CultureInfo.InvariantCulture)}");
        parts.Add("residual (A+I)/2");
        return string.Join(" · ", parts);
    }

    public static string FlowTitle(AttentionCapture capture, FlowResult f)
    {
        var parts = new List<string>();
        if (!string.IsNullOrWhiteSpace(capture.Metadata.ModelId)) parts.Add(capture.Metadata.ModelId);
        parts.Add(f.Stack);
        parts.Add(f.OutputLayer > 0 ? $"exact attention flow from layer {f.OutputLayer - 1} (layers 0–{f.OutputLayer - 1})" : "exact attention flow");
        parts.Add("mean of heads");
        parts.Add("residual (A+I)/2");
        return string.Join(" · ", parts);
    }

    /// <summary>The matrix of one rollout step over the stack's tokens, with the options' token selection.</summary>
    public static HeatmapMatrix RolloutMatrix(AttentionCapture capture, RolloutResult r, int step, HeatmapOptions o)
    {
        var (q, k) = capture.AxisTokens(r.Stack);
        var t = new FloatTensor([r.Steps, 1, r.Joint.Shape[1], r.Joint.Shape[2]], r.Joint.Data);
        return HeatmapMatrix.FromTensor(t, q, k, o with { Stack = r.Stack, Layer = step, Heads = HeadSelection.Single(0) });
    }

    public static HeatmapLayout Rollout(AttentionCapture capture, RolloutResult r, int step, HeatmapOptions o, FontSet fonts, FigureStyle style)
    {
        var m = RolloutMatrix(capture, r, step, o);
        return HeatmapLayout.Compute(m, o with { Title = o.Title ?? WithSelection(RolloutTitle(capture, r, step), m) }, capture.Metadata.ModelId, fonts, style);
    }

    public static HeatmapLayout Flow(AttentionCapture capture, FlowResult f, HeatmapOptions o, FontSet fonts, FigureStyle style)
    {
        var (q, k) = capture.AxisTokens(f.Stack);
        var t = new FloatTensor([1, 1, f.Flow.Shape[0], f.Flow.Shape[1]], f.Flow.Data);
        if (f.Rows is { } rows)
        {
            // Flow computed from some output tokens only (--flow-rows): draw just those rows.
            int keys = f.Flow.Shape[1];
            var data = new float[rows.Count * keys];
            for (int r = 0; r < rows.Count; r++) f.Flow.Data.AsSpan(rows[r] * keys, keys).CopyTo(data.AsSpan(r * keys));
            t = new FloatTensor([1, 1, rows.Count, keys], data);
            q = [.. rows.Select(i => q[i])];
        }
        var m = HeatmapMatrix.FromTensor(t, q, k, o with { Stack = f.Stack, Layer = 0, Heads = HeadSelection.Single(0) });
        return HeatmapLayout.Compute(m, o with { Title = o.Title ?? WithSelection(FlowTitle(capture, f), m) }, capture.Metadata.ModelId, fonts, style);
    }

    private static string NormWhat(NormAttentionResult n) =>
        n.Vectors == "value_output" ? "norm-based attention ‖α f(x)‖ (value through the output projection)" : "norm-based attention ‖α v‖";

    /// <summary>One head (or the mean / max of the heads) of one layer of norm-based attention.</summary>
    public static HeatmapLayout Norm(AttentionCapture capture, NormAttentionResult n, HeatmapOptions o, FontSet fonts, FigureStyle style)
    {
        var (q, k) = capture.AxisTokens(n.Stack);
        var m = HeatmapMatrix.FromTensor(n.Norms, q, k, o with { Stack = n.Stack });
        var parts = new List<string>();
        if (!string.IsNullOrWhiteSpace(capture.Metadata.ModelId)) parts.Add(capture.Metadata.ModelId);
        parts.AddRange([n.Stack, $"layer {o.Layer}", o.Heads.ToString(), NormWhat(n)]);
        return HeatmapLayout.Compute(m, o with { Title = o.Title ?? WithSelection(string.Join(" · ", parts), m) }, capture.Metadata.ModelId, fonts, style);
    }

    /// <summary>All heads of one layer of norm-based attention, one colour scale (or one per head).</summary>
    public static GridLayout NormHeads(AttentionCapture capture, NormAttentionResult n, HeatmapOptions o, FontSet fonts, FigureStyle style)
    {
        var (q, k) = capture.AxisTokens(n.Stack);
        int heads = n.Norms.Shape[1];
        var sel = TokenSelection.For(q, k, o);
        var items = new List<(HeatmapMatrix, string?)>(heads);
        for (int h = 0; h < heads; h++)
            items.Add((HeatmapMatrix.FromTensor(n.Norms, q, k, o with { Stack = n.Stack, Heads = HeadSelection.Single(h) }, sel), $"head {h}"));
        var parts = new List<string>();
        if (!string.IsNullOrWhiteSpace(capture.Metadata.ModelId)) parts.Add(capture.Metadata.ModelId);
        parts.AddRange([n.Stack, $"layer {o.Layer} · all {heads} heads", NormWhat(n)]);
        parts.AddRange(sel.Description);
        var (cols, rows) = GridLayout.Shape(heads);
        return GridLayout.FromPanels(ViewKind.Heads, items, o with { Stack = n.Stack }, TokenText.Printable(o.Title ?? string.Join(" · ", parts)),
            cols, rows, fonts, style);
    }

    private static string WithSelection(string title, HeatmapMatrix m) =>
        m.SelectionNotes.Count == 0 ? title : title + " · " + string.Join(" · ", m.SelectionNotes);
}
