using AttnScope.Capture;
using AttnScope.Sources.Transformer;
using AttnScope.Training.Model;

namespace AttnScope.Training.CausalLm;

/// <summary>
/// The trainable tensors of a core <see cref="TransformerSpec"/> as <see cref="Parameter"/>s (so the existing
/// <see cref="Optim.AdamW"/> updates them), named like TransformerLens parameters (<c>embed.W_E</c>,
/// <c>blocks.0.attn.W_Q</c>, <c>unembed.W_U</c>, …). <see cref="Tensors"/> and <see cref="Gradients"/> are views
/// of the same arrays in the core's layout: a backward pass adds straight into the parameters' gradients and an
/// optimizer step changes the values the next <see cref="TransformerModel"/> packs.
/// <para>Layout: PyTorch's linear layout [out, in] (W_Q is [heads·d_head, d_model], W_O [d_model, heads·d_head],
/// W_U [vocab, d_model]); TransformerLens keeps per-head [heads, d_model, d_head] and W_U as [d_model, vocab].</para>
/// </summary>
internal sealed class CausalLmParameters
{
    public TransformerSpec Spec { get; }
    /// <summary>Every parameter in <see cref="CoreGradients.Pairs"/> order.</summary>
    public IReadOnlyList<Parameter> All { get; }
    public CoreTensors Tensors { get; }
    public CoreGradients Gradients { get; }

    /// <summary>Largest parameter count accepted (checked before anything is allocated).</summary>
    public const long MaxParameters = 200_000_000;

    private CausalLmParameters(TransformerSpec spec, List<Parameter> all, CoreTensors values, CoreTensors grads)
    {
        Spec = spec;
        All = all;
        Tensors = values;
        Gradients = new CoreGradients { Values = values, Grads = grads };
    }

    /// <summary>Parameters counted from a spec, without allocating them.</summary>
    public static long Count(TransformerSpec s)
    {
        long d = s.Hidden, q = s.QueryWidth, kv = s.KvWidth, I = s.Intermediate;
        long n = s.Vocab * d + (s.Positions == PositionKind.Learned ? s.MaxPositions * d : 0);
        long layer = (q + 2 * kv) * d + d * q + 2 * d;
        if (s.AttentionBias) layer += q + 2 * kv;
        if (s.OutputBias) layer += d;
        if (s.Mlp) layer += 2 * d + (s.GatedMlp ? 3 : 2) * I * d + (s.MlpBias ? (s.GatedMlp ? 2 : 1) * I + d : 0);
        n += s.Layers * layer;
        if (s.FinalNorm) n += 2 * d;
        if (s.LmHead && !s.TiedHead) n += s.Vocab * d + s.Vocab;
        return n;
    }

