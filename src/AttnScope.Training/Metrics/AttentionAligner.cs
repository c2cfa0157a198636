using AttnScope.Training.Data;

namespace AttnScope.Training.Metrics;

/// <summary>Word alignments read off cross attention: for each target word, the source word with the most attention
/// (sub-word pieces summed per source word and averaged per target word).</summary>
public static class AttentionAligner
{
    /// <param name="cross">Row-major [targetPieces, sourcePieces] attention of one head or a head average.</param>
    /// <param name="sourceWordOfPiece">Word index per source piece; -1 for specials (BOS/EOS), which are ignored.</param>
    /// <param name="targetWordOfPiece">Word index per target piece; -1 for specials.</param>
    public static IReadOnlyList<WordAlignment> Align(ReadOnlySpan<float> cross, int[] sourceWordOfPiece, int[] targetWordOfPiece)
        => throw new NotImplementedException("built by the corpus work");
}
