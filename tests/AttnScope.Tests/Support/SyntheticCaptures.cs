using AttnScope.Capture;

namespace AttnScope.Tests.Support;

/// <summary>Small captures built directly in memory, with known values.</summary>
public static class SyntheticCaptures
{
    public static List<CaptureToken> Tokens(int n, bool pair = false)
    {
        var list = new List<CaptureToken>();
        for (int i = 0; i < n; i++)
        {
            bool special = i == 0 || i == n - 1;
            var seg = pair && i > n / 2 ? Segment.B : Segment.A;
            list.Add(new CaptureToken(special ? (i == 0 ? "[CLS]" : "[SEP]") : $"tok{i}", 1000 + i, special ? -1 : i * 4, special ? -1 : i * 4 + 3, seg, special));
        }
        return list;
    }

    /// <summary>Random row-stochastic attention [layers, heads, n, n].</summary>
    public static FloatTensor RandomAttention(int layers, int heads, int n, int seed, int? keys = null)
    {
        var rng = new Random(seed);
        int k = keys ?? n;
        var t = new FloatTensor([layers, heads, n, k]);
        for (int row = 0; row < layers * heads * n; row++)
        {
            var span = t.Data.AsSpan(row * k, k);
            float sum = 0;
            for (int j = 0; j < k; j++) { span[j] = (float)rng.NextDouble() + 1e-3f; sum += span[j]; }
            for (int j = 0; j < k; j++) span[j] /= sum;
        }
        return t;
    }

    public static FloatTensor Random(int[] shape, int seed)
    {
        var rng = new Random(seed);
        var t = new FloatTensor(shape);
        for (int i = 0; i < t.Data.Length; i++) t.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        return t;
    }

    public static AttentionCapture Encoder(int layers, int heads, int n, int seed = 1, bool qkv = false)
    {
        var stack = new AttentionStack(AttentionStack.Encoder, RandomAttention(layers, heads, n, seed));
        if (qkv)
        {
            stack = new AttentionStack(AttentionStack.Encoder, stack.Attention)
            {
                Query = Random([layers, heads, n, 4], seed + 1),
                Key = Random([layers, heads, n, 4], seed + 2),
                Value = Random([layers, heads, n, 4], seed + 3),
                Scores = Random([layers, heads, n, n], seed + 4),
            };
        }
        var meta = new CaptureMetadata { ModelId = "synthetic", Architecture = "bert", Source = "managed", Texts = ["synthetic text"] };
        return new AttentionCapture(meta, Tokens(n), [stack]);
    }
}
