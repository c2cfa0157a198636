using AttnScope.Capture;
using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>A colour map: a 256-entry lookup table built by linear interpolation between control points.</summary>
internal sealed class ColorMap
{
    public const int Levels = 256;
    public static IReadOnlyList<string> Names { get; } = ["viridis", "magma", "cividis", "greys", "rdbu"];

    private static readonly Dictionary<string, ColorMap> Cache = new(StringComparer.OrdinalIgnoreCase);

    private readonly SKColor[] _lut;
    public string Name { get; }
    /// <summary>A diverging map (rdbu): its middle colour is zero, for signed data; scales using it are symmetric.</summary>
    public bool IsDiverging => Name == "rdbu";

    private ColorMap(string name, uint[] points)
    {
        Name = name;
        _lut = new SKColor[Levels];
        for (int i = 0; i < Levels; i++)
        {
            double t = (double)i / (Levels - 1) * (points.Length - 1);
            int a = Math.Min((int)t, points.Length - 2);
            double f = t - a;
            _lut[i] = new SKColor(Mix(points[a] >> 16, points[a + 1] >> 16, f), Mix(points[a] >> 8, points[a + 1] >> 8, f),
                Mix(points[a], points[a + 1], f));
        }
    }

    private static byte Mix(uint a, uint b, double f) => (byte)Math.Round((a & 0xFF) * (1 - f) + (b & 0xFF) * f);

    /// <summary>The map by name (case-insensitive); unknown names are a user error listing the known ones.</summary>
    public static ColorMap Get(string name)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue(name, out var m)) return m;
            uint[] pts = name.ToLowerInvariant() switch
            {
                "viridis" => ColorMapTables.Viridis,
                "magma" => ColorMapTables.Magma,
                "cividis" => ColorMapTables.Cividis,
                "greys" or "grays" => ColorMapTables.Greys,
                "rdbu" => ColorMapTables.RdBu,
                _ => throw new AttnScopeException($"unknown colour map '{name}' (known: {string.Join(", ", Names)})"),
            };
            m = new ColorMap(name.ToLowerInvariant() == "grays" ? "greys" : name.ToLowerInvariant(), pts);
            Cache[name] = m;
            return m;
        }
    }

    /// <summary>Colour of t in [0, 1] (clamped; NaN maps to 0).</summary>
    public SKColor Map(float t)
    {
        if (!(t > 0)) return _lut[0];
        if (t >= 1) return _lut[Levels - 1];
        return _lut[(int)(t * (Levels - 1) + 0.5f)];
    }

    /// <summary>Colour of zero attention.</summary>
    public SKColor Bottom => _lut[0];
    /// <summary>Colour of the top of the scale.</summary>
    public SKColor Top => _lut[Levels - 1];
}
