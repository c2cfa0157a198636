using AttnScope.Analyses.Speech;

namespace AttnScope.Tests.Speech;

/// <summary>
/// The validation/test evaluation on synthetic clips whose truth is known by construction: one head attends, on the row
/// that predicts word k, to word k's frames (other heads random), and the frame energies are loud exactly on the words.
/// Raw DTW then gives the first word the leading silence and each pause to one neighbour; the heuristics must remove that.
/// </summary>
public class AlignmentEvaluationTests
{
    /// <summary>Synthetic cross attention: the planted head attends, on the row that predicts word k, to word k's frames;
    /// every other head to random frames. Leading silence and pauses are drawn from the given frame ranges; with
    /// <paramref name="energy"/> the clip also has frame energies (speech over silence) for the speech detector.</summary>
    internal static AlignmentSample Planted(Random rng, (int L, int H) planted, (int Min, int Max) lead, (int Min, int Max) pause, bool energy)
    {
        int L = 2, H = 3, P = 4, F = 100, K = rng.Next(2, 5);
        var truth = new List<(double, double)>();
        int f = rng.Next(lead.Min, lead.Max);
        for (int k = 0; k < K; k++) { int len = rng.Next(8, 18); truth.Add((f * 0.02, (f + len) * 0.02)); f += len + rng.Next(pause.Min, pause.Max); }
        int n = P + K + 1;
        var a = new float[L * H * n * F];
        for (int l = 0; l < L; l++)
            for (int h = 0; h < H; h++)
                for (int r = 0; r < n; r++)
                {
                    var row = a.AsSpan(((l * H + h) * n + r) * F, F);
                    int k = r - (P - 1);
                    if ((l, h) == planted && k >= 0 && k < K)
                    {
                        int s = (int)Math.Round(truth[k].Item1 / 0.02), e = (int)Math.Round(truth[k].Item2 / 0.02);
                        for (int j = 0; j < F; j++) row[j] = 0.01f * (float)rng.NextDouble();
                        for (int j = s; j < e; j++) row[j] = 1f;
                    }
                    else for (int j = 0; j < F; j++) row[j] = (float)Math.Pow(rng.NextDouble(), 4);
                    float sum = 0; foreach (var v in row) sum += v;
                    for (int j = 0; j < F; j++) row[j] /= sum;
                }
        if (!energy) return new AlignmentSample(a, L, H, n, F, P, F, truth);
        var frames = new float[2 * F];
        for (int t = 0; t < frames.Length; t++)
        {
            double time = (t + 0.5) * 0.01;
            frames[t] = truth.Any(w => time >= w.Item1 && time < w.Item2) ? 0.5f : -1f + 0.02f * (float)rng.NextDouble();
        }
        return new AlignmentSample(a, L, H, n, F, P, F, truth, frames, F * 0.02);
    }

    internal static AlignmentSample Planted(Random rng, (int L, int H) planted) => Planted(rng, planted, (5, 20), (4, 10), energy: true);

    [Fact]
    public void HeuristicsChosenOnValidationBeatRawDtwAndTheUniformBaselineOnTest()
    {
        var rng = new Random(8);
        var valid = Enumerable.Range(0, 12).Select(_ => Planted(rng, (1, 2))).ToList();
        var test = Enumerable.Range(0, 12).Select(_ => Planted(rng, (1, 2))).ToList();
        var choice = AlignmentEvaluation.Choose(valid, 3);
        Assert.Equal((1, 2), choice.RawHeads.Heads[0]);
        Assert.Equal((1, 2), choice.HeuristicHeads.Heads[0]);
        var rows = AlignmentEvaluation.Measure(test, choice).ToDictionary(r => r.Name, r => r.Errors);
        var raw = rows["raw DTW (heads chosen on raw DTW)"];
        var tuned = rows["DTW + heuristics (heads chosen on raw DTW)"];
        var uniform = rows["uniform over the true speech span"];
        Assert.True(raw.StartMean > 40, $"raw DTW should take in the leading silence: {raw}");
        Assert.True(tuned.Mean < 25 && tuned.Mean < raw.Mean / 3, $"heuristics {tuned} vs raw {raw}");
        Assert.True(tuned.Mean < uniform.Mean, $"heuristics {tuned} vs uniform {uniform}");
        Assert.Contains("control: even over detected speech (no attention)", rows.Keys);
        // a sample without frame energies cannot run the heuristics
        var bare = test[0] with { FrameEnergy = null };
        Assert.Throws<AttnScope.Capture.AttnScopeException>(() => AlignmentEvaluation.Times(bare, [(1, 2)], new TimingOptions()));
    }
}
