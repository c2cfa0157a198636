using System.Text.Json.Nodes;
using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Views.Analyses;
using AttnScope.Views.Static;

namespace AttnScope.Web.Data;

/// <summary>
/// The analyses of a capture as the viewer's Analyses tab reads them. Small results travel in the description
/// (<c>meta.analyses</c>): saliency per token (text as data, with how it joins its word), head statistics and roles
/// with their colours. Matrices travel as sections, like attention:
/// <list type="bullet">
/// <item><c>an/rollout/STACK</c>, <c>an/flow/STACK</c>: float32 row scales [steps·queries], then uint8 [steps, queries, keys]
/// (the attention layer format with steps in place of heads; flow has one step)</item>
/// <item><c>anx/rollout/STACK/STEP</c>, <c>anx/flow/STACK/0</c>: the exact float32 [queries, keys] (for hover values)</item>
/// </list>
/// </summary>
internal static class AnalysisData
{
    public const string Prefix = "an";
    public const string ExactPrefix = "anx";

    /// <summary>The analyses part of the description, or null when the capture holds none the viewer shows.</summary>
    public static JsonObject? Meta(AttentionCapture capture)
    {
        var rollouts = new JsonArray();
        var flows = new JsonArray();
        var roles = new JsonArray();
        foreach (var stack in AttentionStack.Names)
        {
            if (!capture.Stacks.ContainsKey(stack)) continue;
            if (RolloutResult.From(capture, stack) is { } r)
                rollouts.Add(new JsonObject
                {
                    ["stack"] = stack,
                    ["steps"] = r.Steps,
                    ["startLayer"] = r.StartLayer,
                    ["captions"] = new JsonArray(Enumerable.Range(0, r.Steps).Select(i => (JsonNode?)$"after layer {r.StartLayer + i}").ToArray()),
                    ["titles"] = new JsonArray(Enumerable.Range(0, r.Steps).Select(i => (JsonNode?)AnalysisHeatmaps.RolloutTitle(capture, r, i)).ToArray()),
                });
            if (FlowLayersResult.From(capture, stack) is { } fl)
            {
                // Flow from every layer's output (analyze --flow-layers): played over the layers like the rollout.
                var frames = Enumerable.Range(0, fl.Steps).Select(i => new FlowResult(stack, i + 1, fl.Flows, fl.Flows, fl.Rows)).ToList();
                flows.Add(new JsonObject
                {
                    ["stack"] = stack,
                    ["rows"] = RowsJson(fl.Rows),
                    ["steps"] = fl.Steps,
                    ["captions"] = new JsonArray(Enumerable.Range(0, fl.Steps).Select(i => (JsonNode?)$"from layer {i}").ToArray()),
                    ["titles"] = new JsonArray(frames.Select(f => (JsonNode?)AnalysisHeatmaps.FlowTitle(capture, f)).ToArray()),
                });
            }
            else if (FlowResult.From(capture, stack) is { } f)
                flows.Add(new JsonObject { ["stack"] = stack, ["rows"] = RowsJson(f.Rows), ["title"] = AnalysisHeatmaps.FlowTitle(capture, f) });
            if (HeadStatsResult.From(capture, stack) is { } h) roles.Add(Roles(h));
        }
        var saliency = SaliencyResult.From(capture) is { } sr ? Saliency(capture, sr) : null;
        if (rollouts.Count == 0 && flows.Count == 0 && roles.Count == 0 && saliency is null) return null;
        return new JsonObject { ["rollout"] = rollouts, ["flow"] = flows, ["roles"] = roles, ["saliency"] = saliency };
    }

    /// <remarks>Role and statistic names come from the file: the page gets them printable (as the static views draw them).</remarks>
    /// <summary>The output tokens a partial flow was computed from (the page shows just those rows), or null for all.</summary>
    private static JsonArray? RowsJson(IReadOnlyList<int>? rows) =>
        rows is null ? null : new JsonArray(rows.Select(r => (JsonNode?)JsonValue.Create(r)).ToArray());

