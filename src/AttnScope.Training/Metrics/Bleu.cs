using AttnScope.Capture;

namespace AttnScope.Training.Metrics;

/// <summary>Corpus BLEU as sacreBLEU computes it by default (13a tokenization, 4-grams, exponential brevity penalty,
/// one reference per segment), 0–100. sacreBLEU's default smoothing is 'exp' (mteval's): it changes the score only
/// when some n-gram order has no match at all in the whole corpus, where an unsmoothed BLEU would be 0; pass
/// <see cref="BleuSmoothing.None"/> for the unsmoothed value.</summary>
internal sealed record BleuScore(double Score, double[] Precisions, double BrevityPenalty, int HypothesisLength, int ReferenceLength);

/// <summary>How an n-gram order with no matches is treated (sacreBLEU's smooth_method 'exp' or 'none').</summary>
internal enum BleuSmoothing
{
    /// <summary>sacreBLEU's default: the k-th order with no match gets precision 1 / (2^k · total).</summary>
    Exp,
    /// <summary>No smoothing: any order with no match makes the score 0.</summary>
    None,
}

internal static class Bleu
{
    public const int MaxOrder = 4;

    /// <summary>sacreBLEU's default corpus BLEU. An empty corpus (no segments) scores 0 with brevity penalty 1;
    /// hypothesis and reference counts must match.</summary>
    public static BleuScore Corpus(IReadOnlyList<string> hypotheses, IReadOnlyList<string> references)
        => Corpus(hypotheses, references, BleuSmoothing.Exp);

    public static BleuScore Corpus(IReadOnlyList<string> hypotheses, IReadOnlyList<string> references, BleuSmoothing smoothing)
    {
        ArgumentNullException.ThrowIfNull(hypotheses);
        ArgumentNullException.ThrowIfNull(references);
        if (hypotheses.Count != references.Count)
            throw new AttnScopeException($"BLEU needs one reference per hypothesis: {hypotheses.Count} hypotheses, {references.Count} references");
        var correct = new long[MaxOrder];
        var total = new long[MaxOrder];
        long sysLen = 0, refLen = 0;
        for (int s = 0; s < hypotheses.Count; s++)
        {
            var hyp = Tokenizer13a.Tokenize(hypotheses[s] ?? throw new AttnScopeException($"hypothesis {s} is missing"));
            var reference = Tokenizer13a.Tokenize(references[s] ?? throw new AttnScopeException($"reference {s} is missing"));
            sysLen += hyp.Length;
            refLen += reference.Length;
            for (int n = 1; n <= MaxOrder; n++)
            {
                var refCounts = NGramCounts(reference, n);
                foreach (var (gram, count) in NGramCounts(hyp, n))
                {
                    total[n - 1] += count;
                    if (refCounts.TryGetValue(gram, out var r)) correct[n - 1] += Math.Min(count, r);
                }
            }
        }
        return FromStatistics(correct, total, sysLen, refLen, smoothing);
    }

    /// <summary>The score from summed statistics, following sacreBLEU's compute_bleu step by step.</summary>
    internal static BleuScore FromStatistics(long[] correct, long[] total, long sysLen, long refLen, BleuSmoothing smoothing)
    {
        double bp = 1.0;
        if (sysLen < refLen) bp = sysLen > 0 ? Math.Exp(1.0 - (double)refLen / sysLen) : 0.0;
        var precisions = new double[MaxOrder];
        if (correct.All(c => c == 0)) return new BleuScore(0.0, precisions, bp, (int)sysLen, (int)refLen);
        double smooth = 1.0;
        for (int n = 0; n < MaxOrder; n++)
        {
            if (total[n] == 0) break;
            if (correct[n] == 0)
            {
                if (smoothing == BleuSmoothing.Exp)
                {
                    smooth *= 2;
                    precisions[n] = 100.0 / (smooth * total[n]);
                }
            }
            else precisions[n] = 100.0 * correct[n] / total[n];
        }
        double logSum = 0;
        bool zero = false;
        foreach (var p in precisions)
        {
            if (p == 0) { zero = true; break; }
            logSum += Math.Log(p);
        }
        // sacreBLEU floors log(0) at -9999999999, which underflows the exponential to exactly 0.
        double score = zero ? 0.0 : bp * Math.Exp(logSum / MaxOrder);
        return new BleuScore(score, precisions, bp, (int)sysLen, (int)refLen);
    }

    private static Dictionary<string, int> NGramCounts(string[] tokens, int n)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i + n <= tokens.Length; i++)
        {
            var gram = string.Join(' ', tokens, i, n);
            counts[gram] = counts.GetValueOrDefault(gram) + 1;
        }
        return counts;
    }
}
