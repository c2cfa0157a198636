using AttnScope.Capture;

namespace AttnScope.Analyses.Flow;

/// <summary>
/// The capacities of the layered attention-flow graph, shared read-only by every solver. Layer l's matrix A_l
/// (rows: tokens at the output of layer l, columns: tokens at its input) gives edges from node (l + 1, i) to node
/// (l, j) with capacity A_l[i, j]. Kept twice in double precision: row-major (<see cref="Cap"/>, the edges leaving a
/// node are contiguous) and transposed (<see cref="CapT"/>, the edges entering a node are contiguous).
/// </summary>
internal sealed class FlowNetwork
{
    public int Layers { get; }
    public int Tokens { get; }
    /// <summary>[layers, n, n]: Cap[l·n² + i·n + j] = A_l[i, j].</summary>
    public double[] Cap { get; }
    /// <summary>[layers, n, n]: CapT[l·n² + j·n + i] = A_l[i, j].</summary>
    public double[] CapT { get; }

    private FlowNetwork(int layers, int tokens, double[] cap)
    {
        Layers = layers;
        Tokens = tokens;
        Cap = cap;
        CapT = new double[cap.Length];
        int n = tokens, nn = n * n;
        for (int l = 0; l < layers; l++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    CapT[l * nn + j * n + i] = cap[l * nn + i * n + j];
    }

    public static FlowNetwork From(ReadOnlySpan<float> matrices, int layers, int tokens)
    {
        Check(matrices.Length, layers, tokens);
        var cap = new double[matrices.Length];
        for (int k = 0; k < cap.Length; k++) cap[k] = CheckCapacity(matrices[k], k, tokens);
        return new FlowNetwork(layers, tokens, cap);
    }

    public static FlowNetwork From(ReadOnlySpan<double> matrices, int layers, int tokens)
    {
        Check(matrices.Length, layers, tokens);
        var cap = new double[matrices.Length];
        for (int k = 0; k < cap.Length; k++) cap[k] = CheckCapacity(matrices[k], k, tokens);
        return new FlowNetwork(layers, tokens, cap);
    }

    private static void Check(int length, int layers, int tokens)
    {
        if (layers < 1) throw new AttnScopeException($"attention flow needs at least one layer, got {layers}");
        if (tokens < 1) throw new AttnScopeException($"attention flow needs at least one token, got {tokens}");
        if ((long)layers * tokens * tokens != length)
            throw new AttnScopeException($"attention flow: {length} values do not make {layers} layers of {tokens} × {tokens} matrices");
    }

    private static double CheckCapacity(double v, int k, int n)
    {
        if (!(v >= 0) || double.IsInfinity(v))
        {
            int l = k / (n * n), i = k / n % n, j = k % n;
            throw new AttnScopeException($"attention flow: layer {l} weight [{i}, {j}] is {v}; capacities must be finite and not negative");
        }
        return v;
    }
}
