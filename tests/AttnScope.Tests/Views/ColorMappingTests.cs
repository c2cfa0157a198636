using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Tests.Views;

/// <summary>
/// The vectorised colouring of a panel (ColorMap.MapAll) against the per-value definition it replaces,
/// Map(scale.Normalize(v)), value by value: random values, the ends of the scale, values outside it, NaN and
/// infinities, on linear and logarithmic scales, every colour map, lengths that leave a tail.
/// </summary>
public class ColorMappingTests
{
    public static TheoryData<string> Maps => new() { "viridis", "magma", "cividis", "greys", "rdbu" };

    [Theory]
    [MemberData(nameof(Maps))]
    internal void Colouring_many_values_at_once_gives_the_colour_of_each_value(string name)
    {
        var map = ColorMap.Get(name);
        var rng = new Random(11);
        foreach (var scale in new[]
                 {
                     ColorScale.For(0f, 0.73f, false, map.IsDiverging),
                     ColorScale.For(-2.5f, 1.25f, false, map.IsDiverging),
                     ColorScale.For(0f, 1f, true, map.IsDiverging),
                     ColorScale.For(0.2f, 0.2f, false, map.IsDiverging),
                 })
        {
            var values = new List<float> { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1f, scale.Min, scale.Max, -5f, 5f };
            for (int i = 0; i < 255; i++) values.Add(scale.Min + i / 254f * (scale.Max - scale.Min)); // every level's neighbourhood
            for (int i = 0; i < 1000; i++) values.Add((float)(rng.NextDouble() * 3 - 1.5));
            values.Add(0.5f); // an odd count: a scalar tail
            var colors = new SKColor[values.Count];
            map.MapAll(values.ToArray(), scale, colors);
            for (int i = 0; i < values.Count; i++)
                Assert.True(map.Map(scale.Normalize(values[i])) == colors[i], $"{name}, scale {scale.Min}..{scale.Max} (log {scale.Log}): value {values[i]} got {colors[i]}");
        }
    }
}
