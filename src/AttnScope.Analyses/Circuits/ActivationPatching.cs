using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Sources.Transformer;

namespace AttnScope.Analyses.Circuits;

/// <summary>
/// Where one activation is patched: a head's z (<c>blocks.{l}.attn.hook_z</c>, that head's slice) or the residual
/// stream entering a block (<c>blocks.{l}.hook_resid_pre</c>), at one position or (null) every position.
/// </summary>
internal sealed record PatchSite(string Hook, int Layer, int? Head, int? Position)
{
    public static PatchSite HeadZ(int layer, int head, int? position = null) => new(HookPoints.Z(layer), layer, head, position);
    public static PatchSite ResidPre(int layer, int? position = null) => new(HookPoints.ResidPre(layer), layer, null, position);
}

/// <summary>
/// Activation patching between a clean and a corrupted prompt of the same token length: activations recorded on
/// the clean prompt are written into a run on the corrupted prompt, and the logit difference at the last position is
/// scored as TransformerLens's tutorial normalises it, (patched − corrupted) / (clean − corrupted): 1 when the patch
/// restores the clean behaviour, 0 when it changes nothing.
/// </summary>
internal static class ActivationPatching
{
    /// <summary>Records every layer's z and resid_pre on a prompt (the source of patches).</summary>
    public static IReadOnlyDictionary<string, FloatTensor> Record(TransformerModel model, int[] ids)
    {
        CircuitRuns.RequireIds(ids);
        var s = model.Spec;
        var names = Enumerable.Range(0, s.Layers).SelectMany(l => new[] { HookPoints.Z(l), HookPoints.ResidPre(l) });
        var hooks = CircuitRuns.Recording(names);
        model.Forward(new ForwardInput { Ids = ids, Hooks = hooks, SkipAttention = true });
        return hooks.Recorded;
    }

    /// <summary>The logit difference of a run on <paramref name="into"/> with the sites patched from <paramref name="source"/> (see <see cref="Record"/>).</summary>
    /// <exception cref="AttnScopeException">A site out of range or not recorded in the source.</exception>
    public static float Patched(TransformerModel model, int[] into, IReadOnlyDictionary<string, FloatTensor> source, LogitDiff diff, IEnumerable<PatchSite> sites)
    {
        CircuitRuns.RequireDecoder(model, "activation patching");
        CircuitRuns.RequireIds(into);
        var s = model.Spec;
        int m = into.Length, d = s.Hidden, qw = s.QueryWidth, dh = s.HeadDim;
        var byHook = new Dictionary<string, List<PatchSite>>(StringComparer.Ordinal);
        foreach (var site in sites)
        {
            if ((uint)site.Layer >= (uint)s.Layers) throw new AttnScopeException($"patch layer {site.Layer} is out of range (the model has {s.Layers} layers)");
            if (site.Position is { } p && (uint)p >= (uint)m) throw new AttnScopeException($"patch position {p} is out of range for a prompt of {m} tokens");
            if (site.Head is { } h && (uint)h >= (uint)s.Heads) throw new AttnScopeException($"patch head {h} is out of range (the model has {s.Heads} heads)");
            if (!source.TryGetValue(site.Hook, out var src)) throw new AttnScopeException($"the patch source has no '{site.Hook}'");
            if (src.Shape[0] != m) throw new AttnScopeException($"the patch source has {src.Shape[0]} positions, the prompt {m}: clean and corrupted prompts need the same token length");
            if (!byHook.TryGetValue(site.Hook, out var list)) byHook[site.Hook] = list = [];
            list.Add(site);
        }
        var hooks = new HookSet();
        foreach (var (hook, list) in byHook)
        {
            var src = source[hook].Data;
            hooks.Edit(hook, (span, ctx) =>
            {
                foreach (var site in list)
                {
                    int first = site.Position ?? 0, last = site.Position ?? m - 1;
                    for (int p = first; p <= last; p++)
                    {
                        if (site.Head is { } h) src.AsSpan(p * qw + h * dh, dh).CopyTo(span.Slice(p * qw + h * dh, dh));
                        else src.AsSpan(p * d, d).CopyTo(span.Slice(p * d, d));
                    }
                }
            });
        }
        diff.Validate(s);
        return CircuitRuns.Diff(model, into, diff, hooks);
    }

    /// <summary>Each head's z (all positions) patched from the clean run: recovery [layers, heads].</summary>
    public static PatchingResult Heads(TransformerModel model, int[] clean, int[] corrupted, LogitDiff diff) =>
        Heads(model, clean, corrupted, diff, null);

    /// <summary>The residual stream entering each layer, one position at a time, patched from the clean run: recovery [layers, positions].</summary>
    public static PatchingResult ResidPre(TransformerModel model, int[] clean, int[] corrupted, LogitDiff diff) =>
        ResidPre(model, clean, corrupted, diff, null);

