using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Sources.Transformer;

namespace AttnScope.Sources;

/// <summary>
/// Hook points recorded into a capture: each recorded hook becomes the analysis <c>hooks.{hook name}</c> (tensor
/// <c>analysis.hooks.blocks.3.hook_resid_post</c> in the file, its TransformerLens shape), so numpy users read them
/// like any tensor.
/// </summary>
internal static class HookCapture
{
    public const string Prefix = "hooks.";

    /// <summary>Most hook tensors one capture records (each is [tokens, width] or [heads, tokens, tokens]).</summary>
    public const int MaxHooks = 4096;

    /// <summary>A hook set recording the patterns, or null when there are none.</summary>
    public static HookSet? For(IReadOnlyList<string>? patterns)
    {
        if (patterns is null || patterns.Count == 0) return null;
        return new HookSet().Record([.. patterns]);
    }

    /// <summary>The recorded hooks as capture analyses.</summary>
    public static IEnumerable<CaptureAnalysis> Analyses(HookSet? hooks)
    {
        if (hooks is null) yield break;
        if (hooks.Recorded.Count > MaxHooks) throw new AttnScopeException($"{hooks.Recorded.Count} hook tensors: a capture records at most {MaxHooks}");
        foreach (var (name, tensor) in hooks.Recorded.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var t = tensor.Rank <= 4 ? tensor : new FloatTensor([tensor.Shape[0], (int)(tensor.Length / tensor.Shape[0])], tensor.Data);
            yield return new CaptureAnalysis(Prefix + name, t, new JsonObject { ["kind"] = "hook", ["hook"] = name, ["shape"] = tensor.ShapeText });
        }
    }
}
