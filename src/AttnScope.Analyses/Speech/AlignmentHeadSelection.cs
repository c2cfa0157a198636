using System.Globalization;
using AttnScope.Capture;
using AttnScope.Sources.Audio;

namespace AttnScope.Analyses.Speech;

/// <summary>
/// One clip's teacher-forced cross attention [layers, heads, n, keys] over prompt + words + end of text (one token per
/// word), with the words' known times in seconds, and the power of each 10 ms frame of its audio
/// (<see cref="SpeechActivity.FrameEnergy"/>) when the timing heuristics are to run.
/// </summary>
internal sealed record AlignmentSample(float[] Cross, int Layers, int Heads, int Rows, int Keys, int PromptLength, int AudioFrames,
    IReadOnlyList<(double Start, double End)> Truth, float[]? FrameEnergy = null, double AudioSeconds = 0)
{
    /// <summary>The speech the detector finds in the clip (needs <see cref="FrameEnergy"/>).</summary>
    public SpeechSegments Speech(SpeechActivityOptions options) =>
        SpeechActivity.Detect(FrameEnergy ?? throw new AttnScopeException("the clip has no frame energies for speech activity"), AudioSeconds, options);

    public void Validate()
    {
        if (Layers < 1 || Heads < 1 || Keys < 1 || PromptLength < 1 || Truth.Count < 1 || Rows != PromptLength + Truth.Count + 1
            || (long)Layers * Heads * Rows * Keys != Cross.Length || AudioFrames < 1 || AudioFrames > Keys)
            throw new AttnScopeException($"alignment sample: {Cross.Length} values for [{Layers}, {Heads}, {Rows}, {Keys}], prompt {PromptLength}, {Truth.Count} words, {AudioFrames} audio frames (rows must be prompt + words + 1)");
    }
}

/// <summary>Absolute errors of word starts and ends, in milliseconds.</summary>
internal sealed record TimingErrors(int Words, double StartMean, double StartMedian, double StartP90, double EndMean, double EndMedian, double EndP90)
{
    public double Mean => (StartMean + EndMean) / 2;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Words} words: start mean {StartMean:F0} ms, median {StartMedian:F0} ms, p90 {StartP90:F0} ms; end mean {EndMean:F0} ms, median {EndMedian:F0} ms, p90 {EndP90:F0} ms");

    public static TimingErrors Of(IEnumerable<((double Start, double End)[] Predicted, IReadOnlyList<(double Start, double End)> Truth)> clips)
    {
        var s = new List<double>();
        var e = new List<double>();
        foreach (var (p, t) in clips)
        {
            if (p.Length != t.Count) throw new AttnScopeException($"{p.Length} predicted words for {t.Count} true ones");
            for (int i = 0; i < p.Length; i++) { s.Add(Math.Abs(p[i].Start - t[i].Start) * 1000); e.Add(Math.Abs(p[i].End - t[i].End) * 1000); }
        }
        if (s.Count == 0) throw new AttnScopeException("no words to score");
        return new TimingErrors(s.Count, s.Average(), Quantile(s, 0.5), Quantile(s, 0.9), e.Average(), Quantile(e, 0.5), Quantile(e, 0.9));
    }

    /// <summary>Linear-interpolated quantile (numpy's default).</summary>
    public static double Quantile(IReadOnlyList<double> values, double q)
    {
        var v = values.Order().ToArray();
        double pos = q * (v.Length - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(lo + 1, v.Length - 1);
        return v[lo] + (v[hi] - v[lo]) * (pos - lo);
    }
}

/// <summary>The heads chosen and each head's own score (mean absolute start/end error in ms), best first.</summary>
internal sealed record HeadSelection(IReadOnlyList<(int Layer, int Head)> Heads, IReadOnlyList<((int Layer, int Head) Head, double ErrorMs)> Ranking,
    IReadOnlyList<(int K, double ErrorMs)> TopK);