    /// <param name="sourceIds">Where patches come from (the clean prompt unless a test says otherwise).</param>
    internal static PatchingResult Heads(TransformerModel model, int[] clean, int[] corrupted, LogitDiff diff, int[]? sourceIds)
    {
        var (cleanDiff, corruptDiff, source) = Prepare(model, clean, corrupted, diff, sourceIds);
        var s = model.Spec;
        var values = new float[s.Layers * s.Heads];
        for (int l = 0; l < s.Layers; l++)
            for (int h = 0; h < s.Heads; h++)
                values[l * s.Heads + h] = Recovery(Patched(model, corrupted, source, diff, [PatchSite.HeadZ(l, h)]), cleanDiff, corruptDiff);
        return new PatchingResult
        {
            Kind = "patch_heads", Site = "each head's z (all positions)", Diff = diff, Clean = cleanDiff, Corrupted = corruptDiff,
            Values = new FloatTensor([s.Layers, s.Heads], values), ColumnAxis = "head", ColumnLabels = CircuitMap.Numbers(s.Heads),
        };
    }

    internal static PatchingResult ResidPre(TransformerModel model, int[] clean, int[] corrupted, LogitDiff diff, int[]? sourceIds)
    {
        var (cleanDiff, corruptDiff, source) = Prepare(model, clean, corrupted, diff, sourceIds);
        var s = model.Spec;
        int m = corrupted.Length;
        var values = new float[s.Layers * m];
        for (int l = 0; l < s.Layers; l++)
            for (int p = 0; p < m; p++)
                values[l * m + p] = Recovery(Patched(model, corrupted, source, diff, [PatchSite.ResidPre(l, p)]), cleanDiff, corruptDiff);
        return new PatchingResult
        {
            Kind = "patch_resid_pre", Site = "residual stream entering each layer, one position at a time", Diff = diff,
            Clean = cleanDiff, Corrupted = corruptDiff,
            Values = new FloatTensor([s.Layers, m], values), ColumnAxis = "position", ColumnLabels = CircuitMap.Numbers(m),
        };
    }

    /// <summary>(patched − corrupted) / (clean − corrupted).</summary>
    public static float Recovery(float patched, float clean, float corrupted) => (float)(((double)patched - corrupted) / ((double)clean - corrupted));

    private static (float Clean, float Corrupted, IReadOnlyDictionary<string, FloatTensor> Source) Prepare(
        TransformerModel model, int[] clean, int[] corrupted, LogitDiff diff, int[]? sourceIds)
    {
        CircuitRuns.RequireDecoder(model, "activation patching");
        CircuitRuns.RequireIds(clean, "the clean prompt");
        CircuitRuns.RequireIds(corrupted, "the corrupted prompt");
        diff.Validate(model.Spec);
        if (clean.Length != corrupted.Length)
            throw new AttnScopeException($"the clean prompt has {clean.Length} tokens and the corrupted {corrupted.Length}; patching needs the same token length");
        float c = CircuitRuns.Diff(model, clean, diff), k = CircuitRuns.Diff(model, corrupted, diff);
        if (Math.Abs((double)c - k) < 1e-6)
            throw new AttnScopeException($"the clean and corrupted prompts give the same {diff.Describe()} ({c:G4}); the recovery (patched − corrupted)/(clean − corrupted) is undefined");
        return (c, k, Record(model, sourceIds ?? clean));
    }
}

/// <summary>
/// Activation patching results: <see cref="Values"/>[layer, column] is the normalised recovery
/// (patched − corrupted)/(clean − corrupted) of the logit difference; columns are heads or positions.
/// </summary>
internal sealed record PatchingResult
{
    public required string Kind { get; init; }
    /// <summary>What was patched, for titles.</summary>
    public required string Site { get; init; }
    public required LogitDiff Diff { get; init; }
    public required float Clean { get; init; }
    public required float Corrupted { get; init; }
    public required FloatTensor Values { get; init; }
    public required string ColumnAxis { get; init; }
    public required IReadOnlyList<string> ColumnLabels { get; init; }

    public float this[int layer, int column] => Values.Data[layer * Values.Shape[1] + column];

    /// <param name="positionLabels">Token texts for position columns (optional).</param>
    public CircuitMap ToMap(Func<int, string>? tokenText = null, IReadOnlyList<string>? positionLabels = null) => new()
    {
        Kind = Kind,
        Metric = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"activation patching ({Site}): recovery of {Diff.Describe(tokenText)}, (patched − corrupted)/(clean − corrupted), clean {Clean:0.###}, corrupted {Corrupted:0.###}"),
        Values = Values, RowAxis = "layer", ColumnAxis = ColumnAxis,
        RowLabels = CircuitMap.Numbers(Values.Shape[0]),
        ColumnLabels = positionLabels is not null && ColumnAxis == "position" && positionLabels.Count == Values.Shape[1] ? positionLabels : ColumnLabels,
        Signed = true,
        Info = new JsonObject { ["target"] = Diff.Target, ["distractor"] = Diff.Distractor, ["clean"] = Clean, ["corrupted"] = Corrupted, ["site"] = Site },
    };
}
