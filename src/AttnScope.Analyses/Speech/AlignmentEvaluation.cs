using System.Globalization;

namespace AttnScope.Analyses.Speech;

/// <summary>What <see cref="AlignmentEvaluation.Choose"/> fixed on the validation clips.</summary>
internal sealed record AlignmentChoice(HeadSelection RawHeads, TimingOptions Timing, double TimingValidMs, HeadSelection HeuristicHeads)
{
    /// <summary>The validation error of the heads chosen with the heuristics applied (their best top-k).</summary>
    public double HeuristicHeadsValidMs => HeuristicHeads.TopK.Min(t => t.ErrorMs);

    /// <summary>The heads to use with the heuristics: whichever choice did better on validation with them applied.</summary>
    public IReadOnlyList<(int Layer, int Head)> HeadsWithHeuristics => HeuristicHeadsValidMs < TimingValidMs ? HeuristicHeads.Heads : RawHeads.Heads;
}

/// <summary>One row of the test figures.</summary>
internal sealed record AlignmentRow(string Name, TimingErrors Errors);

/// <summary>
/// Word-alignment evaluation with a strict split: the alignment heads (scored on raw DTW, and again scored with the
/// heuristics applied) and the heuristics' settings are chosen on validation clips only; the figures come from test
/// clips: the uniform baseline over the true speech span, raw DTW, DTW + heuristics (with either head choice), each
/// heuristic alone, and the attention-free control (words spread evenly over the detected speech, with and without
/// the heuristics).
/// </summary>
internal static class AlignmentEvaluation
{
    /// <summary>The settings tried on the validation clips: activity threshold, snap window, long-word factor.</summary>
    public static IEnumerable<TimingOptions> Grid()
    {
        foreach (var ratio in new[] { 0.15, 0.25, 0.35, 0.5 })
            foreach (var window in new[] { 0.1, 0.2, 0.3 })
                foreach (var factor in new[] { 1.5, 2.0, 3.0 })
                    yield return new TimingOptions { SnapWindow = window, LongWordFactor = factor, Activity = new SpeechActivityOptions { ThresholdRatio = ratio } };
    }

    /// <summary>DTW word times of <paramref name="heads"/> with the heuristics of <paramref name="timing"/> applied.</summary>
    public static (double Start, double End)[] Times(AlignmentSample s, IReadOnlyList<(int Layer, int Head)> heads, TimingOptions timing)
    {
        ArgumentNullException.ThrowIfNull(s);
        var raw = AlignmentHeadSelection.WordTimes(s, heads);
        return timing.Any ? TimingHeuristics.Apply(raw, s.Speech(timing.Activity), timing) : raw;
    }

    public static AlignmentChoice Choose(IReadOnlyList<AlignmentSample> valid, int maxHeads = 8)
    {
        ArgumentNullException.ThrowIfNull(valid);
        var raw = AlignmentHeadSelection.Select(valid, maxHeads);
        var dtw = valid.Select(s => AlignmentHeadSelection.WordTimes(s, raw.Heads)).ToArray();
        TimingOptions? best = null;
        double bestMs = double.PositiveInfinity;
        foreach (var o in Grid())
        {
            double ms = TimingErrors.Of(valid.Select((s, i) => (TimingHeuristics.Apply(dtw[i], s.Speech(o.Activity), o), s.Truth))).Mean;
            if (ms < bestMs) { bestMs = ms; best = o; }
        }
        var heuristic = AlignmentHeadSelection.Select(valid, maxHeads, (s, h) => Times(s, h, best!));
        return new AlignmentChoice(raw, best!, bestMs, heuristic);
    }

    /// <summary>The test figures for the choices made on validation.</summary>
    public static List<AlignmentRow> Measure(IReadOnlyList<AlignmentSample> test, AlignmentChoice choice)
    {
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(choice);
        var o = choice.Timing;
        var speech = test.Select(s => s.Speech(o.Activity)).ToArray();
        var dtw = test.Select(s => AlignmentHeadSelection.WordTimes(s, choice.RawHeads.Heads)).ToArray();
        AlignmentRow Row(string name, Func<int, (double Start, double End)[]> times) =>
            new(name, TimingErrors.Of(test.Select((s, i) => (times(i), s.Truth))));
        var off = TimingOptions.Off;
        return
        [
            Row("uniform over the true speech span", i => AlignmentHeadSelection.Uniform(test[i].Truth)),
            Row("raw DTW (heads chosen on raw DTW)", i => dtw[i]),
            Row("DTW + heuristics (heads chosen on raw DTW)", i => TimingHeuristics.Apply(dtw[i], speech[i], o)),
            Row("DTW + heuristics (heads chosen with heuristics)", i => Times(test[i], choice.HeuristicHeads.Heads, o)),
            Row("DTW + pause boundaries only", i => TimingHeuristics.Apply(dtw[i], speech[i], off with { PauseBoundaries = true })),
            Row("DTW + long-word cut only", i => TimingHeuristics.Apply(dtw[i], speech[i], off with { LongWordCut = true, LongWordFactor = o.LongWordFactor })),
            Row("DTW + snap to speech only", i => TimingHeuristics.Apply(dtw[i], speech[i], off with { Snap = true, SnapWindow = o.SnapWindow })),
            Row("control: even over detected speech (no attention)", i => TimingHeuristics.EvenOverSpeech(test[i].Truth.Count, speech[i])),
            Row("control + heuristics (no attention)", i => TimingHeuristics.Apply(TimingHeuristics.EvenOverSpeech(test[i].Truth.Count, speech[i]), speech[i], o)),
        ];
    }

    public static string Describe(AlignmentChoice c) =>
        string.Create(CultureInfo.InvariantCulture, $"heads on raw DTW {Heads(c.RawHeads)}; timing {c.Timing} ({c.TimingValidMs:F0} ms on validation); heads chosen with heuristics {Heads(c.HeuristicHeads)} ({c.HeuristicHeadsValidMs:F0} ms on validation)");

    public static string Heads(HeadSelection h) => string.Join(" ", h.Heads.Select(x => $"[{x.Layer}, {x.Head}]"));
}
