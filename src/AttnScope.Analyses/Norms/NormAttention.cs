using AttnScope.Analyses.Results;
using AttnScope.Capture;

namespace AttnScope.Analyses.Norms;

/// <summary>
/// Norm-based attention (Kobayashi et al. 2020): the size of what key j actually contributes to query i in head h,
/// ‖α_ij f_h(x_j)‖, instead of the weight α_ij alone. f_h(x_j) is the value vector v_j of head h (captured with
/// <c>--qkv</c>), or, when the attention output projection W_O is given, v_j carried through head h's slice of it
/// (W_O[:, h·dh:(h+1)·dh] v_j), which is the vector the head adds to the residual stream. Since α is a scalar,
/// ‖α_ij f_h(x_j)‖ = α_ij ‖f_h(x_j)‖.
/// </summary>
internal static class NormAttention
{
    /// <param name="outputProjection">Optional W_O per layer, [d_model, d_model] row-major with rows = outputs
    /// (PyTorch Linear layout); d_model must equal heads × head_dim.</param>
    public static NormAttentionResult Compute(AttentionCapture capture, string stack = AttentionStack.Encoder,
        IReadOnlyList<float[]>? outputProjection = null)
    {
        var s = capture.Stack(stack);
        var v = s.Value ?? throw new AttnScopeException(
            $"norm-based attention needs the value vectors, and this capture has no {stack}.value (capture again with --qkv)");
        int layers = s.Layers, heads = s.Heads, q = s.Queries, k = s.Keys, dh = v.Shape[3], d = heads * dh;
        if (outputProjection is not null)
        {
            if (outputProjection.Count != layers)
                throw new AttnScopeException($"output projection given for {outputProjection.Count} layers, the stack has {layers}");
            foreach (var w in outputProjection)
                if (w.Length != d * d) throw new AttnScopeException($"output projection has {w.Length} weights, expected {d}×{d} (heads × head_dim = {d})");
        }
        var norms = new float[(long)layers * heads * q * k];
        var size = new float[k];
        var f = new double[d];
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
            {
                var vh = v.Slice(l, h);
                for (int j = 0; j < k; j++)
                {
                    var vj = vh.Slice(j * dh, dh);
                    if (outputProjection is null)
                    {
                        double sum = 0;
                        foreach (var x in vj) sum += (double)x * x;
                        size[j] = (float)Math.Sqrt(sum);
                        continue;
                    }
                    var w = outputProjection[l];
                    double norm2 = 0;
                    for (int o = 0; o < d; o++)
                    {
                        double acc = 0;
                        int row = o * d + h * dh;
                        for (int t = 0; t < dh; t++) acc += (double)w[row + t] * vj[t];
                        f[o] = acc;
                        norm2 += acc * acc;
                    }
                    size[j] = (float)Math.Sqrt(norm2);
                }
                var a = s.Attention.Slice(l, h);
                var dst = norms.AsSpan((int)(((long)l * heads + h) * q * k), q * k);
                for (int i = 0; i < q; i++)
                    System.Numerics.Tensors.TensorPrimitives.Multiply(a.Slice(i * k, k), size, dst.Slice(i * k, k));
            }
        return new NormAttentionResult(stack, outputProjection is null ? "value" : "value_output", new FloatTensor([layers, heads, q, k], norms));
    }
}
