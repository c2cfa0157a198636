namespace AttnScope.Views.Static;

/// <summary>Tick values for a colour bar from 0 to max: round steps, with max itself always labelled.</summary>
public static class ColorBarTicks
{
    /// <param name="max">Top of the scale (positive).</param>
    /// <param name="barHeight">Bar height in pixels.</param>
    /// <param name="labelHeight">Height of a tick label in pixels; ticks closer than this are dropped.</param>
    public static IReadOnlyList<float> Compute(float max, float barHeight, float labelHeight)
    {
        if (!(max > 0)) return [0f];
        int maxTicks = Math.Clamp((int)(barHeight / (labelHeight * 2.5f)), 2, 6);
        double raw = max / (double)(maxTicks - 1);
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1, 2, 2.5, 5, 10 }.Select(f => f * mag).First(s => s >= raw * 0.999);
        var ticks = new List<float>();
        for (int i = 0; i * step <= max * 1.0001; i++) ticks.Add((float)(i * step));
        float last = ticks[^1];
        if (Math.Abs(last - max) > max * 1e-4f)
        {
            // the top of the scale is labelled; a round tick too close to it makes way
            if ((max - last) / max * barHeight < labelHeight * 1.2f && ticks.Count > 1) ticks.RemoveAt(ticks.Count - 1);
            ticks.Add(max);
        }
        return ticks;
    }

    public static string Format(float v) => v.ToString("G3", System.Globalization.CultureInfo.InvariantCulture);
}
