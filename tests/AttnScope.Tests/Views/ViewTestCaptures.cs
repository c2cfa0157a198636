using AttnScope.Capture;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Views;

/// <summary>Captures for the view tests: one-hot attention whose target differs per layer and head.</summary>
public static class ViewTestCaptures
{
    /// <summary>Key that query q attends to in layer l, head h of <see cref="OneHot"/>.</summary>
    public static int Target(int q, int n, int layer, int head) => (q * 3 + 1 + layer + 2 * head) % n;

    public static AttentionCapture OneHot(int n, int layers, int heads, bool pair = false)
    {
        var t = new FloatTensor([layers, heads, n, n]);
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
                for (int q = 0; q < n; q++)
                    t[l, h, q, Target(q, n, l, h)] = 1f;
        return SyntheticCaptures.Make(SyntheticCaptures.Tokens(n, pair), t);
    }

    /// <summary>One-hot attention plus signed pre-softmax scores: +3 at the target, −3 at the key after it, 0 elsewhere.</summary>
    public static AttentionCapture WithScores(int n, int layers, int heads)
    {
        var cap = OneHot(n, layers, heads);
        var scores = new FloatTensor([layers, heads, n, n]);
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
                for (int q = 0; q < n; q++)
                {
                    int k = Target(q, n, l, h);
                    scores[l, h, q, k] = 3f;
                    scores[l, h, q, (k + 1) % n] = -3f;
                }
        var stack = new AttentionStack(AttentionStack.Encoder, cap.Stack("encoder").Attention) { Scores = scores };
        return new AttentionCapture(cap.Metadata, cap.Tokens, [stack]);
    }
}
