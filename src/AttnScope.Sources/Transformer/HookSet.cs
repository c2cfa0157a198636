using AttnScope.Capture;

namespace AttnScope.Sources.Transformer;

/// <summary>Where a hook fired: its name, the shape of the values, and the position of their first row.</summary>
internal readonly record struct HookContext(string Name, int Layer, int[] Shape, int PositionOffset);

/// <summary>Changes the values at a hook point in place (ablation, patching).</summary>
internal delegate void HookEdit(Span<float> values, HookContext context);

/// <summary>
/// The hook points of the core, named as TransformerLens names them, so users can map their habits:
/// shapes are per forward pass of m new tokens over T keys (T = m without a cache).
/// </summary>
internal static class HookPoints
{
    /// <summary>[m, d] token embeddings (scaled where the family scales them).</summary>
    public const string Embed = "hook_embed";
    /// <summary>[m, d] learned or sinusoidal position embeddings.</summary>
    public const string PosEmbed = "hook_pos_embed";
    /// <summary>[m, d] the final norm's output (pre-norm stacks).</summary>
    public const string FinalNormalized = "ln_final.hook_normalized";

    public static string ResidPre(int l) => $"blocks.{l}.hook_resid_pre";
    public static string Ln1Normalized(int l) => $"blocks.{l}.ln1.hook_normalized";
    /// <summary>[m, heads, d_head] before rotary.</summary>
    public static string Q(int l) => $"blocks.{l}.attn.hook_q";
    /// <summary>[m, kv_heads, d_head] before rotary.</summary>
    public static string K(int l) => $"blocks.{l}.attn.hook_k";
    public static string V(int l) => $"blocks.{l}.attn.hook_v";
    /// <summary>[m, heads, d_head] after rotary (rotary families only).</summary>
    public static string RotQ(int l) => $"blocks.{l}.attn.hook_rot_q";
    public static string RotK(int l) => $"blocks.{l}.attn.hook_rot_k";
    /// <summary>[heads, m, T] scaled scores before softmax (masked entries 0).</summary>
    public static string AttnScores(int l) => $"blocks.{l}.attn.hook_attn_scores";
    /// <summary>[heads, m, T] attention probabilities.</summary>
    public static string Pattern(int l) => $"blocks.{l}.attn.hook_pattern";
    /// <summary>[m, heads, d_head] each head's weighted values, before the output projection.</summary>
    public static string Z(int l) => $"blocks.{l}.attn.hook_z";
    public static string AttnOut(int l) => $"blocks.{l}.hook_attn_out";
    /// <summary>[heads, m, source] cross-attention probabilities (decoder blocks of an encoder-decoder).</summary>
    public static string CrossPattern(int l) => $"blocks.{l}.cross_attn.hook_pattern";
    public static string ResidMid(int l) => $"blocks.{l}.hook_resid_mid";
    public static string Ln2Normalized(int l) => $"blocks.{l}.ln2.hook_normalized";
    /// <summary>[m, intermediate] before the activation (the gate's input for gated MLPs).</summary>
    public static string MlpPre(int l) => $"blocks.{l}.mlp.hook_pre";
    /// <summary>[m, intermediate] after the activation (times up for gated MLPs).</summary>
    public static string MlpPost(int l) => $"blocks.{l}.mlp.hook_post";
    public static string MlpOut(int l) => $"blocks.{l}.hook_mlp_out";
    public static string ResidPost(int l) => $"blocks.{l}.hook_resid_post";

    /// <summary>Every hook name of a stack (for help texts and validation of patterns).</summary>
    public static IEnumerable<string> All(TransformerSpec spec)
    {
        yield return Embed;
        if (spec.Positions is PositionKind.Learned or PositionKind.Sinusoidal) yield return PosEmbed;
        for (int l = 0; l < spec.Layers; l++)
        {
            yield return ResidPre(l);
            if (spec.Placement == NormPlacement.Pre) yield return Ln1Normalized(l);
            yield return Q(l); yield return K(l); yield return V(l);
            if (spec.Positions == PositionKind.Rotary) { yield return RotQ(l); yield return RotK(l); }
            yield return AttnScores(l); yield return Pattern(l); yield return Z(l); yield return AttnOut(l);
            if (spec.CrossAttention) yield return CrossPattern(l);
            yield return ResidMid(l);
            if (spec.Mlp)
            {
                if (spec.Placement == NormPlacement.Pre) yield return Ln2Normalized(l);
                yield return MlpPre(l); yield return MlpPost(l); yield return MlpOut(l);
            }
            yield return ResidPost(l);
        }
        if (spec.FinalNorm) yield return FinalNormalized;
    }

