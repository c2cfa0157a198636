using System.Globalization;
using AttnScope.Capture;

namespace AttnScope.Analyses.Speech;

/// <summary>Which post-DTW heuristics <see cref="TimingHeuristics.Apply"/> runs, and their settings (the defaults are
/// the grid point <see cref="AlignmentEvaluation.Choose"/> picked on the validation clips of the committed tiny Whisper's run).</summary>
internal sealed record TimingOptions
{
    /// <summary>(d) Move each boundary between consecutive words into a detected pause that lies between them.</summary>
    public bool PauseBoundaries { get; init; } = true;
    /// <summary>(a) Cut words longer than <see cref="LongWordFactor"/> × the median word duration at the side that touches a pause or the clip's edge.</summary>
    public bool LongWordCut { get; init; } = true;
    public double LongWordFactor { get; init; } = 1.5;
    /// <summary>(c) Move starts and ends to the nearest speech onset / offset within <see cref="SnapWindow"/> s (and out of silence).</summary>
    public bool Snap { get; init; } = true;
    public double SnapWindow { get; init; } = 0.3;
    /// <summary>(b) The speech-activity detector the others read.</summary>
    public SpeechActivityOptions Activity { get; init; } = new();

    public static TimingOptions Off { get; } = new() { PauseBoundaries = false, LongWordCut = false, Snap = false };

    public bool Any => PauseBoundaries || LongWordCut || Snap;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"pause boundaries {(PauseBoundaries ? "on" : "off")}, long-word cut {(LongWordCut ? $"×{LongWordFactor:0.##}" : "off")}, snap {(Snap ? $"±{SnapWindow:0.###} s" : "off")}, activity threshold {Activity.ThresholdRatio:0.##}");
}

/// <summary>
/// Heuristics applied to word times after DTW, in the spirit of Whisper's timing.py (long words cut at pauses) and of
/// later practice (whisper-timestamped: speech activity, boundaries moved into silences), each switchable in
/// <see cref="TimingOptions"/>. Times are seconds; words are (start, end) in order.
/// </summary>
internal static class TimingHeuristics
{
    /// <summary>Shortest word the heuristics leave (one encoder frame).</summary>
    public const double MinWord = 0.02;

    public static (double Start, double End)[] Apply(IReadOnlyList<(double Start, double End)> words, SpeechSegments speech, TimingOptions options)
    {
        ArgumentNullException.ThrowIfNull(words);
        ArgumentNullException.ThrowIfNull(speech);
        ArgumentNullException.ThrowIfNull(options);
        var w = words.ToArray();
        if (w.Length == 0) return w;
        if (options.PauseBoundaries) w = MoveBoundariesIntoPauses(w, speech);
        if (options.LongWordCut) w = CutLongWords(w, speech, options.LongWordFactor);
        if (options.Snap) w = SnapToSpeech(w, speech, options.SnapWindow);
        return Tidy(w, speech.Seconds);
    }

    /// <summary>
    /// (d) A small dynamic programme matches boundaries (between word j and j + 1, at the middle of end j and start
    /// j + 1) to detected pauses, monotone and one to one, a pause eligible only if it lies inside the two words' joint
    /// extent; it matches as many as it can, then the closest. A matched boundary becomes the pause: word j ends at its
    /// start, word j + 1 starts at its end.
    /// </summary>
    public static (double Start, double End)[] MoveBoundariesIntoPauses(IReadOnlyList<(double Start, double End)> words, SpeechSegments speech)
    {
        var w = words.ToArray();
        var pauses = speech.Pauses().ToArray();
        int B = w.Length - 1, P = pauses.Length;
        if (B < 1 || P < 1) return w;
        double Gain(int j, int p)
        {
            var (ps, pe) = pauses[p];
            if (ps < w[j].Start || pe > w[j + 1].End) return double.NegativeInfinity;
            double b = (w[j].End + w[j + 1].Start) / 2, c = (ps + pe) / 2;
            return 1000 - Math.Abs(b - c);
        }
        var f = new double[B + 1, P + 1];
        var move = new byte[B + 1, P + 1]; // 0 skip boundary, 1 skip pause, 2 match
        for (int j = 0; j <= B; j++)
            for (int p = 0; p <= P; p++)
            {
                if (j == 0 || p == 0) continue;
                double best = f[j - 1, p]; byte m = 0;
                if (f[j, p - 1] > best) { best = f[j, p - 1]; m = 1; }
                double g = Gain(j - 1, p - 1);
                if (!double.IsNegativeInfinity(g) && f[j - 1, p - 1] + g > best) { best = f[j - 1, p - 1] + g; m = 2; }
                f[j, p] = best; move[j, p] = m;
            }
        for (int j = B, p = P; j > 0 && p > 0;)
        {
            switch (move[j, p])
            {
                case 2:
                    w[j - 1].End = pauses[p - 1].Start;
                    w[j].Start = pauses[p - 1].End;
                    j--; p--; break;
                case 1: p--; break;
                default: j--; break;
            }
        }
        return w;
    }

