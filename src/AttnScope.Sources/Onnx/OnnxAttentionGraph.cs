using AttnScope.Capture;

namespace AttnScope.Sources.Onnx;

/// <summary>
/// The values around one attention layer's Softmax: probabilities (the Softmax output), and when they can be
/// located, the scaled pre-softmax scores (before the mask is added) and the per-head Q, Kᵀ (or K) and V.
/// </summary>
internal sealed record OnnxAttentionLayer(
    int Layer,
    string SoftmaxNode,
    string Probabilities,
    string? Scores,
    string? Query,
    string? Key,
    bool KeyIsTransposed,
    string? Value);

/// <summary>
/// Finds the attention layers of an unfused Transformer graph: Softmax nodes whose output is multiplied with V,
/// in topological (= layer) order. Fused attention operators are reported as errors, since their probabilities
/// never appear as a tensor.
/// </summary>
internal static class OnnxAttentionGraph
{
    /// <summary>Operators that compute attention internally (no Softmax tensor to capture).</summary>
    public static readonly string[] FusedAttentionOps =
    [
        "Attention", "MultiHeadAttention", "PackedAttention", "PackedMultiHeadAttention", "GroupQueryAttention",
        "DecoderMaskedMultiHeadAttention", "DecoderMaskedSelfAttention", "DecoderAttention", "QAttention",
        "LongformerAttention", "SparseAttention", "QOrderedAttention", "EmbedLayerNormalization_Attention",
    ];

    public static IReadOnlyList<OnnxAttentionLayer> Find(OnnxModel model)
    {
        var g = model.Graph;
        var fused = g.Nodes.Where(n => FusedAttentionOps.Contains(n.OpType))
            .GroupBy(n => n.IsDefaultDomain ? n.OpType : $"{n.Domain}.{n.OpType}")
            .Select(gr => $"{gr.Count()} {gr.Key} node{(gr.Count() == 1 ? "" : "s")}").ToList();
        var order = g.TopologicalOrder();
        var layers = new List<OnnxAttentionLayer>();
        int softmaxCount = 0;
        foreach (var node in order)
        {
            if (!node.Is("Softmax") || node.Inputs.Count < 1 || node.Outputs.Count < 1) continue;
            softmaxCount++;
            var pv = FindProbsTimesV(g, node.Outputs[0]);
            if (pv is null) continue;
            var (probsAlias, matmul) = pv.Value;
            string? value = matmul.Inputs[1];
            var (scores, q, k, kT) = FindScores(g, node.Inputs[0]);
            layers.Add(new OnnxAttentionLayer(layers.Count, node.Name.Length > 0 ? node.Name : $"Softmax #{node.Index}",
                node.Outputs[0], scores, q, k, kT, value));
        }
        if (fused.Count > 0)
        {
            var found = string.Join(", ", fused);
            var soft = softmaxCount == 0 ? "no Softmax" : $"{softmaxCount} Softmax node{(softmaxCount == 1 ? "" : "s")}";
            throw new AttnScopeException($"{model.Source}: found {found} and {soft}; fused attention hides the attention weights, export the model without fusion (no ORT transformer optimization)");
        }
        if (layers.Count == 0)
        {
            var why = softmaxCount == 0
                ? "the graph has no Softmax node"
                : $"none of its {softmaxCount} Softmax node{(softmaxCount == 1 ? "" : "s")} feeds a MatMul with V";
            throw new AttnScopeException($"{model.Source}: no attention found: {why}");
        }
        return layers;
    }

    private static bool IsPassThrough(OnnxNode n) => n.Is("Identity") || n.Is("Cast") || n.Is("Dropout");

    /// <summary>The MatMul computing probs × V (probs as the first input), following pass-through nodes.</summary>
    private static (string Probs, OnnxNode MatMul)? FindProbsTimesV(OnnxGraph g, string probs)
    {
        var frontier = new List<string> { probs };
        for (int depth = 0; depth < 4 && frontier.Count > 0; depth++)
        {
            var next = new List<string>();
            foreach (var v in frontier)
                foreach (var c in g.Consumers(v))
                {
                    if (c.Is("MatMul") && c.Inputs.Count == 2 && c.Inputs[0] == v && g.ConstantValue(c.Inputs[1]) is null) return (v, c);
                    if (IsPassThrough(c) && c.Outputs.Count > 0) next.Add(c.Outputs[0]);
                }
            frontier = next;
        }
        return null;
    }

