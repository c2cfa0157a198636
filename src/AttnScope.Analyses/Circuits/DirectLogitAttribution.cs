using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Sources.Transformer;

namespace AttnScope.Analyses.Circuits;

/// <summary>
/// Direct logit attribution: how much each component writes, directly, into a logit difference at one position.
/// The final residual there is a sum — embeddings (token + position), every head's output
/// W_O[:, h·d_head … (h+1)·d_head]·z_h, every layer's attention output bias, every MLP output — and the final norm is
/// linearised around it with TransformerLens's cached-scale convention: each component is centred (LayerNorm; not
/// RMSNorm) and divided by the norm's scale √(var + ε) (or √(mean square + ε)) of the actual final residual at that
/// position, then dotted with γ ⊙ (W_U[target] − W_U[distractor]). The norm's bias and the head's bias give a
/// constant term. Components plus the constant sum exactly (up to rounding) to the model's logit difference.
/// </summary>
internal static class DirectLogitAttribution
{
    /// <param name="position">Position attributed (default: the last).</param>
    /// <exception cref="AttnScopeException">Not a pre-norm decoder LM, bad ids, a bad position or logit difference.</exception>
    public static DlaResult Run(TransformerModel model, int[] ids, LogitDiff diff, int? position = null)
    {
        CircuitRuns.RequireDecoder(model, "direct logit attribution");
        CircuitRuns.RequireIds(ids);
        var s = model.Spec;
        if (s.Placement != NormPlacement.Pre)
            throw new AttnScopeException($"direct logit attribution needs a pre-norm stack; {s.Family} normalises after each sub-layer, so its residual is not a sum of component outputs");
        diff.Validate(s);
        int m = ids.Length, pos = position ?? m - 1;
        if ((uint)pos >= (uint)m) throw new AttnScopeException($"position {pos} is out of range for a prompt of {m} tokens");
        int d = s.Hidden, L = s.Layers, H = s.Heads, dh = s.HeadDim, qw = s.QueryWidth;

        var names = new List<string> { HookPoints.ResidPre(0), HookPoints.ResidPost(L - 1) };
        for (int l = 0; l < L; l++) { names.Add(HookPoints.Z(l)); names.Add(HookPoints.MlpOut(l)); }
        var hooks = CircuitRuns.Recording(names);
        var logits = model.Forward(new ForwardInput { Ids = ids, Hooks = hooks, Logits = LogitRows.All, SkipAttention = true }).Logits!;
        float modelDiff = diff.Of(logits.Data.AsSpan(pos * s.Vocab, s.Vocab));

        var w = model.Weights;
        var rows = w.UnembeddingRows!;
        var gain = s.FinalNorm ? w.FinalNormGain! : null;
        bool center = s.FinalNorm && s.Norm == NormKind.LayerNorm;
        // direction: γ ⊙ (W_U[target] − W_U[distractor])
        var u = new double[d];
        for (int i = 0; i < d; i++)
        {
            double du = (double)rows[(long)diff.Target * d + i] - rows[(long)diff.Distractor * d + i];
            u[i] = gain is null ? du : du * gain[i];
        }
        var final = hooks.Recorded[HookPoints.ResidPost(L - 1)].Data.AsSpan(pos * d, d);
        double scale = s.FinalNorm ? Scale(final, center, s.NormEps) : 1;

        double Project(ReadOnlySpan<double> c)
        {
            double mean = 0;
            if (center) { foreach (var x in c) mean += x; mean /= c.Length; }
            double sum = 0;
            for (int i = 0; i < c.Length; i++) sum += (c[i] - mean) * u[i];
            return sum / scale;
        }
        double ProjectF(ReadOnlySpan<float> c)
        {
            var tmp = new double[c.Length];
            for (int i = 0; i < c.Length; i++) tmp[i] = c[i];
            return Project(tmp);
        }

        var heads = new float[L * H];
        var mlp = new float[L];
        var bias = new float[L];
        var o = new double[d];
        for (int l = 0; l < L; l++)
        {
            var z = hooks.Recorded[HookPoints.Z(l)].Data.AsSpan(pos * qw, qw);
            var wo = model.OutputWeight(l);
            for (int h = 0; h < H; h++)
            {
                for (int j = 0; j < d; j++)
                {
                    double acc = 0;
                    var wrow = wo.Slice(j * qw + h * dh, dh);
                    for (int k = 0; k < dh; k++) acc += (double)wrow[k] * z[h * dh + k];
                    o[j] = acc;
                }
                heads[l * H + h] = (float)Project(o);
            }
            if (w.Layers[l].Output.Bias is { } b) bias[l] = (float)ProjectF(b);
            mlp[l] = (float)ProjectF(hooks.Recorded[HookPoints.MlpOut(l)].Data.AsSpan(pos * d, d));
        }
        float embed = (float)ProjectF(hooks.Recorded[HookPoints.ResidPre(0)].Data.AsSpan(pos * d, d));
        double constant = 0;
        if (s.FinalNorm && w.FinalNormBias is { } beta)
            for (int i = 0; i < d; i++) constant += beta[i] * ((double)rows[(long)diff.Target * d + i] - rows[(long)diff.Distractor * d + i]);
        if (w.Unembedding?.Bias is { } bu) constant += (double)bu[diff.Target] - bu[diff.Distractor];
        return new DlaResult
        {
            Diff = diff, Position = pos, Layers = L, Heads = H, HeadValues = heads, Mlp = mlp, AttentionBias = bias,
            Embed = embed, Constant = (float)constant, Scale = (float)scale, ModelLogitDiff = modelDiff,
        };
    }

