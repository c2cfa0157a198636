using AttnScope.Analyses.Attention;
using AttnScope.Analyses.Results;
using AttnScope.Capture;

namespace AttnScope.Analyses.Flow;

/// <summary>
/// Attention flow (Abnar &amp; Zuidema 2020), computed exactly: in the layered graph over (layers + 1) × n nodes
/// whose edges from (l + 1, i) to (l, j) carry the residual-augmented, head-averaged attention A_l[i, j] as capacity,
/// Raw[i, j] is the maximum flow from token i at the output of the top layer to input token j, and Flow is Raw with
/// each row normalised to sum 1. Max-flow values are exact up to float round-off (double precision throughout).
/// </summary>
internal static class AttentionFlow
{
    /// <summary>
    /// Flow of one self-attention stack of a capture through its first <paramref name="outputLayer"/> layers
    /// (default: all of them), using every core. With <paramref name="rows"/> only those output tokens are computed
    /// (the others stay zero and the result says which rows it holds); <paramref name="progress"/> is called with
    /// (rows done, rows in all) as rows finish, from worker threads.
    /// </summary>
    public static FlowResult Compute(AttentionCapture capture, string stack = AttentionStack.Encoder, int? outputLayer = null,
        IReadOnlyList<int>? rows = null, Action<int, int>? progress = null)
    {
        var s = LayerMatrices.SelfStack(capture, stack);
        int top = outputLayer ?? s.Layers;
        if (top < 1 || top > s.Layers)
            throw new AttnScopeException($"output layer {top} is out of range: flow runs through 1..{s.Layers} layers of {s.Name}");
        int n = s.Queries;
        int[]? subset = null;
        if (rows is not null)
        {
            if (rows.Count == 0) throw new AttnScopeException("flow rows: give at least one output token");
            foreach (var r in rows)
                if ((uint)r >= (uint)n) throw new AttnScopeException($"flow row {r} is out of range: {s.Name} has {n} tokens (0..{n - 1})");
            subset = [.. rows.Distinct().Order()];
        }
        var raw = MaxFlows(FlowNetwork.From(LayerMatrices.Augmented(s, HeadFusion.Mean, 0f, 0, top), top, n), null, subset, progress);
        var rawTensor = new FloatTensor([n, n]);
        for (int k = 0; k < raw.Length; k++) rawTensor.Data[k] = (float)raw[k];
        return new FlowResult(s.Name, top, new FloatTensor([n, n], NormaliseRows(raw, n)), rawTensor, subset);
    }

    /// <summary>
    /// Flow from the output of every layer (through layers 0..l for l = 0..L−1), rows normalised, for animating flow
    /// over layers, and the flow from the top layer with its raw values. Costs about the sum of <see cref="Compute"/>
    /// for each output layer.
    /// </summary>
    public static (FlowLayersResult Layers, FlowResult Top) ComputeLayers(AttentionCapture capture, string stack = AttentionStack.Encoder,
        IReadOnlyList<int>? rows = null, Action<int, int>? progress = null)
    {
        var s = LayerMatrices.SelfStack(capture, stack);
        int n = s.Queries, nn = n * n;
        var flows = new float[(long)s.Layers * nn];
        FlowResult? last = null;
        for (int top = 1; top <= s.Layers; top++)
        {
            int layer = top;
            var f = Compute(capture, stack, top, rows, progress is null ? null : (done, all) => progress((layer - 1) * all + done, s.Layers * all));
            f.Flow.Data.CopyTo(flows, (long)(top - 1) * nn);
            last = f;
        }
        return (new FlowLayersResult(s.Name, new FloatTensor([s.Layers, n, n], flows), last!.Rows), last);
    }

    /// <summary>
    /// Max-flow values [n, n] (output token × input token) of the layered graph built from <paramref name="layers"/>
    /// matrices [layers, n, n] (layer 0 first; rows are queries at a layer's output, columns keys at its input).
    /// </summary>
    public static double[] MaxFlows(ReadOnlySpan<float> matrices, int layers, int tokens, int? threads = null) =>
        MaxFlows(FlowNetwork.From(matrices, layers, tokens), threads);

    /// <inheritdoc cref="MaxFlows(ReadOnlySpan{float}, int, int, int?)"/>
    public static double[] MaxFlows(ReadOnlySpan<double> matrices, int layers, int tokens, int? threads = null) =>
        MaxFlows(FlowNetwork.From(matrices, layers, tokens), threads);

    internal static double[] MaxFlows(FlowNetwork network, int? threads, int[]? rows = null, Action<int, int>? progress = null)
    {
        int n = network.Tokens;
        var raw = new double[n * n];
        var sources = rows ?? Enumerable.Range(0, n).ToArray();
        int done = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads ?? Environment.ProcessorCount) };
        Parallel.For(0, sources.Length, options, () => new FlowSolver(network),
            (k, _, solver) =>
            {
                int s = sources[k];
                solver.SolveSource(s, raw.AsSpan(s * n, n));
                progress?.Invoke(Interlocked.Increment(ref done), sources.Length);
                return solver;
            }, _ => { });
        return raw;
    }

    /// <summary>Rows of <paramref name="raw"/> [n, n] scaled to sum 1 (a row of zeros stays zero).</summary>
    public static float[] NormaliseRows(double[] raw, int n)
    {
        var rows = new float[raw.Length];
        for (int i = 0; i < raw.Length / n; i++)
        {
            double sum = 0;
            for (int j = 0; j < n; j++) sum += raw[i * n + j];
            if (sum > 0)
                for (int j = 0; j < n; j++) rows[i * n + j] = (float)(raw[i * n + j] / sum);
        }
        return rows;
    }
}
