namespace AttnScope.Training.Metrics;

/// <summary>Corpus BLEU as sacreBLEU computes it by default (13a tokenization, 4-grams, exponential brevity penalty,
/// no smoothing at corpus level), 0–100.</summary>
public sealed record BleuScore(double Score, double[] Precisions, double BrevityPenalty, int HypothesisLength, int ReferenceLength);

public static class Bleu
{
    public static BleuScore Corpus(IReadOnlyList<string> hypotheses, IReadOnlyList<string> references)
        => throw new NotImplementedException("built by the corpus work");
}