    /// <summary>The final norm's scale of a residual row: √(var + ε) for LayerNorm, √(mean square + ε) for RMSNorm.</summary>
    internal static double Scale(ReadOnlySpan<float> x, bool center, float eps)
    {
        double mean = 0;
        if (center) { foreach (var v in x) mean += v; mean /= x.Length; }
        double sq = 0;
        foreach (var v in x) { double c = v - mean; sq += c * c; }
        return Math.Sqrt(sq / x.Length + eps);
    }
}

/// <summary>
/// Direct logit attribution at one position. <see cref="HeadValues"/> is [layers, heads] row-major; per layer the MLP
/// output and the attention output bias; <see cref="Embed"/> the token (and position) embeddings;
/// <see cref="Constant"/> the final norm's bias and the head's bias. <see cref="Total"/> sums them all and equals
/// <see cref="ModelLogitDiff"/> up to rounding.
/// </summary>
internal sealed record DlaResult
{
    public required LogitDiff Diff { get; init; }
    public required int Position { get; init; }
    public required int Layers { get; init; }
    public required int Heads { get; init; }
    public required float[] HeadValues { get; init; }
    public required float[] Mlp { get; init; }
    public required float[] AttentionBias { get; init; }
    public required float Embed { get; init; }
    public required float Constant { get; init; }
    /// <summary>The final norm's scale at the position (1 without a final norm).</summary>
    public required float Scale { get; init; }
    /// <summary>The logit difference the model itself computes at the position.</summary>
    public required float ModelLogitDiff { get; init; }

    public float Head(int layer, int head) => HeadValues[layer * Heads + head];

    /// <summary>Sum of every component and the constant, in double.</summary>
    public double Total => HeadValues.Sum(x => (double)x) + Mlp.Sum(x => (double)x) + AttentionBias.Sum(x => (double)x) + Embed + Constant;

    private JsonObject Info() => new()
    {
        ["target"] = Diff.Target, ["distractor"] = Diff.Distractor, ["position"] = Position,
        ["embed"] = Embed, ["constant"] = Constant, ["scale"] = Scale, ["logit_diff"] = ModelLogitDiff,
        ["convention"] = "final norm linearised with the final residual's cached scale (TransformerLens)",
    };

    /// <summary>Layers × heads, signed.</summary>
    public CircuitMap ToHeadMap(Func<int, string>? tokenText = null) => new()
    {
        Kind = "dla_heads", Metric = $"direct logit attribution per head to {Diff.Describe(tokenText)} at position {Position}",
        Values = new FloatTensor([Layers, Heads], (float[])HeadValues.Clone()), RowAxis = "layer", ColumnAxis = "head",
        RowLabels = CircuitMap.Numbers(Layers), ColumnLabels = CircuitMap.Numbers(Heads), Signed = true, Info = Info(),
    };

    /// <summary>Layers × (all heads, attention bias, MLP), signed.</summary>
    public CircuitMap ToLayerMap(Func<int, string>? tokenText = null)
    {
        var v = new float[Layers * 3];
        for (int l = 0; l < Layers; l++)
        {
            double sum = 0;
            for (int h = 0; h < Heads; h++) sum += Head(l, h);
            v[l * 3] = (float)sum; v[l * 3 + 1] = AttentionBias[l]; v[l * 3 + 2] = Mlp[l];
        }
        return new CircuitMap
        {
            Kind = "dla_layers", Metric = $"direct logit attribution per layer to {Diff.Describe(tokenText)} at position {Position}",
            Values = new FloatTensor([Layers, 3], v), RowAxis = "layer", ColumnAxis = "component",
            RowLabels = CircuitMap.Numbers(Layers), ColumnLabels = ["heads", "attn bias", "mlp"], Signed = true, Info = Info(),
        };
    }
}
