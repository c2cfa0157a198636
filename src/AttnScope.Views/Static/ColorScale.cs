using System.Globalization;
using AttnScope.Capture;

namespace AttnScope.Views.Static;

/// <summary>
/// Maps values to [0, 1] for a colour map: linear from 0 (or from −max for signed data and diverging maps) to max,
/// or logarithmic over <see cref="LogDecades"/> decades below max.
/// </summary>
internal sealed class ColorScale
{
    /// <summary>Decades a log scale spans below its top; smaller values get the bottom colour.</summary>
    public const int LogDecades = 3;

    public float Min { get; }
    public float Max { get; }
    public bool Log { get; }
    private readonly float _logMin, _logSpan;

    public ColorScale(float min, float max, bool log = false)
    {
        if (!(max > min) || !float.IsFinite(min) || !float.IsFinite(max)) throw new ArgumentException($"bad colour scale {min}..{max}");
        Min = min; Max = max; Log = log;
        if (log)
        {
            if (min <= 0) throw new ArgumentException("a log scale starts above 0");
            _logMin = MathF.Log10(min);
            _logSpan = MathF.Log10(max) - _logMin;
        }
    }

    /// <summary>The scale for values from <paramref name="lowest"/> to <paramref name="highest"/>.</summary>
    /// <param name="fixedMax">A fixed top of the scale (e.g. 1 so that figures are comparable).</param>
    public static ColorScale For(float lowest, float highest, bool log, bool diverging, float? fixedMax = null)
    {
        bool signed = lowest < 0;
        if (log)
        {
            if (signed) throw new AttnScopeException("a log colour scale needs non-negative values (these values go down to " + lowest.ToString("G3", CultureInfo.InvariantCulture) + ")");
            float top = fixedMax ?? (highest > 0 ? highest : 1f);
            return new ColorScale(top * MathF.Pow(10, -LogDecades), top, log: true);
        }
        float m = fixedMax ?? MathF.Max(highest, signed ? -lowest : 0);
        if (!(m > 0)) m = 1f;
        return signed || diverging ? new ColorScale(-m, m) : new ColorScale(0, m);
    }

    /// <summary>Position of v on the scale, clamped to [0, 1].</summary>
    public float Normalize(float v)
    {
        float t = Log ? (v > 0 ? (MathF.Log10(v) - _logMin) / _logSpan : 0f) : (v - Min) / (Max - Min);
        return t > 0 ? (t < 1 ? t : 1) : 0; // NaN → 0
    }

    /// <summary>Values at which the colour bar gets a labelled tick.</summary>
    public IReadOnlyList<float> Ticks(float barHeight, float labelHeight)
    {
        if (!Log) return ColorBarTicks.Compute(Min, Max, barHeight, labelHeight);
        var ticks = new List<float>();
        for (int d = LogDecades; d >= 1; d--)
        {
            float v = MathF.Pow(10, MathF.Ceiling(_logMin) + LogDecades - d);
            if (v >= Min * 0.999f && v < Max * 0.999f) ticks.Add(v);
        }
        if (ticks.Count == 0 || (Normalize(Max) - Normalize(ticks[^1])) * barHeight >= labelHeight * 1.2f) ticks.Add(Max);
        else ticks[^1] = Max;
        return ticks;
    }

    /// <summary>What the figure says about the scale ("colour: log scale ..."), null for the plain linear scale.</summary>
    public string? Note => Log
        ? $"colour: log scale, {LogDecades} decades below {ColorBarTicks.Format(Max)}; smaller values get the bottom colour"
        : null;
}
