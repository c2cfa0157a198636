namespace AttnScope.Sources.Transformer;

/// <summary>What one block's backward pass needs from its forward pass (copies; [m, width] row-major).</summary>
internal sealed class LayerTape
{
    /// <summary>resid_pre: the block's input.</summary>
    public float[] XIn = [];
    /// <summary>The input of the fused Q | K | V product (Norm1(x) pre-norm, x post-norm).</summary>
    public float[] A1 = [];
    /// <summary>Q | K | V after bias and rotary.</summary>
    public float[] Qkv = [];
    /// <summary>hook_z: per-head context, the input of the output projection.</summary>
    public float[] Ctx = [];
    /// <summary>Post-norm only: x + attention output, the first norm's input.</summary>
    public float[] AttnSum = [];
    /// <summary>resid_mid.</summary>
    public float[] XMid = [];
    /// <summary>The MLP's input (Norm2(resid_mid) pre-norm, resid_mid post-norm).</summary>
    public float[] A2 = [];
    /// <summary>The MLP's pre-activation [m, intermediate] or [m, gate | up].</summary>
    public float[] MidPre = [];
    /// <summary>The down projection's input [m, intermediate].</summary>
    public float[] MidPost = [];
    /// <summary>Post-norm only: resid_mid + MLP output, the second norm's input.</summary>
    public float[] MlpSum = [];
    /// <summary>Dropout masks of the attention, cross-attention and MLP outputs (null without dropout).</summary>
    public float[]? AttnMask, CrossMask, MlpMask;
    /// <summary>Cross-attention: the residual before it, the query projection's input, the queries, the per-head
    /// context, and (post-norm) the sum that its norm reads.</summary>
    public float[] CrossIn = [], CrossA = [], CrossQ = [], CrossCtx = [], CrossSum = [];
}

/// <summary>
/// The activations a recorded forward pass keeps for <see cref="TransformerModel.Backward"/>: per block, the inputs
/// of every product and norm; the attention probabilities are the pass's own attention tensor.
/// </summary>
internal sealed class CoreTape
{
    internal int M;
    internal int[] Ids = [];
    internal int[]? TypeIds;
    internal LayerTape[] Layers = [];
    /// <summary>The embedding sum before the embedding norm (families that have one).</summary>
    internal float[] EmbedSum = [];
    /// <summary>The final norm's input.</summary>
    internal float[] FinalIn = [];
    /// <summary>The last hidden state (after the final norm): the unembedding's input.</summary>
    internal float[] Hidden = [];
    /// <summary>Per layer, each sequence's [heads, n, n] probabilities ([layers, heads, m, m] for one sequence).</summary>
    internal float[] Attention = [];
    /// <summary>Per layer, each sequence's [heads, n, source] cross-attention probabilities (cross-attending stacks).</summary>
    internal float[]? CrossAttention;
    /// <summary>The encoder output read by cross-attention, and its keys | values per layer [source, 2·kv].</summary>
    internal float[]? Memory;
    internal float[][]? MemoryKv;
    /// <summary>Where the packed sequences lie (one sequence when not packed).</summary>
    internal SegmentLayout Segments = null!;
    /// <summary>Each row's position.</summary>
    internal int[] Positions = [];
    /// <summary>The embedding dropout mask (null without dropout).</summary>
    internal float[]? EmbedMask;

    /// <summary>Tokens of the recorded pass.</summary>
    public int Length => M;
}

/// <summary>
/// Gradients of every tensor of a stack, in the same layout as the <see cref="CoreTensors"/> they belong to
/// (a tied head's gradient goes to the token embeddings). Backward passes add into them.
/// </summary>
internal sealed class CoreGradients
{
    public required CoreTensors Values { get; init; }
    public required CoreTensors Grads { get; init; }

    /// <summary>Zero gradients shaped like <paramref name="t"/>.</summary>
    public static CoreGradients For(CoreTensors t)
    {
        static float[]? Z(float[]? a) => a is null ? null : new float[a.Length];
        return new CoreGradients
        {
            Values = t,
            Grads = new CoreTensors
            {
                TokenEmbeddings = new float[t.TokenEmbeddings.Length], PositionEmbeddings = Z(t.PositionEmbeddings), TypeEmbeddings = Z(t.TypeEmbeddings),
                EmbeddingNormGain = Z(t.EmbeddingNormGain), EmbeddingNormBias = Z(t.EmbeddingNormBias), RelativeBias = Z(t.RelativeBias),
                FinalNormGain = Z(t.FinalNormGain), FinalNormBias = Z(t.FinalNormBias), Unembedding = Z(t.Unembedding), UnembeddingBias = Z(t.UnembeddingBias),
                Layers = t.Layers.Select(l => new CoreLayerTensors
                {
                    Query = new float[l.Query.Length], Key = new float[l.Key.Length], Value = new float[l.Value.Length],
                    QueryBias = Z(l.QueryBias), KeyBias = Z(l.KeyBias), ValueBias = Z(l.ValueBias),
                    Output = new float[l.Output.Length], OutputBias = Z(l.OutputBias),
                    Norm1Gain = new float[l.Norm1Gain.Length], Norm1Bias = Z(l.Norm1Bias), Norm2Gain = Z(l.Norm2Gain), Norm2Bias = Z(l.Norm2Bias),
                    Gate = Z(l.Gate), GateBias = Z(l.GateBias), Up = Z(l.Up), UpBias = Z(l.UpBias), Down = Z(l.Down), DownBias = Z(l.DownBias),
                    CrossQuery = Z(l.CrossQuery), CrossQueryBias = Z(l.CrossQueryBias), CrossKey = Z(l.CrossKey), CrossKeyBias = Z(l.CrossKeyBias),
                    CrossValue = Z(l.CrossValue), CrossValueBias = Z(l.CrossValueBias), CrossOutput = Z(l.CrossOutput), CrossOutputBias = Z(l.CrossOutputBias),
                    CrossNormGain = Z(l.CrossNormGain), CrossNormBias = Z(l.CrossNormBias),
                }).ToArray(),
            },
        };
    }

