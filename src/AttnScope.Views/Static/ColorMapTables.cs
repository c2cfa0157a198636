namespace AttnScope.Views.Static;

/// <summary>
/// Control points of the perceptually uniform colour maps, evenly spaced from 0 to 1 (sRGB hex). The points are
/// the published colours of each map sampled at ten even steps; the colour between two points is interpolated.
/// </summary>
internal static class ColorMapTables
{
    public static readonly uint[] Viridis =
    [
        0x440154, 0x482878, 0x3E4989, 0x31688E, 0x26828E, 0x1F9E89, 0x35B779, 0x6ECE58, 0xB5DE2B, 0xFDE725,
    ];

    public static readonly uint[] Magma =
    [
        0x000004, 0x180F3D, 0x440F76, 0x721F81, 0x9E2F7F, 0xCD4071, 0xF1605D, 0xFD9668, 0xFECA8D, 0xFCFDBF,
    ];

    public static readonly uint[] Cividis =
    [
        0x00204D, 0x123570, 0x3B496C, 0x575D6D, 0x707173, 0x8A8779, 0xA69D75, 0xC4B56C, 0xE4CF5B, 0xFEE838,
    ];

    /// <summary>White (no attention) to near-black (all attention).</summary>
    public static readonly uint[] Greys = [0xFFFFFF, 0x000000];

    /// <summary>Diverging: blue (negative) through near-white (zero) to red (positive), the ColorBrewer RdBu colours reversed.</summary>
    public static readonly uint[] RdBu =
    [
        0x053061, 0x2166AC, 0x4393C3, 0x92C5DE, 0xD1E5F0, 0xF7F7F7, 0xFDDBC7, 0xF4A582, 0xD6604D, 0xB2182B, 0x67001F,
    ];
}
