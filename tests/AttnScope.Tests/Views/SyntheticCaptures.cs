using AttnScope.Capture;

namespace AttnScope.Tests.Views;

/// <summary>Hand-made captures for view tests: realistic-looking tokens and known attention patterns.</summary>
internal static class SyntheticCaptures
{
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
