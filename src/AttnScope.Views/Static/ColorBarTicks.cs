namespace AttnScope.Views.Static;

/// <summary>Tick values for a colour bar from min to max: round steps, with both ends always labelled.</summary>
internal static class ColorBarTicks
{
    /// <param name="max">Top of the scale (positive).</param>
    /// <param name="barHeight">Bar height in pixels.</param>
    /// <param name="labelHeight">Height of a tick label in pixels; ticks closer than this are dropped.</param>
    public static IReadOnlyList<float> Compute(float max, float barHeight, float labelHeight) => Compute(0, max, barHeight, labelHeight);

    /// <summary>Ticks from min (0, or −max of a signed scale) to max.</summary>
    public static IReadOnlyList<float> Compute(float min, float max, float barHeight, float labelHeight)
    {
        if (!(max > min)) return [min];
        float span = max - min;
        int maxTicks = Math.Clamp((int)(barHeight / (labelHeight * 2.5f)), 2, 7);
        double raw = span / (double)(maxTicks - 1);
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = 10 * mag;
        foreach (var f in (ReadOnlySpan<double>)[1, 2, 2.5, 5])
            if (f * mag >= raw * 0.999) { step = f * mag; break; }
        var ticks = new List<float> { min };
        double first = Math.Ceiling(min / step - 1e-4) * step;
        for (double v = first; v <= max + span * 1e-4; v += step)
        {
            float f = (float)(Math.Abs(v) < step * 1e-6 ? 0 : v);
            if ((f - ticks[^1]) / span * barHeight >= labelHeight * 1.2f) ticks.Add(f);
        }
        float last = ticks[^1];
        if (Math.Abs(last - max) > span * 1e-4f)
        {
            // the top of the scale is labelled; a round tick too close to it makes way
            if ((max - last) / span * barHeight < labelHeight * 1.2f && ticks.Count > 1) ticks.RemoveAt(ticks.Count - 1);
            ticks.Add(max);
        }
        return ticks;
    }

    public static string Format(float v) => v.ToString("G3", System.Globalization.CultureInfo.InvariantCulture);
}
