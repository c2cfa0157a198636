using System.Text.Json.Nodes;
using AttnScope.Capture;

namespace AttnScope.Analyses.Results;

/// <summary>
/// Per-head statistics of one stack: <see cref="Stats"/> is [layers, heads, statistics] with the statistic names in
/// <see cref="StatNames"/>; <see cref="Roles"/>[layer][head] is the role given by the documented thresholds
/// (docs/analyses.md), e.g. <c>previous-token</c>, <c>sink</c>, <c>broad</c>, or <c>mixed</c> when none fits.
/// </summary>
internal sealed record HeadStatsResult(string Stack, IReadOnlyList<string> StatNames, FloatTensor Stats, IReadOnlyList<IReadOnlyList<string>> Roles)
{
    public int Layers => Stats.Shape[0];
    public int Heads => Stats.Shape[1];

    public float Stat(int layer, int head, string name)
    {
        int s = IndexOf(name);
        return Stats.Data[(layer * Heads + head) * StatNames.Count + s];
    }

    public int IndexOf(string name)
    {
        for (int i = 0; i < StatNames.Count; i++) if (StatNames[i] == name) return i;
        throw new AttnScopeException($"head statistics have no '{name}' (they have: {string.Join(", ", StatNames)})");
    }

    public CaptureAnalysis ToAnalysis()
    {
        var roles = new JsonArray();
        foreach (var layer in Roles)
        {
            var row = new JsonArray();
            foreach (var r in layer) row.Add(r);
            roles.Add(row);
        }
        var names = new JsonArray();
        foreach (var n in StatNames) names.Add(n);
        return new CaptureAnalysis(AnalysisNames.Of(Stack, AnalysisNames.HeadStats), Stats,
            new JsonObject { ["stack"] = Stack, ["stats"] = names, ["roles"] = roles });
    }

    public static HeadStatsResult? From(AttentionCapture capture, string stack)
    {
        if (capture.Analysis(AnalysisNames.Of(stack, AnalysisNames.HeadStats)) is not { } a) return null;
        ResultChecks.Rank(a, 3);
        if (capture.Stacks.TryGetValue(stack, out var s) && (s.Layers != a.Tensor.Shape[0] || s.Heads != a.Tensor.Shape[1]))
            throw new AttnScopeException($"analysis '{a.Name}' has shape {a.Tensor.ShapeText}, but {stack} has {s.Layers} layers × {s.Heads} heads");
        var names = ResultChecks.Strings(a.Info["stats"], a.Name, "stats");
        if (names.Count != a.Tensor.Shape[2])
            throw new AttnScopeException($"analysis '{a.Name}' names {names.Count} statistics but its tensor has {a.Tensor.Shape[2]}");
        var rolesNode = a.Info["roles"] as JsonArray ?? throw new AttnScopeException($"analysis '{a.Name}' has no 'roles' list");
        if (rolesNode.Count != a.Tensor.Shape[0]) throw new AttnScopeException($"analysis '{a.Name}' has roles for {rolesNode.Count} layers, expected {a.Tensor.Shape[0]}");
        var roles = new List<IReadOnlyList<string>>();
        foreach (var layer in rolesNode)
        {
            var r = ResultChecks.Strings(layer, a.Name, "roles");
            if (r.Count != a.Tensor.Shape[1]) throw new AttnScopeException($"analysis '{a.Name}' has roles for {r.Count} heads, expected {a.Tensor.Shape[1]}");
            roles.Add(r);
        }
        return new HeadStatsResult(stack, names, a.Tensor, roles);
    }
}
