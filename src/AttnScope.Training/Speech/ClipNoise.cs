using System.Globalization;
using AttnScope.Capture;
using AttnScope.Sources.Audio;

namespace AttnScope.Training.Speech;

/// <summary>A noise condition: white or pink noise at a signal-to-noise ratio in dB.</summary>
internal sealed record NoiseCondition(string Kind, double SnrDb)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Kind} {SnrDb:0.#} dB");

    /// <summary>Parses "white:20,pink:10" (kinds white, pink; SNR −20…60 dB).</summary>
    public static List<NoiseCondition> ParseList(string? text)
    {
        var list = new List<NoiseCondition>();
        if (string.IsNullOrWhiteSpace(text)) return list;
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var p = item.Split(':');
            if (p.Length != 2 || p[0] is not ("white" or "pink")
                || !double.TryParse(p[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double snr) || snr is < -20 or > 60)
                throw new AttnScopeException($"noise '{item}' is not KIND:SNR (white or pink, −20…60 dB), e.g. white:20,pink:10");
            list.Add(new NoiseCondition(p[0], snr));
        }
        return list;
    }
}

/// <summary>
/// Adds noise to a composed clip over its whole length (pauses included: the composed pauses are digital silence,
/// which flatters a speech-activity detector). The SNR is the power of the words' samples over the noise's power.
/// Pink noise is white noise through a sum of three first-order low-pass filters (an approximation of 1/f over the
/// speech band). The word times do not change.
/// </summary>
internal static class ClipNoise
{
    public static SpeechClip Add(SpeechClip clip, NoiseCondition noise, int seed)
    {
        ArgumentNullException.ThrowIfNull(clip);
        ArgumentNullException.ThrowIfNull(noise);
        var rng = new Random(seed);
        int n = clip.Samples.Length;
        var x = new double[n];
        double b0 = 0, b1 = 0, b2 = 0;
        for (int i = 0; i < n; i++)
        {
            double w = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            if (noise.Kind == "white") { x[i] = w; continue; }
            b0 = 0.99765 * b0 + w * 0.0990460;
            b1 = 0.96300 * b1 + w * 0.2965164;
            b2 = 0.57000 * b2 + w * 1.0526913;
            x[i] = b0 + b1 + b2 + w * 0.1848;
        }
        double signal = 0; long count = 0;
        foreach (var word in clip.Words)
        {
            int a = (int)Math.Round(word.Start * LogMel.SampleRate), b = Math.Min(n, (int)Math.Round(word.End * LogMel.SampleRate));
            for (int i = a; i < b; i++) { signal += (double)clip.Samples[i] * clip.Samples[i]; count++; }
        }
        if (count == 0) throw new AttnScopeException("the clip has no word samples to set the noise level from");
        signal /= count;
        double power = x.Sum(v => v * v) / Math.Max(n, 1);
        double gain = Math.Sqrt(signal / Math.Pow(10, noise.SnrDb / 10) / Math.Max(power, 1e-30));
        var y = new float[n];
        for (int i = 0; i < n; i++) y[i] = (float)Math.Clamp(clip.Samples[i] + gain * x[i], -1.0, 1.0);
        return clip with { Samples = y };
    }
}
