using AttnScope.Analyses.Speech;

namespace AttnScope.Tests.Speech;

/// <summary>
/// The post-DTW timing heuristics on inputs whose right answer is known by construction: detected speech given as
/// segments, word times displaced in the ways raw DTW displaces them (the first word taking in the leading silence, a
/// pause given to one neighbour).
/// </summary>
public class TimingHeuristicsTests
{
    private static SpeechSegments Speech(double seconds, params (double, double)[] segs) => new(segs, seconds);

    private static void Near((double Start, double End) expected, (double Start, double End) got, double tol = 1e-9)
    {
        Assert.True(Math.Abs(expected.Start - got.Start) <= tol && Math.Abs(expected.End - got.End) <= tol, $"expected {expected}, got {got}");
    }

    [Fact]
    public void BoundariesMoveIntoThePausesBetweenTheirWords()
    {
        var speech = Speech(2.0, (0.2, 0.6), (0.8, 1.1), (1.3, 1.9));
        (double, double)[] dtw = [(0, 0.75), (0.75, 1.35), (1.35, 2.0)];
        var w = TimingHeuristics.MoveBoundariesIntoPauses(dtw, speech);
        Near((0, 0.6), w[0]);
        Near((0.8, 1.1), w[1]);
        Near((1.3, 2.0), w[2]);
    }

    [Fact]
    public void APauseInsideAWordIsLeftWhenACloserPauseServesTheBoundary()
    {
        // word 1 has a closure (0.95–1.0) inside it; the boundary at 1.32 must take the pause 1.2–1.4, not the closure
        var speech = Speech(2.0, (0.2, 0.6), (0.7, 0.95), (1.0, 1.2), (1.4, 1.9));
        (double, double)[] dtw = [(0.1, 0.66), (0.66, 1.32), (1.32, 1.95)];
        var w = TimingHeuristics.MoveBoundariesIntoPauses(dtw, speech);
        Near((0.1, 0.6), w[0]);
        Near((0.7, 1.2), w[1]);
        Near((1.4, 1.95), w[2]);
        // a pause outside the two words' extent is not taken
        var far = TimingHeuristics.MoveBoundariesIntoPauses([(0.0, 0.3), (0.3, 0.5)], Speech(2.0, (0.0, 0.8), (1.2, 1.5)));
        Near((0.0, 0.3), far[0]);
        Near((0.3, 0.5), far[1]);
    }

    [Fact]
    public void ALongWordIsCutAtTheSideThatTouchesSilence()
    {
        // durations 1.0, 0.2, 0.2, 0.2: median 0.2, longest allowed 0.4 at factor 2
        var speech = Speech(2.0, (0.65, 1.6));
        (double, double)[] dtw = [(0, 1.0), (1.0, 1.2), (1.2, 1.4), (1.4, 1.6)];
        var w = TimingHeuristics.CutLongWords(dtw, speech, 2.0);
        Near((0.6, 1.0), w[0]);
        for (int i = 1; i < 4; i++) Near(dtw[i], w[i]);
        // the last word running into the trailing silence is cut at its end
        var tail = TimingHeuristics.CutLongWords([(0.1, 0.3), (0.3, 0.5), (0.5, 1.5)], Speech(2.0, (0.1, 0.8)), 2.0);
        Near((0.5, 0.9), tail[2]);
        // a long word inside speech on both sides, not at an edge, is kept
        var mid = TimingHeuristics.CutLongWords([(0.1, 0.3), (0.3, 1.3), (1.3, 1.5), (1.5, 1.7)], Speech(2.0, (0.0, 2.0)), 2.0);
        Near((0.3, 1.3), mid[1]);
    }

    [Fact]
    public void StartsAndEndsSnapToSpeechOnsetsAndOffsets()
    {
        var speech = Speech(2.0, (0.3, 0.7), (0.9, 1.4));
        // start in leading silence → next onset; end in the pause → previous offset
        var a = TimingHeuristics.SnapToSpeech([(0.05, 0.8)], speech, 0.1);
        Near((0.3, 0.7), a[0]);
        // start inside speech 80 ms after an onset → the onset (window 0.1); end 60 ms before an offset → the offset
        var b = TimingHeuristics.SnapToSpeech([(0.98, 1.34)], speech, 0.1);
        Near((0.9, 1.4), b[0]);
        // beyond the window nothing moves
        var c = TimingHeuristics.SnapToSpeech([(1.05, 1.2)], speech, 0.1);
        Near((1.05, 1.2), c[0]);
    }

    [Fact]
    public void TheControlSpreadsTheWordsOverTheDetectedSpeech()
    {
        var w = TimingHeuristics.EvenOverSpeech(3, Speech(2.0, (0.3, 0.6), (0.9, 1.2)));
        Near((0.3, 0.6), w[0]);
        Near((0.6, 0.9), w[1]);
        Near((0.9, 1.2), w[2]);
        Near((0, 1.0), TimingHeuristics.EvenOverSpeech(2, Speech(2.0))[0]); // nothing detected: the whole clip
    }

    [Fact]
    public void AllHeuristicsTogetherRecoverWordsSeparatedByPausesFromDisplacedDtwTimes()
    {
        var rng = new Random(11);
        for (int trial = 0; trial < 50; trial++)
        {
            int K = rng.Next(2, 6);
            double t = 0.05 + 0.5 * rng.NextDouble();
            var truth = new List<(double, double)>();
            for (int k = 0; k < K; k++)
            {
                double len = 0.2 + 0.3 * rng.NextDouble();
                truth.Add((t, t + len));
                t += len + 0.08 + 0.3 * rng.NextDouble();
            }
            double seconds = t + 0.2;
            var speech = new SpeechSegments(truth, seconds);
            // raw DTW's displacement: contiguous words, the first from 0, boundaries anywhere inside the pause ± 60 ms,
            // the last running to the end of the clip
            var dtw = new (double, double)[K];
            double prev = 0;
            for (int k = 0; k < K; k++)
            {
                double end = k + 1 < K ? (truth[k].Item2 + truth[k + 1].Item1) / 2 + 0.06 * (2 * rng.NextDouble() - 1) : seconds;
                dtw[k] = (prev, end);
                prev = end;
            }
            var got = TimingHeuristics.Apply(dtw, speech, new TimingOptions());
            for (int k = 0; k < K; k++) Near(truth[k], got[k]);
            // switched off, the times stay as DTW gave them
            var off = TimingHeuristics.Apply(dtw, speech, TimingOptions.Off);
            for (int k = 0; k < K; k++) Near(dtw[k], off[k]);
        }
    }

    [Fact]
    public void TidyKeepsWordsOrderedAndInsideTheClip()
    {
        var w = TimingHeuristics.Tidy([(0.5, 0.4), (0.3, 0.9), (0.95, 3.0)], 2.0);
        for (int i = 0; i < w.Length; i++)
        {
            Assert.True(w[i].End - w[i].Start >= TimingHeuristics.MinWord - 1e-12, $"{w[i]}");
            if (i > 0) Assert.True(w[i].Start >= w[i - 1].End - 1e-12);
        }
        Assert.True(w[^1].End <= 2.0);
    }
}
