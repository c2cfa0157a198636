using AttnScope.Training.Data;

namespace AttnScope.Training.Metrics;

/// <summary>Word alignments read off cross attention: for each target word, the source word with the most attention
/// (sub-word pieces summed per source word and averaged per target word).</summary>
/// <remarks>One link per target word that has pieces, ordered by target word; ties go to the lower source word.
/// Target words whose pieces attend to no real source word (all weight on specials) get no link.</remarks>
internal static class AttentionAligner
{
    /// <param name="cross">Row-major [targetPieces, sourcePieces] attention of one head or a head average.</param>
    /// <param name="sourceWordOfPiece">Word index per source piece; -1 for specials (BOS/EOS), which are ignored.</param>
    /// <param name="targetWordOfPiece">Word index per target piece; -1 for specials.</param>
    public static IReadOnlyList<WordAlignment> Align(ReadOnlySpan<float> cross, int[] sourceWordOfPiece, int[] targetWordOfPiece)
    {
        ArgumentNullException.ThrowIfNull(sourceWordOfPiece);
        ArgumentNullException.ThrowIfNull(targetWordOfPiece);
        int sp = sourceWordOfPiece.Length, tp = targetWordOfPiece.Length;
        if (cross.Length != sp * tp)
            throw new ArgumentException($"cross attention has {cross.Length} values; {tp} target × {sp} source pieces need {sp * tp}", nameof(cross));
        int sourceWords = sourceWordOfPiece.Length == 0 ? 0 : sourceWordOfPiece.Max() + 1;
        int targetWords = targetWordOfPiece.Length == 0 ? 0 : targetWordOfPiece.Max() + 1;
        var links = new List<WordAlignment>();
        if (sourceWords == 0) return links;
        var mass = new double[targetWords, sourceWords];
        var pieces = new int[targetWords];
        for (int t = 0; t < tp; t++)
        {
            int tw = targetWordOfPiece[t];
            if (tw < 0) continue;
            pieces[tw]++;
            var row = cross.Slice(t * sp, sp);
            for (int s = 0; s < sp; s++)
            {
                int sw = sourceWordOfPiece[s];
                if (sw >= 0) mass[tw, sw] += row[s];
            }
        }
        for (int tw = 0; tw < targetWords; tw++)
        {
            if (pieces[tw] == 0) continue;
            int best = -1;
            double bestMass = 0;
            for (int sw = 0; sw < sourceWords; sw++)
                if (mass[tw, sw] > bestMass) { bestMass = mass[tw, sw]; best = sw; }
            if (best >= 0) links.Add(new WordAlignment(best, tw));
        }
        return links;
    }
}