    /// <summary>
    /// Fresh parameters: weights from N(0, σ²) with σ = 0.8/√d_model (TransformerLens's default range), norms at
    /// gain 1 and bias 0, biases 0. The random stream is seeded, so a seed gives the same model every time.
    /// </summary>
    public static CausalLmParameters Create(TransformerSpec spec, int seed)
    {
        spec.Validate("causal LM");
        if (!spec.LmHead) throw new AttnScopeException("a causal language model needs a language-model head (LmHead)");
        if (spec.Placement != NormPlacement.Pre || spec.EmbeddingNorm || spec.TypeVocab > 0 || spec.Positions is not (PositionKind.Learned or PositionKind.None or PositionKind.Rotary or PositionKind.Alibi or PositionKind.Sinusoidal))
            throw new AttnScopeException("the causal LM trainer builds pre-norm decoders without embedding norms or token types");
        long count = Count(spec);
        if (count > MaxParameters) throw new AttnScopeException($"the model would have {count:N0} parameters; the trainer takes at most {MaxParameters:N0}");
        var rng = new Random(seed);
        double std = 0.8 / Math.Sqrt(spec.Hidden);
        var all = new List<Parameter>();
        bool ln = spec.Norm == NormKind.LayerNorm;
        int d = spec.Hidden, q = spec.QueryWidth, kv = spec.KvWidth, I = spec.Intermediate;
        float[] W(string name, int rows, int cols) { var p = new Parameter(name, [rows, cols]); p.InitNormal(rng, std); all.Add(p); return p.Value; }
        float[]? B(string name, int n, bool when = true) { if (!when) return null; var p = new Parameter(name, [n], noDecay: true); all.Add(p); return p.Value; }
        float[] G(string name, int n) { var p = new Parameter(name, [n], noDecay: true); p.Fill(1f); all.Add(p); return p.Value; }

        // Creation order is CoreGradients.Pairs order, so All lines up with Pairs().
        var embed = W("embed.W_E", spec.Vocab, d);
        float[]? pos = null;
        if (spec.Positions == PositionKind.Learned)
        {
            var p = new Parameter("pos_embed.W_pos", [spec.MaxPositions, d], noDecay: true);
            p.InitNormal(rng, std);
            all.Add(p);
            pos = p.Value;
        }
        var layers = new CoreLayerTensors[spec.Layers];
        for (int l = 0; l < spec.Layers; l++)
        {
            string p = $"blocks.{l}.";
            var wq = W(p + "attn.W_Q", q, d); var bq = B(p + "attn.b_Q", q, spec.AttentionBias);
            var wk = W(p + "attn.W_K", kv, d); var bk = B(p + "attn.b_K", kv, spec.AttentionBias);
            var wv = W(p + "attn.W_V", kv, d); var bv = B(p + "attn.b_V", kv, spec.AttentionBias);
            var wo = W(p + "attn.W_O", d, q); var bo = B(p + "attn.b_O", d, spec.OutputBias);
            var g1 = G(p + "ln1.w", d); var b1 = B(p + "ln1.b", d, ln);
            float[]? g2 = null, b2 = null, gate = null, gateB = null, up = null, upB = null, down = null, downB = null;
            if (spec.Mlp)
            {
                g2 = G(p + "ln2.w", d); b2 = B(p + "ln2.b", d, ln);
                if (spec.GatedMlp) { gate = W(p + "mlp.W_gate", I, d); gateB = B(p + "mlp.b_gate", I, spec.MlpBias); }
                up = W(p + "mlp.W_in", I, d); upB = B(p + "mlp.b_in", I, spec.MlpBias);
                down = W(p + "mlp.W_out", d, I); downB = B(p + "mlp.b_out", d, spec.MlpBias);
            }
            layers[l] = new CoreLayerTensors
            {
                Query = wq, QueryBias = bq, Key = wk, KeyBias = bk, Value = wv, ValueBias = bv, Output = wo, OutputBias = bo,
                Norm1Gain = g1, Norm1Bias = b1, Norm2Gain = g2, Norm2Bias = b2, Gate = gate, GateBias = gateB, Up = up, UpBias = upB, Down = down, DownBias = downB,
            };
        }
        float[]? fg = null, fb = null, wu = null, bu = null;
        if (spec.FinalNorm) { fg = G("ln_final.w", d); fb = B("ln_final.b", d, ln); }
        if (!spec.TiedHead) { wu = W("unembed.W_U", spec.Vocab, d); bu = B("unembed.b_U", spec.Vocab); }
        var values = new CoreTensors
        {
            TokenEmbeddings = embed, PositionEmbeddings = pos, Layers = layers, FinalNormGain = fg, FinalNormBias = fb, Unembedding = wu, UnembeddingBias = bu,
        };
        var byValue = new Dictionary<float[], float[]>(ReferenceEqualityComparer.Instance);
        foreach (var p in all) byValue[p.Value] = p.Grad;
        float[]? Gr(float[]? v) => v is null ? null : byValue[v];
        var grads = new CoreTensors
        {
            TokenEmbeddings = Gr(embed)!, PositionEmbeddings = Gr(pos), Layers = layers.Select(t => new CoreLayerTensors
            {
                Query = Gr(t.Query)!, QueryBias = Gr(t.QueryBias), Key = Gr(t.Key)!, KeyBias = Gr(t.KeyBias), Value = Gr(t.Value)!, ValueBias = Gr(t.ValueBias),
                Output = Gr(t.Output)!, OutputBias = Gr(t.OutputBias), Norm1Gain = Gr(t.Norm1Gain)!, Norm1Bias = Gr(t.Norm1Bias),
                Norm2Gain = Gr(t.Norm2Gain), Norm2Bias = Gr(t.Norm2Bias), Gate = Gr(t.Gate), GateBias = Gr(t.GateBias),
                Up = Gr(t.Up), UpBias = Gr(t.UpBias), Down = Gr(t.Down), DownBias = Gr(t.DownBias),
            }).ToArray(),
            FinalNormGain = Gr(fg), FinalNormBias = Gr(fb), Unembedding = Gr(wu), UnembeddingBias = Gr(bu),
        };
        var result = new CausalLmParameters(spec, all, values, grads);
        var names = result.Gradients.Pairs().Select(p => p.Name).ToList();
        if (!names.SequenceEqual(all.Select(p => p.Name)))
            throw new InvalidOperationException("parameter order does not match the core's gradient pairs");
        return result;
    }

    /// <summary>A model over the current values (packs them for the GEMM; cheap for small models).</summary>
    public TransformerModel Model(string origin = "causal LM") => new(Spec, Tensors, origin);

    public void ZeroGradients()
    {
        foreach (var p in All) p.ZeroGrad();
    }

    /// <summary>The tensors under their TransformerLens-like names and shapes (PyTorch layout), for a checkpoint.</summary>
    public IEnumerable<(string Name, FloatTensor Tensor)> Named() => All.Select(p => (p.Name, new FloatTensor(p.Shape, p.Value)));
}
