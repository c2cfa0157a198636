using AttnScope.Capture;
using AttnScope.Sources.Transformer;

namespace AttnScope.Analyses.Circuits;

/// <summary>Checks and forward passes the circuit analyses share.</summary>
internal static class CircuitRuns
{
    /// <summary>The model must be a decoder language model (causal, with a head); <paramref name="what"/> names the analysis.</summary>
    public static void RequireDecoder(TransformerModel model, string what)
    {
        ArgumentNullException.ThrowIfNull(model);
        var s = model.Spec;
        if (!s.LmHead || !s.Causal)
            throw new AttnScopeException($"{what} needs a decoder language model; {model.Origin} ({s.Family}) is not one");
    }

    /// <summary>Ids must be non-empty and fit the model (the core names the first bad id).</summary>
    public static void RequireIds(int[]? ids, string which = "the prompt")
    {
        if (ids is null || ids.Length == 0) throw new AttnScopeException($"{which} has no tokens");
    }

    /// <summary>One forward pass giving the last position's logits, with optional hooks.</summary>
    public static float[] LastLogits(TransformerModel model, int[] ids, HookSet? hooks = null) =>
        model.Forward(new ForwardInput { Ids = ids, Logits = LogitRows.Last, Hooks = hooks, SkipAttention = true }).Logits!.Data;

    /// <summary>The logit difference at the last position of one pass.</summary>
    public static float Diff(TransformerModel model, int[] ids, LogitDiff diff, HookSet? hooks = null) => diff.Of(LastLogits(model, ids, hooks));

    /// <summary>A hook set recording exact hook names.</summary>
    public static HookSet Recording(IEnumerable<string> names) => new HookSet().Record([.. names]);

    /// <summary>The [rows, cols] row-major copy of a span (results never alias the model's buffers).</summary>
    public static FloatTensor Matrix(int rows, int cols, float[] data) => new([rows, cols], data);
}