/// <summary>
/// Chooses alignment heads as Whisper's authors did: on clips whose word times are known, each decoder cross-attention
/// head alone drives <see cref="WordAlignment"/>'s DTW and is scored by the mean absolute error of the word starts and
/// ends; the heads are ranked, and the number k of top heads whose mean gives the smallest error on the same clips is
/// kept. Score on a validation split and measure on a separate test split.
/// </summary>
internal static class AlignmentHeadSelection
{
    /// <summary>Word (start, end) in seconds from the DTW of <paramref name="heads"/>: word k starts where the path
    /// first reaches the row that predicts it and ends where the next row starts (Whisper's timing).</summary>
    public static (double Start, double End)[] WordTimes(AlignmentSample s, IReadOnlyList<(int Layer, int Head)> heads)
    {
        ArgumentNullException.ThrowIfNull(s);
        s.Validate();
        foreach (var (l, h) in heads)
            if (l < 0 || l >= s.Layers || h < 0 || h >= s.Heads) throw new AttnScopeException($"head {l},{h} is not in {s.Layers} layers × {s.Heads} heads");
        int K = s.Truth.Count;
        var (_, path) = WordAlignment.AlignRows(s.Cross, s.Heads, s.Rows, s.Keys, s.AudioFrames, s.PromptLength - 1, K + 1, heads);
        var starts = WordAlignment.RowStarts(path, K + 1);
        return Enumerable.Range(0, K).Select(k => (starts[k] * SpeechLayout.FrameSeconds, starts[k + 1] * SpeechLayout.FrameSeconds)).ToArray();
    }

    /// <summary>The baseline: the words spread evenly over [first true start, last true end] (the true speech span).</summary>
    public static (double Start, double End)[] Uniform(IReadOnlyList<(double Start, double End)> truth)
    {
        ArgumentNullException.ThrowIfNull(truth);
        if (truth.Count == 0) throw new AttnScopeException("no words");
        double a = truth[0].Start, b = truth[^1].End, w = (b - a) / truth.Count;
        return Enumerable.Range(0, truth.Count).Select(k => (a + k * w, a + (k + 1) * w)).ToArray();
    }

    public static TimingErrors Measure(IReadOnlyList<AlignmentSample> samples, IReadOnlyList<(int Layer, int Head)> heads) =>
        TimingErrors.Of(samples.Select(s => (WordTimes(s, heads), s.Truth)));

    public static TimingErrors MeasureUniform(IReadOnlyList<AlignmentSample> samples) =>
        TimingErrors.Of(samples.Select(s => (Uniform(s.Truth), s.Truth)));

    public static List<(int Layer, int Head)> AllHeads(int layers, int heads) =>
        [.. Enumerable.Range(0, layers).SelectMany(l => Enumerable.Range(0, heads).Select(h => (l, h)))];

    /// <summary>Ranks every head by its own alignment error on <paramref name="samples"/> and keeps the best top-k (k ≤
    /// <paramref name="maxHeads"/>); word times come from <paramref name="times"/> (default: raw DTW, <see cref="WordTimes"/>).</summary>
    public static HeadSelection Select(IReadOnlyList<AlignmentSample> samples, int maxHeads = 8,
        Func<AlignmentSample, IReadOnlyList<(int Layer, int Head)>, (double Start, double End)[]>? times = null)
    {
        times ??= WordTimes;
        TimingErrors MeasureWith(IReadOnlyList<(int Layer, int Head)> heads) =>
            TimingErrors.Of(samples.Select(s => (times(s, heads), s.Truth)));
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0) throw new AttnScopeException("no clips to choose alignment heads on");
        if (maxHeads < 1) throw new AttnScopeException($"at most {maxHeads} heads: must be at least 1");
        int L = samples[0].Layers, H = samples[0].Heads;
        if (samples.Any(s => s.Layers != L || s.Heads != H)) throw new AttnScopeException("the clips come from models of different shapes");
        var ranking = AllHeads(L, H).Select(h => (Head: h, ErrorMs: MeasureWith([h]).Mean))
            .OrderBy(x => x.ErrorMs).ThenBy(x => x.Head.Item1).ThenBy(x => x.Head.Item2).ToList();
        var topK = new List<(int, double)>();
        for (int k = 1; k <= Math.Min(maxHeads, ranking.Count); k++)
            topK.Add((k, MeasureWith(ranking.Take(k).Select(r => r.Head).ToList()).Mean));
        int best = topK.MinBy(t => t.Item2).Item1;
        return new HeadSelection(ranking.Take(best).Select(r => r.Head).ToList(), ranking, topK);
    }
}
