using AttnScope.Capture;

namespace AttnScope.Sources;

/// <summary>
/// Checks the numbers a model produced before they become a capture: every attention row finite and summing to 1
/// (within <see cref="RowSumTolerance"/>), the last hidden state and any queries, keys, values and scores finite.
/// NaN or infinite weights, a negative layer_norm_eps or huge embeddings otherwise give a capture whose attention
/// is silently wrong; here they are one line saying what is wrong and where.
/// </summary>
internal static class OutputCheck
{
    /// <summary>How far an attention row's sum may be from 1 (float16 models round each weight to about 5e-4).</summary>
    public const float RowSumTolerance = 5e-3f;

    /// <summary>Throws an <see cref="AttnScopeException"/> describing the first invalid number in <paramref name="result"/>.</summary>
    public static void Verify(SequenceAttention result, string model, FloatTensor? logits = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        string Wrong(string what) =>
            $"model '{model}' produced invalid numbers: {what}; its weights may hold NaN or infinite values, or its config " +
            "(layer_norm_eps, sizes) may not match the weights; no capture was written";
        var att = result.Attention;
        if (att.Rank != 4) throw new AttnScopeException(Wrong($"attention has shape {att.ShapeText}"));
        int layers = att.Shape[0], heads = att.Shape[1], queries = att.Shape[2], keys = att.Shape[3];
        var data = att.Data;
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
                for (int q = 0; q < queries; q++)
                {
                    var row = data.AsSpan(((l * heads + h) * queries + q) * keys, keys);
                    double sum = 0;
                    foreach (var v in row)
                    {
                        if (!float.IsFinite(v) || v < 0)
                            throw new AttnScopeException(Wrong($"attention of layer {l}, head {h}, query {q} holds {v}"));
                        sum += v;
                    }
                    if (Math.Abs(sum - 1) > RowSumTolerance)
                        throw new AttnScopeException(Wrong($"attention of layer {l}, head {h}, query {q} sums to {sum:G4}, not 1"));
                }
        Finite(result.LastHidden, "the last hidden state", Wrong);
        Finite(result.Query, "the queries", Wrong);
        Finite(result.Key, "the keys", Wrong);
        Finite(result.Value, "the values", Wrong);
        Finite(result.Scores, "the attention scores", Wrong);
        Finite(logits, "the logits", Wrong);
    }

    private static void Finite(FloatTensor? t, string what, Func<string, string> wrong)
    {
        if (t is null) return;
        var data = t.Data;
        for (int i = 0; i < data.Length; i++)
            if (!float.IsFinite(data[i]))
                throw new AttnScopeException(wrong($"{what}: {data[i]} at element {i} of {t.ShapeText}"));
    }
}
