using System.Text.Json;
using System.Text.Json.Nodes;
using AttnScope.Capture;

namespace AttnScope.Analyses.Results;

/// <summary>Checks applied when an analysis is read back from a capture, with messages that name the analysis.</summary>
internal static class ResultChecks
{
    public static void Rank(CaptureAnalysis a, int rank)
    {
        if (a.Tensor.Rank != rank)
            throw new AttnScopeException($"analysis '{a.Name}' has shape {a.Tensor.ShapeText}, expected {rank} dimensions");
    }

    public static string String(CaptureAnalysis a, string key, string fallback)
    {
        if (a.Info[key] is not { } node) return fallback;
        return node is JsonValue v && v.TryGetValue(out string? s) ? s
            : throw new AttnScopeException($"analysis '{a.Name}': info '{key}' is not a string");
    }

    public static double Number(CaptureAnalysis a, string key, double fallback)
    {
        if (a.Info[key] is not { } node) return fallback;
        // Values read from a file are JSON numbers; values set in memory are the CLR number they were set from.
        if (node is JsonValue v && node.GetValueKind() == JsonValueKind.Number)
        {
            double? d = v.TryGetValue(out double dd) ? dd : v.TryGetValue(out float f) ? f : v.TryGetValue(out int i) ? i
                : v.TryGetValue(out long l) ? l : null;
            if (d is { } x && double.IsFinite(x)) return x;
        }
        throw new AttnScopeException($"analysis '{a.Name}': info '{key}' is not a number");
    }

    public static List<string> Strings(JsonNode? node, string name, string key)
    {
        if (node is not JsonArray arr) throw new AttnScopeException($"analysis '{name}': info '{key}' is not a list");
        var list = new List<string>(arr.Count);
        foreach (var n in arr)
            list.Add(n is JsonValue v && v.TryGetValue(out string? s) ? s : throw new AttnScopeException($"analysis '{name}': info '{key}' holds a non-string"));
        return list;
    }
}
