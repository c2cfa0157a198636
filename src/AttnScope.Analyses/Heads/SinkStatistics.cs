using AttnScope.Analyses.Results;
using AttnScope.Capture;

namespace AttnScope.Analyses.Heads;

/// <summary>
/// Attention sinks of every head of a stack: <see cref="FirstToken"/>[layer, head] is the mean share of a row's
/// attention on key 0 (the first-token sink of decoder language models), <see cref="TopKey"/>[layer, head] the mean
/// share on each row's largest key, whichever it is. Means run over the rows that can see more than one key:
/// in a causal stack row 0 sees only the first token, so rows 1..n−1 (<see cref="FirstRow"/> = 1); all rows otherwise.
/// </summary>
internal sealed record SinkStatsResult(string Stack, FloatTensor FirstToken, FloatTensor TopKey, int FirstRow, int Rows)
{
    public int Layers => FirstToken.Shape[0];
    public int Heads => FirstToken.Shape[1];
    public float FirstTokenShare(int layer, int head) => FirstToken.Data[layer * Heads + head];
    public float TopKeyShare(int layer, int head) => TopKey.Data[layer * Heads + head];
}

/// <summary>Computes <see cref="SinkStatsResult"/> from a capture's attention (nothing to run beforehand).</summary>
internal static class SinkStatistics
{
    public static SinkStatsResult Compute(AttentionCapture capture, string stack)
    {
        var s = capture.Stack(stack);
        bool causal = s.Name != AttentionStack.Cross && s.Queries == s.Keys && HeadStatistics.IsCausal(s);
        int q = s.Queries, k = s.Keys;
        int first = causal && q > 1 ? 1 : 0;
        int rows = q - first;
        var firstToken = new float[s.Layers * s.Heads];
        var topKey = new float[s.Layers * s.Heads];
        for (int l = 0; l < s.Layers; l++)
            for (int h = 0; h < s.Heads; h++)
            {
                var a = s.Attention.Slice(l, h);
                double f = 0, top = 0;
                for (int i = first; i < q; i++)
                {
                    var row = a.Slice(i * k, k);
                    f += row[0];
                    top += System.Numerics.Tensors.TensorPrimitives.Max(row);
                }
                firstToken[l * s.Heads + h] = (float)(f / rows);
                topKey[l * s.Heads + h] = (float)(top / rows);
            }
        return new SinkStatsResult(stack, new FloatTensor([s.Layers, s.Heads], firstToken), new FloatTensor([s.Layers, s.Heads], topKey), first, rows);
    }
}