    /// <summary>Hook points whose values can be edited (the rest are recorded only). An edited pattern is what weights the values.</summary>
    public static bool Editable(string name) =>
        name.EndsWith(".hook_resid_pre", StringComparison.Ordinal) || name.EndsWith(".attn.hook_z", StringComparison.Ordinal)
        || name.EndsWith(".hook_attn_out", StringComparison.Ordinal) || name.EndsWith(".hook_resid_mid", StringComparison.Ordinal)
        || name.EndsWith(".mlp.hook_post", StringComparison.Ordinal) || name.EndsWith(".hook_mlp_out", StringComparison.Ordinal)
        || name.EndsWith(".hook_resid_post", StringComparison.Ordinal) || name.EndsWith(".attn.hook_pattern", StringComparison.Ordinal)
        || name.EndsWith(".cross_attn.hook_pattern", StringComparison.Ordinal) || name == Embed;
}

/// <summary>
/// Which hook points a forward pass records (exact names, or patterns with <c>*</c> for any run of characters,
/// e.g. <c>blocks.*.hook_resid_post</c>) and which it edits. Recorded values are copies, by hook name.
/// </summary>
internal sealed class HookSet
{
    private readonly List<string> _patterns = [];
    private readonly Dictionary<string, HookEdit> _edits = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FloatTensor> _recorded = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, FloatTensor> Recorded => _recorded;

    public HookSet Record(params string[] patterns)
    {
        foreach (var p in patterns)
        {
            if (string.IsNullOrWhiteSpace(p)) throw new AttnScopeException("an empty hook name");
            _patterns.Add(p);
        }
        return this;
    }

    public HookSet Edit(string name, HookEdit edit)
    {
        if (!HookPoints.Editable(name)) throw new AttnScopeException($"hook '{name}' cannot be edited (editable: hook_embed, hook_resid_pre/mid/post, attn.hook_pattern, attn.hook_z, hook_attn_out, mlp.hook_post, hook_mlp_out)");
        _edits[name] = edit;
        return this;
    }

    /// <summary>Checks that every pattern names at least one hook point of <paramref name="spec"/>.</summary>
    public void Validate(TransformerSpec spec)
    {
        var all = HookPoints.All(spec).ToList();
        foreach (var p in _patterns)
            if (!all.Any(n => Matches(p, n)))
                throw new AttnScopeException($"no hook point matches '{p}' (e.g. {HookPoints.ResidPost(0)}, {HookPoints.Pattern(0)}, {HookPoints.Z(0)})");
        foreach (var n in _edits.Keys)
            if (!all.Contains(n)) throw new AttnScopeException($"the model has no hook point '{n}'");
    }

    /// <summary>Whether a hook point is recorded or edited (so the core computes it separately).</summary>
    public bool Wants(string name) => _edits.ContainsKey(name) || _patterns.Any(p => Matches(p, name));

    public bool Edits(string name) => _edits.ContainsKey(name);

    /// <summary>Edits the values if an edit is registered, then records them if a pattern asks.</summary>
    internal void Fire(string name, int layer, Span<float> values, int[] shape, int offset)
    {
        if (_edits.TryGetValue(name, out var edit)) edit(values, new HookContext(name, layer, shape, offset));
        if (_patterns.Any(p => Matches(p, name))) _recorded[name] = new FloatTensor(shape, values.ToArray());
    }

    /// <summary>Glob match with <c>*</c> only.</summary>
    public static bool Matches(string pattern, string name)
    {
        int star = pattern.IndexOf('*');
        if (star < 0) return pattern == name;
        var parts = pattern.Split('*');
        int at = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (i == 0)
            {
                if (!name.StartsWith(part, StringComparison.Ordinal)) return false;
                at = part.Length;
            }
            else if (i == parts.Length - 1)
            {
                return name.Length - part.Length >= at && name.EndsWith(part, StringComparison.Ordinal);
            }
            else
            {
                int k = name.IndexOf(part, at, StringComparison.Ordinal);
                if (k < 0) return false;
                at = k + part.Length;
            }
        }
        return true;
    }
}
