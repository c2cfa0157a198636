using AttnScope.Capture;
using AttnScope.Sources.Audio;

namespace AttnScope.Analyses.Speech;

/// <summary>Settings of <see cref="SpeechActivity"/>: the adaptive threshold and the smoothing (in 10 ms mel frames).</summary>
internal sealed record SpeechActivityOptions
{
    /// <summary>Threshold = floor + ratio × (peak − floor), where floor and peak are low and high percentiles of the frame energies.</summary>
    public double ThresholdRatio { get; init; } = 0.15;
    public double FloorQuantile { get; init; } = 0.1;
    public double PeakQuantile { get; init; } = 0.95;
    /// <summary>Below this peak − floor (log-mel units, 0.25 = 10 dB) the whole clip counts as speech (nothing stands out).</summary>
    public double MinContrast { get; init; } = 0.15;
    /// <summary>Frames kept as speech after each active run ends (hangover).</summary>
    public int HangoverFrames { get; init; } = 0;
    /// <summary>Gaps shorter than this are filled (a closure inside a word is not a pause).</summary>
    public int MinPauseFrames { get; init; } = 4;
    /// <summary>Active runs shorter than this are dropped (a click is not speech).</summary>
    public int MinSpeechFrames { get; init; } = 4;
}

/// <summary>Detected speech: segments (start, end) in seconds, ordered and disjoint, within [0, <see cref="Seconds"/>].</summary>
internal sealed record SpeechSegments(IReadOnlyList<(double Start, double End)> Segments, double Seconds)
{
    public bool IsSpeech(double t) => Segments.Any(s => t >= s.Start && t < s.End);

    /// <summary>The silences between consecutive segments (not the leading and trailing silence).</summary>
    public IEnumerable<(double Start, double End)> Pauses()
    {
        for (int i = 1; i < Segments.Count; i++) yield return (Segments[i - 1].End, Segments[i].Start);
    }

    /// <summary>From the first onset to the last offset; the whole clip when nothing was detected.</summary>
    public (double Start, double End) Span => Segments.Count == 0 ? (0, Seconds) : (Segments[0].Start, Segments[^1].End);
}

/// <summary>
/// A speech-activity detector on the log-mel the front end already computed (no other dependency): each 10 ms frame's
/// energy is its power summed over the mel bins, in log units (<see cref="LogMel.FramePower"/>); a frame is active above an adaptive threshold between the clip's noise floor
/// and its peak (low and high percentiles); then a hangover after each active run, short gaps filled, short runs
/// dropped. Only the frames that hold audio are read (Whisper pads the rest with zeros).
/// </summary>
internal static class SpeechActivity
{
    /// <summary>The power of each mel frame that holds audio, in log-mel units (<see cref="LogMel.FramePower"/>).</summary>
    public static float[] FrameEnergy(FloatTensor mel, double audioSeconds) => LogMel.FramePower(mel, audioSeconds);

    public static SpeechSegments Detect(FloatTensor mel, double audioSeconds, SpeechActivityOptions? options = null) =>
        Detect(FrameEnergy(mel, audioSeconds), audioSeconds, options);

    /// <summary>Segments from per-frame energies (frame t covers [t, t + 1) × 10 ms).</summary>
    public static SpeechSegments Detect(IReadOnlyList<float> energy, double audioSeconds, SpeechActivityOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(energy);
        var o = options ?? new SpeechActivityOptions();
        int n = energy.Count;
        double seconds = Math.Max(audioSeconds, 0);
        if (n == 0) return new SpeechSegments([], seconds);
        var values = energy.Select(v => (double)v).ToList();
        double floor = TimingErrors.Quantile(values, o.FloorQuantile), peak = TimingErrors.Quantile(values, o.PeakQuantile);
        if (peak - floor < o.MinContrast) return new SpeechSegments([(0, Math.Min(seconds, n * LogMel.FrameSeconds))], seconds);
        double threshold = floor + o.ThresholdRatio * (peak - floor);
        var active = new bool[n];
        for (int t = 0; t < n; t++) active[t] = values[t] > threshold;
        // hangover: keep a run going a few frames after it ends
        var held = (bool[])active.Clone();
        for (int t = 0; t < n; t++)
            if (active[t] && (t + 1 == n || !active[t + 1]))
                for (int k = 1; k <= o.HangoverFrames && t + k < n; k++) held[t + k] = true;
        var runs = Runs(held);
        // fill short gaps between runs, then drop short runs
        var merged = new List<(int Start, int End)>();
        foreach (var r in runs)
        {
            if (merged.Count > 0 && r.Start - merged[^1].End < o.MinPauseFrames) merged[^1] = (merged[^1].Start, r.End);
            else merged.Add(r);
        }
        var segs = merged.Where(r => r.End - r.Start >= o.MinSpeechFrames)
            .Select(r => (r.Start * LogMel.FrameSeconds, Math.Min(r.End * LogMel.FrameSeconds, seconds))).ToList();
        return new SpeechSegments(segs, seconds);
    }

    /// <summary>Runs of true as [start, end) frame ranges.</summary>
    private static List<(int Start, int End)> Runs(bool[] x)
    {
        var runs = new List<(int, int)>();
        for (int t = 0; t < x.Length;)
        {
            if (!x[t]) { t++; continue; }
            int s = t;
            while (t < x.Length && x[t]) t++;
            runs.Add((s, t));
        }
        return runs;
    }
}
