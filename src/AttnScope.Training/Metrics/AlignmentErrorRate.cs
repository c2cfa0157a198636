using AttnScope.Capture;
using AttnScope.Training.Data;

namespace AttnScope.Training.Metrics;

/// <summary>Och and Ney's alignment error rate: 1 − (|A∩S| + |A∩P|) / (|A| + |S|), with sure links S ⊆ possible P.</summary>
/// <remarks>Counts are summed over all sentences before dividing (corpus AER). Gold links marked
/// <see cref="WordAlignment.Sure"/> form S; all gold links (sure and possible) form P. The Sure flag of a predicted
/// link is ignored and duplicate links count once. With no predicted and no sure links at all the rate is 0.</remarks>
internal static class AlignmentErrorRate
{
    public static double Compute(IReadOnlyList<IReadOnlyList<WordAlignment>> predicted, IReadOnlyList<IReadOnlyList<WordAlignment>> gold)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(gold);
        if (predicted.Count != gold.Count)
            throw new AttnScopeException($"AER needs one gold alignment per sentence: {predicted.Count} predicted, {gold.Count} gold");
        long a = 0, s = 0, aAndS = 0, aAndP = 0;
        for (int i = 0; i < predicted.Count; i++)
        {
            var sure = new HashSet<(int, int)>();
            var possible = new HashSet<(int, int)>();
            foreach (var link in gold[i])
            {
                possible.Add((link.SourceWord, link.TargetWord));
                if (link.Sure) sure.Add((link.SourceWord, link.TargetWord));
            }
            var links = new HashSet<(int, int)>(predicted[i].Select(l => (l.SourceWord, l.TargetWord)));
            a += links.Count;
            s += sure.Count;
            foreach (var link in links)
            {
                if (sure.Contains(link)) aAndS++;
                if (possible.Contains(link)) aAndP++;
            }
        }
        return a + s == 0 ? 0.0 : 1.0 - (double)(aAndS + aAndP) / (a + s);
    }
}
