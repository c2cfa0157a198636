using AttnScope.Analyses.Speech;
using AttnScope.Sources.Audio;

namespace AttnScope.Tests.Speech;

/// <summary>The speech-activity detector on frame energies and on the log-mel of tone bursts whose places are known by
/// construction, with digital silence and with white noise between them.</summary>
public class SpeechActivityTests
{
    [Fact]
    public void SegmentsFollowTheLoudFramesWithShortGapsFilledAndBlipsDropped()
    {
        var rng = new Random(2);
        var e = new float[250];
        for (int t = 0; t < e.Length; t++) e[t] = -1f + 0.02f * (float)rng.NextDouble();
        foreach (var (a, b) in new[] { (30, 80), (95, 150) }) for (int t = a; t < b; t++) e[t] = 0.5f;
        e[50] = e[51] = -1f; // a 20 ms dip inside the first run: not a pause
        e[200] = 0.5f;       // a 10 ms click: not speech
        var o = new SpeechActivityOptions();
        var s = SpeechActivity.Detect(e, 2.5, o);
        Assert.Equal(2, s.Segments.Count);
        double hang = o.HangoverFrames * LogMel.FrameSeconds + 1e-9;
        Assert.Equal(0.30, s.Segments[0].Start, 9);
        Assert.InRange(s.Segments[0].End, 0.80, 0.80 + hang);
        Assert.Equal(0.95, s.Segments[1].Start, 9);
        Assert.InRange(s.Segments[1].End, 1.50, 1.50 + hang);
        Assert.Single(s.Pauses());
        // nothing stands out: the whole clip is speech
        var flat = SpeechActivity.Detect(Enumerable.Repeat(0.2f, 100).ToArray(), 1.0, o);
        Assert.Equal((0.0, 1.0), flat.Segments.Single());
    }

    private static float[] Bursts(double seconds, (double, double)[] bursts, double noiseSnrDb, int seed)
    {
        int n = (int)(seconds * LogMel.SampleRate);
        var x = new float[n];
        foreach (var (a, b) in bursts)
            for (int i = (int)(a * LogMel.SampleRate); i < (int)(b * LogMel.SampleRate); i++)
                x[i] = (float)(0.3 * Math.Sin(2 * Math.PI * 220 * i / LogMel.SampleRate) + 0.15 * Math.Sin(2 * Math.PI * 1210 * i / LogMel.SampleRate));
        if (noiseSnrDb < 100)
        {
            double signal = (0.3 * 0.3 + 0.15 * 0.15) / 2, sd = Math.Sqrt(signal / Math.Pow(10, noiseSnrDb / 10));
            var rng = new Random(seed);
            for (int i = 0; i < n; i++) x[i] += (float)(sd * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        }
        return x;
    }

    [Theory]
    [InlineData(1000.0, 0.03)] // digital silence between the bursts
    [InlineData(20.0, 0.05)]   // white noise 20 dB below the bursts
    public void OnTheLogMelOfToneBurstsTheSegmentsAreTheBursts(double snr, double tolerance)
    {
        (double, double)[] bursts = [(0.3, 0.7), (1.0, 1.5), (1.7, 1.85)];
        var x = Bursts(2.0, bursts, snr, 4);
        var mel = LogMel.Compute(x, 80, 32000);
        var s = SpeechActivity.Detect(mel, 2.0);
        Assert.Equal(bursts.Length, s.Segments.Count);
        for (int i = 0; i < bursts.Length; i++)
        {
            Assert.True(Math.Abs(s.Segments[i].Start - bursts[i].Item1) <= tolerance, $"segment {i} {s.Segments[i]} vs {bursts[i]}");
            Assert.True(Math.Abs(s.Segments[i].End - bursts[i].Item2) <= tolerance, $"segment {i} {s.Segments[i]} vs {bursts[i]}");
        }
    }
}