    private static JsonObject Roles(HeadStatsResult h)
    {
        static string P(string name) => TokenText.Printable(name);
        var all = h.Roles.SelectMany(l => l).ToList();
        var colors = new JsonObject();
        var keys = new JsonObject();
        foreach (var role in RoleColors.Present(h))
        {
            var c = RoleColors.Color(role, all);
            colors[P(role)] = $"#{c.Red:x2}{c.Green:x2}{c.Blue:x2}";
            keys[P(role)] = RoleColors.KeyStatistic(role, h.StatNames) is { } key ? P(key) : null;
        }
        return new JsonObject
        {
            ["stack"] = h.Stack,
            ["layers"] = h.Layers,
            ["heads"] = h.Heads,
            ["statNames"] = new JsonArray(h.StatNames.Select(n => (JsonNode?)P(n)).ToArray()),
            ["stats"] = new JsonArray(h.Stats.Data.Select(v => (JsonNode?)(double)v).ToArray()),
            ["roles"] = new JsonArray(h.Roles.Select(l => (JsonNode?)new JsonArray(l.Select(r => (JsonNode?)P(r)).ToArray())).ToArray()),
            ["order"] = new JsonArray(RoleColors.Present(h).Select(P).Distinct().Select(r => (JsonNode?)r).ToArray()),
            ["colors"] = colors,
            ["keyStats"] = keys,
        };
    }

    private static JsonObject Saliency(AttentionCapture capture, SaliencyResult r)
    {
        var sections = SaliencyText.Sections(capture, r);
        var all = sections.SelectMany(s => s.Pieces).ToList();
        IReadOnlyList<CaptureToken>[] tokens = [capture.Tokens, capture.TargetTokens];
        return new JsonObject
        {
            ["title"] = SaliencyText.Title(capture),
            ["target"] = SaliencyText.Target(r.Info),
            ["scaleMax"] = (double)MathF.Max(SaliencyText.ColourRange(all).Max, 1e-30f),
            ["sections"] = new JsonArray(sections.Select((s, si) => (JsonNode?)new JsonObject
            {
                ["name"] = s.Name,
                ["tokens"] = new JsonArray(s.Pieces.Select(p => (JsonNode?)new JsonObject
                {
                    ["index"] = p.Index,
                    ["text"] = p.Text,
                    ["label"] = TokenText.Printable(tokens[si][p.Index].Text),
                    ["joins"] = p.JoinsPrevious,
                    ["special"] = p.Special,
                    ["value"] = (double)p.Value,
                }).ToArray()),
            }).ToArray()),
        };
    }

    public static IEnumerable<string> SectionNames(AttentionCapture capture, bool includeExact)
    {
        foreach (var stack in AttentionStack.Names)
        {
            if (!capture.Stacks.ContainsKey(stack)) continue;
            if (capture.Analysis(AnalysisNames.Of(stack, AnalysisNames.Rollout)) is { } r)
            {
                yield return $"{Prefix}/rollout/{stack}";
                if (includeExact)
                    for (int i = 0; i < r.Tensor.Shape[0]; i++) yield return $"{ExactPrefix}/rollout/{stack}/{i}";
            }
            if (FlowTensor(capture, stack) is { } f)
            {
                yield return $"{Prefix}/flow/{stack}";
                if (includeExact)
                    for (int i = 0; i < (f.Rank == 3 ? f.Shape[0] : 1); i++) yield return $"{ExactPrefix}/flow/{stack}/{i}";
            }
        }
    }

    /// <summary>The flow the viewer shows: from every layer when the capture has it, else from the top layer.</summary>
    private static FloatTensor? FlowTensor(AttentionCapture capture, string stack) =>
        FlowLayersResult.From(capture, stack)?.Flows ?? FlowResult.From(capture, stack)?.Flow;

    public static bool Handles(string[] parts) => parts.Length >= 3 && parts[0] is Prefix or ExactPrefix;

    /// <summary>The bytes of an analysis section; null when the name names nothing here.</summary>
    public static byte[]? Section(AttentionCapture capture, string[] parts)
    {
        if (parts[1] is not ("rollout" or "flow") || !capture.Stacks.ContainsKey(parts[2])) return null;
        // read through the typed results, which check the shapes against the capture: [steps, Q, K] for the rollout
        // and flow over layers, [Q, K] for flow from the top layer (one step)
        FloatTensor? t = parts[1] == "rollout" ? RolloutResult.From(capture, parts[2])?.Joint : FlowTensor(capture, parts[2]);
        if (t is null) return null;
        int steps = t.Rank == 3 ? t.Shape[0] : 1, q = t.Shape[t.Rank - 2], k = t.Shape[t.Rank - 1];
        if (parts[0] == Prefix && parts.Length == 3) return ViewerData.Quantize(t.Data, steps * q, k);
        if (parts[0] == ExactPrefix && parts.Length == 4
            && int.TryParse(parts[3], System.Globalization.NumberStyles.None, null, out int step) && step < steps)
            return System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Data.AsSpan(step * q * k, q * k)).ToArray();
        return null;
    }
}