    /// <summary>Every (value, gradient) pair, named like TransformerLens parameters, for optimizers.</summary>
    public IEnumerable<(string Name, float[] Value, float[] Grad)> Pairs()
    {
        var v = Values; var g = Grads;
        IEnumerable<(string, float[]?, float[]?)> All()
        {
            yield return ("embed.W_E", v.TokenEmbeddings, g.TokenEmbeddings);
            yield return ("pos_embed.W_pos", v.PositionEmbeddings, g.PositionEmbeddings);
            yield return ("embed.W_type", v.TypeEmbeddings, g.TypeEmbeddings);
            yield return ("embed.ln.w", v.EmbeddingNormGain, g.EmbeddingNormGain);
            yield return ("embed.ln.b", v.EmbeddingNormBias, g.EmbeddingNormBias);
            yield return ("rel_pos.W_bias", v.RelativeBias, g.RelativeBias);
            for (int l = 0; l < v.Layers.Length; l++)
            {
                var a = v.Layers[l]; var b = g.Layers[l]; string p = $"blocks.{l}.";
                yield return (p + "attn.W_Q", a.Query, b.Query); yield return (p + "attn.b_Q", a.QueryBias, b.QueryBias);
                yield return (p + "attn.W_K", a.Key, b.Key); yield return (p + "attn.b_K", a.KeyBias, b.KeyBias);
                yield return (p + "attn.W_V", a.Value, b.Value); yield return (p + "attn.b_V", a.ValueBias, b.ValueBias);
                yield return (p + "attn.W_O", a.Output, b.Output); yield return (p + "attn.b_O", a.OutputBias, b.OutputBias);
                yield return (p + "ln1.w", a.Norm1Gain, b.Norm1Gain); yield return (p + "ln1.b", a.Norm1Bias, b.Norm1Bias);
                yield return (p + "ln2.w", a.Norm2Gain, b.Norm2Gain); yield return (p + "ln2.b", a.Norm2Bias, b.Norm2Bias);
                yield return (p + "mlp.W_gate", a.Gate, b.Gate); yield return (p + "mlp.b_gate", a.GateBias, b.GateBias);
                yield return (p + "mlp.W_in", a.Up, b.Up); yield return (p + "mlp.b_in", a.UpBias, b.UpBias);
                yield return (p + "mlp.W_out", a.Down, b.Down); yield return (p + "mlp.b_out", a.DownBias, b.DownBias);
                yield return (p + "cross_attn.W_Q", a.CrossQuery, b.CrossQuery); yield return (p + "cross_attn.b_Q", a.CrossQueryBias, b.CrossQueryBias);
                yield return (p + "cross_attn.W_K", a.CrossKey, b.CrossKey); yield return (p + "cross_attn.b_K", a.CrossKeyBias, b.CrossKeyBias);
                yield return (p + "cross_attn.W_V", a.CrossValue, b.CrossValue); yield return (p + "cross_attn.b_V", a.CrossValueBias, b.CrossValueBias);
                yield return (p + "cross_attn.W_O", a.CrossOutput, b.CrossOutput); yield return (p + "cross_attn.b_O", a.CrossOutputBias, b.CrossOutputBias);
                yield return (p + "ln_cross.w", a.CrossNormGain, b.CrossNormGain); yield return (p + "ln_cross.b", a.CrossNormBias, b.CrossNormBias);
            }
            yield return ("ln_final.w", v.FinalNormGain, g.FinalNormGain);
            yield return ("ln_final.b", v.FinalNormBias, g.FinalNormBias);
            yield return ("unembed.W_U", v.Unembedding, g.Unembedding);
            yield return ("unembed.b_U", v.UnembeddingBias, g.UnembeddingBias);
        }
        foreach (var (n, a, b) in All())
            if (a is not null && b is not null) yield return (n, a, b);
    }

    public void Clear()
    {
        foreach (var (_, _, g) in Pairs()) Array.Clear(g);
    }
}
