using AttnScope.Capture;
using AttnScope.Training.Data;
using AttnScope.Training.Metrics;

namespace AttnScope.Tests.Training;

public class AlignmentMetricsTests
{
    private static WordAlignment S(int s, int t) => new(s, t, true);
    private static WordAlignment P(int s, int t) => new(s, t, false);

    [Fact]
    public void AerOfPerfectAndDisjointPredictions()
    {
        IReadOnlyList<WordAlignment>[] gold = [[S(0, 0), S(1, 1), P(1, 2)]];
        Assert.Equal(0.0, AlignmentErrorRate.Compute([[S(0, 0), S(1, 1)]], gold));
        Assert.Equal(1.0, AlignmentErrorRate.Compute([[S(0, 1), S(1, 0)]], gold));
    }

    [Fact]
    public void AerHandComputed()
    {
        // Sentence 1: gold S = {(0,0),(1,1)}, P = S ∪ {(1,2)}; predicted A = {(0,0),(1,2),(2,2)}
        //   |A∩S| = 1, |A∩P| = 2, |A| = 3, |S| = 2
        // Sentence 2: gold S = {(0,0)}, P = S ∪ {(0,1)}; predicted A = {(0,1)} → |A∩S| = 0, |A∩P| = 1, |A| = 1, |S| = 1
        // Corpus: 1 − (1 + 0 + 2 + 1) / (3 + 1 + 2 + 1) = 1 − 4/7
        IReadOnlyList<WordAlignment>[] gold = [[S(0, 0), S(1, 1), P(1, 2)], [S(0, 0), P(0, 1)]];
        // The Sure flag on predictions is ignored and duplicates count once.
        IReadOnlyList<WordAlignment>[] predicted = [[S(0, 0), P(1, 2), S(2, 2), S(2, 2)], [S(0, 1)]];
        Assert.Equal(1 - 4.0 / 7, AlignmentErrorRate.Compute(predicted, gold), 1e-12);
    }

    [Fact]
    public void AerPossibleOnlyLinksNeitherHelpNorHurtMuch()
    {
        // A link to a possible-only target: |A∩P| = 1, |A| = 1, no sure links → 1 − 1/1 = 0
        Assert.Equal(0.0, AlignmentErrorRate.Compute([[S(0, 0)]], [[P(0, 0)]]));
        Assert.Equal(0.0, AlignmentErrorRate.Compute([[]], [[]]));
        Assert.Throws<AttnScopeException>(() => AlignmentErrorRate.Compute([[]], []));
    }

    [Fact]
    public void AlignerSumsPiecesPerSourceWordAndIgnoresSpecials()
    {
        // Source pieces: <bos>, w0, w1a, w1b, <eos>; target pieces: v0, v1a, v1b, <eos>
        int[] src = [-1, 0, 1, 1, -1];
        int[] tgt = [0, 1, 1, -1];
        float[] cross =
        [
            // v0: the specials take most, but among words w0 (0.3) beats w1 (0.1 + 0.15 = 0.25)
            0.4f, 0.3f, 0.1f, 0.15f, 0.05f,
            // v1a: w0 0.5 vs w1 0.2+0.2=0.4; v1b: w0 0.0 vs w1 0.5+0.3 — averaged over the word: w0 0.25, w1 0.6
            0.0f, 0.5f, 0.2f, 0.2f, 0.1f,
            0.1f, 0.0f, 0.5f, 0.3f, 0.1f,
            // <eos> row is ignored even though it points at w0
            0.0f, 1.0f, 0.0f, 0.0f, 0.0f,
        ];
        var links = AttentionAligner.Align(cross, src, tgt);
        Assert.Equal([new WordAlignment(0, 0), new WordAlignment(1, 1)], links);
    }

    [Fact]
    public void AlignerTiesGoToTheFirstWordAndShapeIsChecked()
    {
        var links = AttentionAligner.Align(new float[] { 0.5f, 0.5f }, [0, 1], [0]);
        Assert.Equal([new WordAlignment(0, 0)], links);
        Assert.Throws<ArgumentException>(() => AttentionAligner.Align(new float[3], [0, 1], [0]));
    }
}
