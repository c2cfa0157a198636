using AttnScope.Capture;
using System.Runtime.Intrinsics;
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

    /// <summary>
    /// <c>Map(scale.Normalize(v))</c> of every value, four at a time on a linear scale (the same float arithmetic in
    /// the same order, so the same colours): a figure colours every pixel of every panel.
    /// </summary>
    public void MapAll(ReadOnlySpan<float> values, ColorScale scale, Span<SKColor> colors)
    {
        if (colors.Length < values.Length) throw new ArgumentException("fewer colours than values", nameof(colors));
        int i = 0;
        if (!scale.Log && System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated)
        {
            var min = System.Runtime.Intrinsics.Vector128.Create(scale.Min);
            var range = System.Runtime.Intrinsics.Vector128.Create(scale.Max - scale.Min);
            var zero = System.Runtime.Intrinsics.Vector128<float>.Zero;
            var one = System.Runtime.Intrinsics.Vector128.Create(1f);
            var top = System.Runtime.Intrinsics.Vector128.Create((float)(Levels - 1));
            var half = System.Runtime.Intrinsics.Vector128.Create(0.5f);
            ref float pv = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(values);
            Span<int> levels = stackalloc int[4];
            ref int level0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(levels);
            for (; i <= values.Length - 4; i += 4)
            {
                var t = (System.Runtime.Intrinsics.Vector128.LoadUnsafe(ref pv, (nuint)i) - min) / range;
                // NaN and values at or below the bottom take level 0, at or above the top level Levels - 1
                t = System.Runtime.Intrinsics.Vector128.ConditionalSelect(System.Runtime.Intrinsics.Vector128.GreaterThan(t, zero), t, zero);
                t = System.Runtime.Intrinsics.Vector128.ConditionalSelect(System.Runtime.Intrinsics.Vector128.LessThan(t, one), t, one);
                System.Runtime.Intrinsics.Vector128.ConvertToInt32(t * top + half).StoreUnsafe(ref level0);
                colors[i] = _lut[levels[0]];
                colors[i + 1] = _lut[levels[1]];
                colors[i + 2] = _lut[levels[2]];
                colors[i + 3] = _lut[levels[3]];
            }
        }
        for (; i < values.Length; i++) colors[i] = Map(scale.Normalize(values[i]));
    }

    /// <summary>Colour of zero attention.</summary>
    public SKColor Bottom => _lut[0];
    /// <summary>Colour of the top of the scale.</summary>
    public SKColor Top => _lut[Levels - 1];
}
