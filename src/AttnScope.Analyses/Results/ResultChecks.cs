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

    /// <summary>Query and key token counts of a stack's axes (the stack need not be in the capture: analyses name their own).</summary>
    public static (int Queries, int Keys) Axes(AttentionCapture capture, string stack)
    {
        try
        {
            var (q, k) = capture.AxisTokens(stack);
            return (q.Count, k.Count);
        }
        catch (AttnScopeException)
        {
            throw new AttnScopeException($"analysis of unknown stack '{stack}'");
        }
    }

    /// <summary>The trailing dimensions must be (queries, keys) of the capture's tokens; leading ones as given.</summary>
    public static void Shape(CaptureAnalysis a, params int[] trailing)
    {
        var s = a.Tensor.Shape;
        bool ok = s.Length >= trailing.Length;
        for (int i = 0; ok && i < trailing.Length; i++) ok = s[s.Length - trailing.Length + i] == trailing[i];
        if (!ok)
            throw new AttnScopeException(
                $"analysis '{a.Name}' has shape {a.Tensor.ShapeText}, which does not fit the capture's tokens (expected [..., {string.Join(", ", trailing)}])");
    }

    /// <summary>The info <c>rows</c> (output tokens a partial flow was computed from), or null when all were.</summary>
    public static List<int>? Rows(CaptureAnalysis a, int queries)
    {
        if (a.Info["rows"] is not { } node) return null;
        if (node is not JsonArray arr) throw new AttnScopeException($"analysis '{a.Name}': info 'rows' is not a list");
        var rows = new List<int>(arr.Count);
        foreach (var item in arr)
            rows.Add(item is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out int r) && (uint)r < (uint)queries ? r
                : throw new AttnScopeException($"analysis '{a.Name}': info 'rows' holds something that is not a token index"));
        return rows;
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

    /// <summary>A whole number of the info within [min, max] (a layer index or count that titles and views use).</summary>
    public static int Integer(CaptureAnalysis a, string key, int fallback, int min, int max)
    {
        double d = Number(a, key, fallback);
        if (d != Math.Floor(d) || d < min || d > max)
            throw new AttnScopeException($"analysis '{a.Name}': info '{key}' is {d}, expected a whole number from {min} to {max}");
        return (int)d;
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
