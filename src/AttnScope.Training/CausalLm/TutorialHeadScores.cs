using AttnScope.Capture;
using AttnScope.Sources.Transformer;
using AttnScope.Training.Model;

namespace AttnScope.Training.CausalLm;

/// <summary>Per-head scores of one model, [layer][head].</summary>
internal sealed record HeadScores(float[][] Induction, float[][] PreviousToken)
{
    public float MaxInduction => Induction.SelectMany(x => x).Max();
    public float MaxPreviousToken => PreviousToken.SelectMany(x => x).Max();

    /// <summary>The (layer, head) with the highest induction score.</summary>
    public (int Layer, int Head) BestInductionHead()
    {
        (int, int) best = (0, 0);
        for (int l = 0; l < Induction.Length; l++)
            for (int h = 0; h < Induction[l].Length; h++)
                if (Induction[l][h] > Induction[best.Item1][best.Item2]) best = (l, h);
        return best;
    }
}

/// <summary>
/// The induction and previous-token scores of TransformerLens's "Induction heads" tutorial (its
/// <c>induction_score_hook</c> and <c>prev_attn_detector</c>), on its standard test: a batch of random token
/// sequences of length S, each repeated twice after a BOS token, so T = 2S + 1.
/// <list type="bullet">
/// <item><b>induction score</b> = mean of the attention pattern's diagonal at offset 1 − S, i.e. of P[q, q − S + 1]
/// for q = S − 1 … 2S (S + 2 entries), averaged over the batch. For q in the second copy (S + 1 … 2S) key q − S + 1
/// is the token right after the earlier occurrence of the current token. Like the tutorial, the mean also takes the
/// two entries q = S − 1 (key 0, BOS) and q = S (key 1, the first token), which are not induction positions: a head
/// that attends perfectly from every second-copy token but not there scores S/(S + 2).</item>
/// <item><b>previous-token score</b> = mean of the diagonal at offset −1, P[q, q − 1] for q = 1 … T − 1.</item>
/// </list>
/// This is the tutorial's definition, not the head detector's (<c>detect_head</c>, which sums attention on a
/// detection mask and divides by the total attention); both are near 1 for a clean induction head.
/// </summary>
internal static class TutorialHeadScores
{
    /// <summary>Mean of P[q, q − S + 1] over q = S − 1 … T − 1 for one head's pattern [T, T].</summary>
    public static float Induction(ReadOnlySpan<float> pattern, int tokens, int repeatLength)
    {
        CheckPattern(pattern, tokens);
        if (repeatLength < 1 || repeatLength > tokens) throw new AttnScopeException($"repeat length {repeatLength} does not fit {tokens} tokens");
        return DiagonalMean(pattern, tokens, 1 - repeatLength);
    }

    /// <summary>Mean of P[q, q − 1] over q = 1 … T − 1 for one head's pattern [T, T].</summary>
    public static float PreviousToken(ReadOnlySpan<float> pattern, int tokens)
    {
        CheckPattern(pattern, tokens);
        if (tokens < 2) throw new AttnScopeException("the previous-token score needs at least 2 tokens");
        return DiagonalMean(pattern, tokens, -1);
    }

    /// <summary>torch.diagonal(P, offset).mean(): offset &lt; 0 is below the main diagonal (P[q, q + offset]).</summary>
    public static float DiagonalMean(ReadOnlySpan<float> pattern, int tokens, int offset)
    {
        CheckPattern(pattern, tokens);
        double sum = 0;
        int n = 0;
        for (int q = Math.Max(0, -offset); q < tokens && q + offset < tokens; q++, n++) sum += pattern[q * tokens + q + offset];
        if (n == 0) throw new AttnScopeException($"diagonal {offset} of a {tokens} × {tokens} pattern is empty");
        return (float)(sum / n);
    }

    private static void CheckPattern(ReadOnlySpan<float> pattern, int tokens)
    {
        if (tokens < 1 || pattern.Length != (long)tokens * tokens)
            throw new AttnScopeException($"an attention pattern of {pattern.Length} values is not {tokens} × {tokens}");
    }

    /// <summary>
    /// The standard test batch: <paramref name="batch"/> sequences [BOS, r₁ … r_S, r₁ … r_S] with r uniform over
    /// 1 … vocab − 1, from a fixed seed (the same sequences at every checkpoint).
    /// </summary>
    public static int[][] RepeatedTokens(int vocab, int repeatLength, int batch, int seed)
    {
        if (vocab < 2) throw new AttnScopeException("the repeated-token test needs a vocabulary of at least 2 (BOS and one token)");
        if (repeatLength < 1 || batch < 1) throw new AttnScopeException("the repeated-token test needs a repeat length and batch of at least 1");
        var result = new int[batch][];
        for (int b = 0; b < batch; b++)
        {
            var rng = FastRandom.ForStep(seed, b, 7919);
            var ids = new int[2 * repeatLength + 1];
            ids[0] = RepeatedSegmentCorpus.Bos;
            for (int i = 1; i <= repeatLength; i++) ids[i] = ids[i + repeatLength] = 1 + (int)(rng.NextUInt64() % (ulong)(vocab - 1));
            result[b] = ids;
        }
        return result;
    }

    /// <summary>Both scores for every head of <paramref name="model"/>, averaged over the test batch.</summary>
    public static HeadScores Measure(TransformerModel model, int[][] repeatedTokens)
    {
        var s = model.Spec;
        if (repeatedTokens.Length == 0) throw new AttnScopeException("the repeated-token test batch is empty");
        var ind = new double[s.Layers, s.Heads];
        var prev = new double[s.Layers, s.Heads];
        foreach (var ids in repeatedTokens)
        {
            int T = ids.Length;
            if (T % 2 != 1 || T < 3) throw new AttnScopeException($"a repeated-token test sequence has {T} tokens; expected BOS plus two copies");
            int S = (T - 1) / 2;
            var att = model.Forward(new ForwardInput { Ids = ids }).Attention!;
            for (int l = 0; l < s.Layers; l++)
                for (int h = 0; h < s.Heads; h++)
                {
                    var p = att.Data.AsSpan(((l * s.Heads) + h) * T * T, T * T);
                    ind[l, h] += Induction(p, T, S);
                    prev[l, h] += PreviousToken(p, T);
                }
        }
        float[][] Mean(double[,] a) => Enumerable.Range(0, s.Layers)
            .Select(l => Enumerable.Range(0, s.Heads).Select(h => (float)(a[l, h] / repeatedTokens.Length)).ToArray()).ToArray();
        return new HeadScores(Mean(ind), Mean(prev));
    }
}