    /// <summary>
    /// (a) Words longer than <paramref name="factor"/> × the median duration (the median capped at 0.7 s, as Whisper
    /// does) are cut to that length at the side that touches silence: the side whose time lies outside detected
    /// speech, else the clip's edge for the first (start) and last (end) word; a long word touching neither is kept.
    /// </summary>
    public static (double Start, double End)[] CutLongWords(IReadOnlyList<(double Start, double End)> words, SpeechSegments speech, double factor)
    {
        var w = words.ToArray();
        var durations = w.Select(x => x.End - x.Start).Where(d => d > 0).ToList();
        if (durations.Count == 0) return w;
        double max = factor * Math.Min(0.7, TimingErrors.Quantile(durations, 0.5));
        for (int i = 0; i < w.Length; i++)
        {
            if (w[i].End - w[i].Start <= max) continue;
            bool startSilent = !speech.IsSpeech(w[i].Start), endSilent = !speech.IsSpeech(Math.Max(w[i].Start, w[i].End - 1e-6));
            bool cutStart = (startSilent && !endSilent) || (startSilent == endSilent && i == 0);
            bool cutEnd = !cutStart && (endSilent || i == w.Length - 1);
            if (cutStart) w[i].Start = w[i].End - max;
            else if (cutEnd) w[i].End = w[i].Start + max;
        }
        return w;
    }

    /// <summary>
    /// (c) A start in silence moves to the next speech onset (if before the word's end), else to the nearest onset
    /// within <paramref name="window"/> s; an end in silence moves back to the previous offset (if after the start),
    /// else to the nearest offset within the window.
    /// </summary>
    public static (double Start, double End)[] SnapToSpeech(IReadOnlyList<(double Start, double End)> words, SpeechSegments speech, double window)
    {
        var w = words.ToArray();
        if (speech.Segments.Count == 0) return w;
        var onsets = speech.Segments.Select(s => s.Start).ToArray();
        var offsets = speech.Segments.Select(s => s.End).ToArray();
        for (int i = 0; i < w.Length; i++)
        {
            var (s, e) = w[i];
            double ns = s, ne = e;
            if (!speech.IsSpeech(s)) { double next = onsets.Where(x => x >= s).DefaultIfEmpty(double.NaN).Min(); if (next < e) ns = next; }
            else if (Nearest(onsets, s, window) is double o2 && o2 < e) ns = o2;
            if (!speech.IsSpeech(Math.Max(s, e - 1e-6))) { double prev = offsets.Where(x => x <= e).DefaultIfEmpty(double.NaN).Max(); if (prev > ns) ne = prev; }
            else if (Nearest(offsets, e, window) is double o3 && o3 > ns) ne = o3;
            w[i] = (ns, ne);
        }
        return w;
    }

    private static double? Nearest(double[] points, double t, double window)
    {
        double? best = null;
        foreach (var p in points)
            if (Math.Abs(p - t) <= window && (best is null || Math.Abs(p - t) < Math.Abs(best.Value - t))) best = p;
        return best;
    }

    /// <summary>(e) The attention-free control: <paramref name="count"/> words spread evenly over the detected speech span.</summary>
    public static (double Start, double End)[] EvenOverSpeech(int count, SpeechSegments speech)
    {
        ArgumentNullException.ThrowIfNull(speech);
        if (count < 1) throw new AttnScopeException("no words to place");
        var (a, b) = speech.Span;
        double step = (b - a) / count;
        return Enumerable.Range(0, count).Select(k => (a + k * step, a + (k + 1) * step)).ToArray();
    }

    /// <summary>Keeps words ordered, non-overlapping, at least <see cref="MinWord"/> long and inside [0, seconds].</summary>
    public static (double Start, double End)[] Tidy(IReadOnlyList<(double Start, double End)> words, double seconds)
    {
        var w = words.ToArray();
        double limit = Math.Max(seconds, w.Length * MinWord);
        for (int i = 0; i < w.Length; i++)
        {
            double lo = i == 0 ? 0 : w[i - 1].End;
            w[i].Start = Math.Max(w[i].Start, lo);
            w[i].End = Math.Max(w[i].End, w[i].Start + MinWord);
        }
        for (int i = w.Length - 1; i >= 0; i--)
        {
            double hi = i == w.Length - 1 ? limit : w[i + 1].Start;
            w[i].End = Math.Min(w[i].End, hi);
            w[i].Start = Math.Min(w[i].Start, w[i].End - MinWord);
        }
        return w;
    }
}