    /// <summary>
    /// Walks back from the Softmax input: past a mask Add (or Where), to the scaled scores (a Div/Mul by a
    /// constant after, or the output of, the Q·Kᵀ MatMul). Returns the scores value and the MatMul's inputs.
    /// </summary>
    private static (string? Scores, string? Q, string? K, bool KTransposed) FindScores(OnnxGraph g, string softmaxInput)
    {
        string value = softmaxInput;
        for (int depth = 0; depth < 6; depth++)
        {
            var p = g.Producer(value);
            if (p is null) return (null, null, null, true);
            if (IsPassThrough(p)) { value = p.Inputs[0]; continue; }
            if (p.Is("Add") && p.Inputs.Count == 2)
            {
                // Keep the side that descends from the score MatMul; the other is the mask.
                int side = LeadsToScoreMatMul(g, p.Inputs[0]) ? 0 : LeadsToScoreMatMul(g, p.Inputs[1]) ? 1 : -1;
                if (side < 0) return (null, null, null, true);
                value = p.Inputs[side];
                continue;
            }
            if (p.Is("Where") && p.Inputs.Count == 3)
            {
                int side = LeadsToScoreMatMul(g, p.Inputs[1]) ? 1 : LeadsToScoreMatMul(g, p.Inputs[2]) ? 2 : -1;
                if (side < 0) return (null, null, null, true);
                value = p.Inputs[side];
                continue;
            }
            if ((p.Is("Div") || p.Is("Mul")) || p.Is("MatMul"))
            {
                var mm = ScoreMatMul(g, value);
                if (mm is null) return (null, null, null, true);
                var q = StripScale(g, mm.Inputs[0]);
                var kRaw = StripScale(g, mm.Inputs[1]);
                // Q·B contracts over head_dim, so B is Kᵀ [.., head_dim, seq]; if it comes from a Transpose that
                // swaps the last two axes of a K tensor, capture K itself.
                bool transposed = true;
                var kp = g.Producer(kRaw);
                if (kp is not null && kp.Is("Transpose") && kp.Attribute("perm")?.Ints is { Count: 4 } perm
                    && perm[0] == 0 && perm[1] == 1 && perm[2] == 3 && perm[3] == 2)
                {
                    kRaw = kp.Inputs[0];
                    transposed = false;
                }
                return (value, q, kRaw, transposed);
            }
            return (null, null, null, true);
        }
        return (null, null, null, true);
    }

    /// <summary>The Q·Kᵀ MatMul at or just before <paramref name="value"/> (through one scalar Div/Mul).</summary>
    private static OnnxNode? ScoreMatMul(OnnxGraph g, string value)
    {
        for (int depth = 0; depth < 3; depth++)
        {
            var p = g.Producer(value);
            if (p is null) return null;
            if (p.Is("MatMul") && p.Inputs.Count == 2 && g.ConstantValue(p.Inputs[0]) is null && g.ConstantValue(p.Inputs[1]) is null) return p;
            if ((p.Is("Div") || p.Is("Mul")) && p.Inputs.Count == 2)
            {
                var c1 = g.ConstantValue(p.Inputs[1]);
                var c0 = g.ConstantValue(p.Inputs[0]);
                if (c1 is not null && c1.ElementCount == 1) { value = p.Inputs[0]; continue; }
                if (p.Is("Mul") && c0 is not null && c0.ElementCount == 1) { value = p.Inputs[1]; continue; }
                return null;
            }
            if (IsPassThrough(p)) { value = p.Inputs[0]; continue; }
            return null;
        }
        return null;
    }

    private static bool LeadsToScoreMatMul(OnnxGraph g, string value) => ScoreMatMul(g, value) is not null;

    /// <summary>Steps back over a scalar Mul/Div (scaled Q or K) to the unscaled tensor.</summary>
    private static string StripScale(OnnxGraph g, string value)
    {
        var p = g.Producer(value);
        if (p is not null && (p.Is("Mul") || p.Is("Div")) && p.Inputs.Count == 2)
        {
            var c1 = g.ConstantValue(p.Inputs[1]);
            if (c1 is not null && c1.ElementCount == 1) return p.Inputs[0];
            var c0 = g.ConstantValue(p.Inputs[0]);
            if (p.Is("Mul") && c0 is not null && c0.ElementCount == 1) return p.Inputs[1];
        }
        return value;
    }
}
