using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Sources.Transformer;

namespace AttnScope.Analyses.Circuits;

/// <summary>How a head's output is removed: set to zero, or to its mean over the prompt's positions.</summary>
internal enum AblationKind { Zero, Mean }

/// <summary>
/// Head ablation through the <c>attn.hook_z</c> edit: for each head in turn, its z (the attention-weighted values
/// before W_O) is replaced at every position — by zeros, or by the head's mean z over the prompt's positions — and
/// the logit difference at the last position is measured. Zero-ablating z removes exactly the head's term of
/// W_O·z (the output bias stays). One forward pass per head.
/// </summary>
internal static class HeadAblation
{
    /// <exception cref="AttnScopeException">Not a decoder LM, bad ids or logit difference.</exception>
    public static HeadEffectResult Run(TransformerModel model, int[] ids, LogitDiff diff, AblationKind kind = AblationKind.Zero)
    {
        CircuitRuns.RequireDecoder(model, "head ablation");
        CircuitRuns.RequireIds(ids);
        var s = model.Spec;
        diff.Validate(s);
        int L = s.Layers, H = s.Heads, dh = s.HeadDim, qw = s.QueryWidth, m = ids.Length;
        var record = CircuitRuns.Recording(Enumerable.Range(0, L).Select(HookPoints.Z));
        float baseline = CircuitRuns.Diff(model, ids, diff, record);
        var effects = new float[L * H];
        for (int l = 0; l < L; l++)
        {
            float[]? means = null;
            if (kind == AblationKind.Mean)
            {
                var z = record.Recorded[HookPoints.Z(l)].Data;
                means = new float[qw];
                for (int c = 0; c < qw; c++)
                {
                    double sum = 0;
                    for (int p = 0; p < m; p++) sum += z[p * qw + c];
                    means[c] = (float)(sum / m);
                }
            }
            for (int h = 0; h < H; h++)
            {
                int head = h;
                var hooks = new HookSet().Edit(HookPoints.Z(l), (span, ctx) =>
                {
                    int rows = span.Length / qw;
                    for (int p = 0; p < rows; p++)
                    {
                        var slot = span.Slice(p * qw + head * dh, dh);
                        if (means is null) slot.Clear();
                        else means.AsSpan(head * dh, dh).CopyTo(slot);
                    }
                });
                effects[l * H + h] = CircuitRuns.Diff(model, ids, diff, hooks) - baseline;
            }
        }
        return new HeadEffectResult
        {
            Kind = kind == AblationKind.Zero ? "ablation_zero" : "ablation_mean",
            Description = kind == AblationKind.Zero ? "zero" : "mean (over positions)",
            Diff = diff, Layers = L, Heads = H, Baseline = baseline, Effects = effects,
        };
    }
}

/// <summary>
/// The effect of ablating each head on a logit difference: <see cref="Effects"/>[layer, head] = ablated − clean
/// (negative: the head helped the target over the distractor).
/// </summary>
internal sealed record HeadEffectResult
{
    public required string Kind { get; init; }
    /// <summary>"zero" or "mean (over positions)".</summary>
    public required string Description { get; init; }
    public required LogitDiff Diff { get; init; }
    public required int Layers { get; init; }
    public required int Heads { get; init; }
    /// <summary>The logit difference without ablation.</summary>
    public required float Baseline { get; init; }
    public required float[] Effects { get; init; }

    public float Effect(int layer, int head) => Effects[layer * Heads + head];

    public CircuitMap ToMap(Func<int, string>? tokenText = null) => new()
    {
        Kind = Kind, Metric = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Description} ablation of each head: change of {Diff.Describe(tokenText)} (clean {Baseline:0.###})"),
        Values = new FloatTensor([Layers, Heads], (float[])Effects.Clone()), RowAxis = "layer", ColumnAxis = "head",
        RowLabels = CircuitMap.Numbers(Layers), ColumnLabels = CircuitMap.Numbers(Heads), Signed = true,
        Info = new JsonObject { ["target"] = Diff.Target, ["distractor"] = Diff.Distractor, ["baseline"] = Baseline, ["ablation"] = Description },
    };
}
