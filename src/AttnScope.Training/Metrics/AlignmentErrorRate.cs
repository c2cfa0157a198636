using AttnScope.Training.Data;

namespace AttnScope.Training.Metrics;

/// <summary>Och and Ney's alignment error rate: 1 − (|A∩S| + |A∩P|) / (|A| + |S|), with sure links S ⊆ possible P.</summary>
public static class AlignmentErrorRate
{
    public static double Compute(IReadOnlyList<IReadOnlyList<WordAlignment>> predicted, IReadOnlyList<IReadOnlyList<WordAlignment>> gold)
        => throw new NotImplementedException("built by the corpus work");
}
