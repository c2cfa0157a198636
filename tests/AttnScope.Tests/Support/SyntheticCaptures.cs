using AttnScope.Capture;

namespace AttnScope.Tests.Support;

/// <summary>Captures built directly in memory: realistic-looking tokens and known attention values.</summary>
public static class SyntheticCaptures
{
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

    private static readonly string[] Words =
    [
        "the", "cat", "##s", "sat", "on", "a", "mat", "while", "ca", "##fé", "owners", "talk", "##ed", "about",
        "naïve", "ré", "##sumé", "北京", "東京", "の", "天気", "weather", "forecast", "##ing", ",", "and", "über",
        "señor", "!", "it", "was", "really", "extraordinarily", "long", "jalapeño", "Zürich", "Ångström", ".",
    ];

    /// <summary>[CLS] w1 .. wn [SEP] (and sentence B after the middle [SEP] when pair is set).</summary>
    public static List<CaptureToken> Tokens(int count, bool pair = false)
    {
        var list = new List<CaptureToken>(count);
        int mid = pair ? count / 2 : -1;
        int pos = 0;
        for (int i = 0; i < count; i++)
        {
            var seg = pair && i > mid ? Segment.B : Segment.A;
            if (i == 0) list.Add(new CaptureToken("[CLS]", 101, -1, -1, Segment.A, true));
            else if (i == count - 1 || i == mid) list.Add(new CaptureToken("[SEP]", 102, -1, -1, seg, true));
            else
            {
                var w = Words[(i * 7 + i / 5) % Words.Length];
                list.Add(new CaptureToken(w, 1000 + i, pos, pos + w.Length, seg, false));
                pos += w.Length + 1;
            }
        }
        return list;
    }

    /// <summary>Key each query attends to in <see cref="OneHot"/>.</summary>
    public static int Target(int query, int n) => (query * 3 + 1) % n;

    /// <summary>Every head of every layer: query i attends only to key (i·3 + 1) mod n.</summary>
    public static AttentionCapture OneHot(int n, int layers = 1, int heads = 1, string model = "synthetic")
    {
        var t = new FloatTensor([layers, heads, n, n]);
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
                for (int q = 0; q < n; q++)
                    t[l, h, q, Target(q, n)] = 1f;
        return Make(Tokens(n), t, model);
    }

    /// <summary>Smooth, realistic-looking attention (softmax of a few patterns), deterministic.</summary>
    public static AttentionCapture Realistic(int n, int layers = 2, int heads = 4, bool pair = false, string model = "minilm")
    {
        var t = new FloatTensor([layers, heads, n, n]);
        var rng = new Random(n * 31 + heads);
        var scores = new double[n];
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
                for (int q = 0; q < n; q++)
                {
                    double max = double.NegativeInfinity;
                    for (int k = 0; k < n; k++)
                    {
                        double s = rng.NextDouble() * 0.8;
                        if (h % 4 == 0 && k == q - 1) s += 4;            // previous token
                        if (h % 4 == 1 && (k == 0 || k == n - 1)) s += 3; // [CLS] / [SEP]
                        if (h % 4 == 2) s -= Math.Abs(k - q) * 0.3;      // local window
                        if (h % 4 == 3 && k == q) s += 3;                // self
                        scores[k] = s;
                        max = Math.Max(max, s);
                    }
                    double sum = 0;
                    for (int k = 0; k < n; k++) sum += scores[k] = Math.Exp(scores[k] - max);
                    for (int k = 0; k < n; k++) t[l, h, q, k] = (float)(scores[k] / sum);
                }
        return Make(Tokens(n, pair), t, model);
    }

    public static AttentionCapture Make(List<CaptureToken> tokens, FloatTensor attention, string model = "synthetic") =>
        new(new CaptureMetadata { ModelId = model, Architecture = "bert", Source = "managed" }, tokens,
            [new AttentionStack(AttentionStack.Encoder, attention)]);
}
