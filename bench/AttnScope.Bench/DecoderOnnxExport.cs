using AttnScope.Capture;

namespace AttnScope.Bench;

/// <summary>
/// Writes a decoder benchmark shape as an ONNX graph (opset 20) over the same Hugging Face weights the core loads,
/// the way an export with a key/value cache looks: inputs <c>ids</c> [m] and, per layer, <c>past_key_l</c> /
/// <c>past_value_l</c> [kv heads, past, d_head] (past = 0 for a prompt); outputs <c>logits</c> [1, vocab] for the
/// last position, every layer's attention probabilities <c>attn_l</c> (GPT-2 [heads, m, T]; Llama
/// [kv heads, heads per group, m, T], the same memory order as [heads, m, T]) and <c>present_key_l</c> /
/// <c>present_value_l</c> [kv heads, T, d_head] to feed back. The causal mask is computed in the graph from the
/// positions. Norms are written as LayerNormalization or the RMSNorm pattern ONNX Runtime fuses; GELU as
/// Gelu(approximate="tanh").
/// </summary>
public static class DecoderOnnxExport
{
    public static void Write(DecoderShape s, IReadOnlyDictionary<string, FloatTensor> w, int positions, string path)
    {
        var g = new OnnxGraphWriter();
        int d = s.Hidden, H = s.Heads, kvh = s.KvHeads, dh = s.HeadDim, L = s.Layers;
        float[] W(string name) => w[name].Data;

        string ids = g.Input("ids", true, "m");
        var pastK = new string[L];
        var pastV = new string[L];
        for (int l = 0; l < L; l++)
        {
            pastK[l] = g.Input($"past_key_{l}", false, kvh, "past", dh);
            pastV[l] = g.Input($"past_value_{l}", false, kvh, "past", dh);
        }
        var axis0 = g.Longs([0]);
        var one = g.Longs([1], scalar: true);
        var zero = g.Longs([0], scalar: true);
        string mShape = g.Op("Shape", ids);                                                           // [m]
        string pastShape = g.OpWith("Shape", [pastK[0]], new Dictionary<string, object> { ["start"] = 1L, ["end"] = 2L }); // [past]
        string mScalar = g.Op("Squeeze", mShape, axis0), pScalar = g.Op("Squeeze", pastShape, axis0);
        string tScalar = g.Op("Add", pScalar, mScalar);
        string pos = g.Op("Range", pScalar, tScalar, one);                                            // [m]
        string keyPos = g.Op("Range", zero, tScalar, one);                                            // [T]
        string future = g.Op("Greater", g.Op("Unsqueeze", keyPos, axis0), g.Op("Unsqueeze", pos, g.Longs([1])));
        string mask = g.Op("Where", future, g.Scalar(float.NegativeInfinity), g.Scalar(0f));         // [m, T]
        string lastIndex = g.Op("Sub", mShape, g.Longs([1]));                                         // [m − 1]
        string scale = g.Scalar(1f / MathF.Sqrt(dh));
        var perm102 = new Dictionary<string, object> { ["perm"] = new long[] { 1, 0, 2 } };
        var perm021 = new Dictionary<string, object> { ["perm"] = new long[] { 0, 2, 1 } };
        var lastAxis = new Dictionary<string, object> { ["axis"] = -1L };

        string Heads(string rows, int n) => g.OpWith("Transpose", [g.Op("Reshape", rows, g.Longs([-1, n, dh]))], perm102); // [n, m, dh]
        string Merge(string heads) => g.Op("Reshape", g.OpWith("Transpose", [heads], perm102), g.Longs([-1, H * dh]));   // [m, H·dh]
        string[] Split(string x, long[] sizes, long axis)
        {
            var outs = sizes.Select(_ => g.Fresh("split")).ToArray();
            g.Node("Split", [x, g.Longs(sizes)], outs, new Dictionary<string, object> { ["axis"] = axis });
            return outs;
        }

        string x, head;
        if (s.Family == "gpt2")
        {
            string wte = g.Weight("wte.weight", W("wte.weight"), s.Vocab, d);
            string wpe = g.Weight("wpe.weight", W("wpe.weight"), positions, d);
            x = g.Op("Add", g.OpWith("Gather", [wte, ids], null), g.OpWith("Gather", [wpe, pos], null));
            string LayerNorm(string v, string p) => g.OpWith("LayerNormalization",
                [v, g.Weight(p + ".weight", W(p + ".weight"), d), g.Weight(p + ".bias", W(p + ".bias"), d)],
                new Dictionary<string, object> { ["axis"] = -1L, ["epsilon"] = 1e-5f });
            string Linear(string v, string p, int inDim, int outDim) =>
                g.Op("Add", g.Op("MatMul", v, g.Weight(p + ".weight", W(p + ".weight"), inDim, outDim)), g.Weight(p + ".bias", W(p + ".bias"), outDim));
            for (int l = 0; l < L; l++)
            {
                string p = $"h.{l}.";
                string qkv = Linear(LayerNorm(x, p + "ln_1"), p + "attn.c_attn", d, 3 * d);
                var parts = Split(qkv, [d, d, d], 1);
                string ctx = Attention(l, Heads(parts[0], H), Heads(parts[1], H), Heads(parts[2], H));
                x = g.Op("Add", x, Linear(Merge(ctx), p + "attn.c_proj", d, d));
                string up = Linear(LayerNorm(x, p + "ln_2"), p + "mlp.c_fc", d, s.Intermediate);
                string act = g.OpWith("Gelu", [up], new Dictionary<string, object> { ["approximate"] = "tanh" });
                x = g.Op("Add", x, Linear(act, p + "mlp.c_proj", s.Intermediate, d));
            }
            x = LayerNorm(x, "ln_f");
            head = wte;
        }
        else
        {
            string embed = g.Weight("model.embed_tokens.weight", W("model.embed_tokens.weight"), s.Vocab, d);
            x = g.OpWith("Gather", [embed, ids], null);
            // Rotary as q·cos + swap(q)·sin± with swap(q) = (q₂, q₁) and sin± = (−sin, sin): Hugging Face's rotate_half.
            int half = dh / 2;
            var cos = new float[positions * dh];
            var sin = new float[positions * dh];
            for (int t = 0; t < positions; t++)
                for (int i = 0; i < half; i++)
                {
                    float invFreq = 1f / (float)Math.Pow(10000f, (float)(2 * i) / dh);
                    float a = t * invFreq;
                    cos[t * dh + i] = cos[t * dh + half + i] = MathF.Cos(a);
                    sin[t * dh + i] = -MathF.Sin(a);
                    sin[t * dh + half + i] = MathF.Sin(a);
                }
            string cosT = g.OpWith("Gather", [g.Weight("rope_cos", cos, positions, dh), pos], null);   // [m, dh]
            string sinT = g.OpWith("Gather", [g.Weight("rope_sin", sin, positions, dh), pos], null);
            string Rotate(string v)
            {
                var halves = Split(v, [half, half], 2);
                string swapped = g.OpWith("Concat", [halves[1], halves[0]], new Dictionary<string, object> { ["axis"] = 2L });
                return g.Op("Add", g.Op("Mul", v, cosT), g.Op("Mul", swapped, sinT));
            }
            string two = g.Scalar(2f), eps = g.Scalar(1e-5f), meanAxes = g.Longs([-1]);
            string RmsNorm(string v, string name)
            {
                string ms = g.OpWith("ReduceMean", [g.Op("Pow", v, two), meanAxes], new Dictionary<string, object> { ["keepdims"] = 1L });
                return g.Op("Mul", g.Op("Div", v, g.Op("Sqrt", g.Op("Add", ms, eps))), g.Weight(name, W(name), d));
            }
            int qw = H * dh, kvw = kvh * dh, inter = s.Intermediate;
            for (int l = 0; l < L; l++)
            {
                string p = $"model.layers.{l}.";
                // Fused Q|K|V and gate|up products, [in, out] as MatMul wants (the checkpoint holds [out, in]).
                var qkvW = Transposed([W(p + "self_attn.q_proj.weight"), W(p + "self_attn.k_proj.weight"), W(p + "self_attn.v_proj.weight")], d);
                string qkv = g.Op("MatMul", RmsNorm(x, p + "input_layernorm.weight"), g.Weight(p + "qkv", qkvW, d, qw + 2 * kvw));
                var parts = Split(qkv, [qw, kvw, kvw], 1);
                string ctx = Attention(l, Rotate(Heads(parts[0], H)), Rotate(Heads(parts[1], kvh)), Heads(parts[2], kvh));
                x = g.Op("Add", x, g.Op("MatMul", Merge(ctx), g.Weight(p + "o", Transposed([W(p + "self_attn.o_proj.weight")], qw), qw, d)));
                var guW = Transposed([W(p + "mlp.gate_proj.weight"), W(p + "mlp.up_proj.weight")], d);
                string gu = g.Op("MatMul", RmsNorm(x, p + "post_attention_layernorm.weight"), g.Weight(p + "gate_up", guW, d, 2 * inter));
                var gp = Split(gu, [inter, inter], 1);
                string act = g.Op("Mul", g.Op("Mul", gp[0], g.Op("Sigmoid", gp[0])), gp[1]);
                x = g.Op("Add", x, g.Op("MatMul", act, g.Weight(p + "down", Transposed([W(p + "mlp.down_proj.weight")], inter), inter, d)));
            }
            x = RmsNorm(x, "model.norm.weight");
            head = embed;
        }
        string last = g.OpWith("Gather", [x, lastIndex], new Dictionary<string, object> { ["axis"] = 0L });  // [1, d]
        g.OpWith("Gemm", [last, head], new Dictionary<string, object> { ["transB"] = 1L }, "logits");
        g.Output("logits", false, 1, s.Vocab);
        for (int l = 0; l < L; l++)
        {
            if (s.KvHeads == s.Heads) g.Output($"attn_{l}", false, H, "m", "T");
            else g.Output($"attn_{l}", false, kvh, H / kvh, "m", "T");
            g.Output($"present_key_{l}", false, kvh, "T", dh);
            g.Output($"present_value_{l}", false, kvh, "T", dh);
        }
        g.Save(path, $"attnscope_bench_{s.Name}");

        // softmax(q·kᵀ·scale + mask)·v for one layer; q [H, m, dh], k and v [kv heads, m, dh] (before the cache).
        string Attention(int l, string q, string k, string v)
        {
            string keys = g.OpWith("Concat", [pastK[l], k], new Dictionary<string, object> { ["axis"] = 1L }, $"present_key_{l}");
            string values = g.OpWith("Concat", [pastV[l], v], new Dictionary<string, object> { ["axis"] = 1L }, $"present_value_{l}");
            string kt = g.OpWith("Transpose", [keys], perm021);                                        // [kvh, dh, T]
            if (kvh == H)
            {
                string scores = g.Op("Add", g.Op("Mul", g.Op("MatMul", q, kt), scale), mask);
                string probs = g.OpWith("Softmax", [scores], lastAxis, $"attn_{l}");
                return g.Op("MatMul", probs, values);                                                   // [H, m, dh]
            }
            // Grouped query: [kvh, group, m, dh] against [kvh, 1, dh, T] by broadcasting.
            string q4 = g.Op("Reshape", q, g.Longs([kvh, H / kvh, -1, dh]));
            string s4 = g.Op("Add", g.Op("Mul", g.Op("MatMul", q4, g.Op("Unsqueeze", kt, g.Longs([1]))), scale), mask);
            string p4 = g.OpWith("Softmax", [s4], lastAxis, $"attn_{l}");
            string c4 = g.Op("MatMul", p4, g.Op("Unsqueeze", values, g.Longs([1])));                    // [kvh, group, m, dh]
            return g.Op("Reshape", c4, g.Longs([H, -1, dh]));
        }
    }

    /// <summary>Row-stacked [out_i, in] matrices → one [in, Σ out_i] matrix.</summary>
    private static float[] Transposed(float[][] parts, int inDim)
    {
        int total = parts.Sum(p => p.Length / inDim);
        var t = new float[(long)inDim * total];
        int col0 = 0;
        foreach (var p in parts)
        {
            int rows = p.Length / inDim;
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < inDim; c++) t[(long)c * total + col0 + r] = p[(long)r * inDim + c];
            col0 += rows;
        }
        return t;
    }
}
