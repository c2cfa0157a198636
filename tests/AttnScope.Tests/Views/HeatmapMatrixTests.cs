using AttnScope.Tests.Support;
using AttnScope.Capture;
using AttnScope.Views.Static;
using Xunit;

namespace AttnScope.Tests.Views;

public class HeatmapMatrixTests
{
    private static AttentionCapture ThreeHeads()
    {
        // layer 1, 3 heads, 2 tokens: distinct values per head
        var t = new FloatTensor([2, 3, 2, 2]);
        float[][] heads = [[0.1f, 0.9f, 0.5f, 0.5f], [0.7f, 0.3f, 0.2f, 0.8f], [0.4f, 0.6f, 0.9f, 0.1f]];
        for (int h = 0; h < 3; h++) heads[h].CopyTo(t.Slice(1, h));
        return SyntheticCaptures.Make(SyntheticCaptures.Tokens(2), t);
    }

    [Fact]
    public void SingleHead()
    {
        var m = HeatmapMatrix.From(ThreeHeads(), "encoder", 1, HeadSelection.Single(2));
        Assert.Equal([0.4f, 0.6f, 0.9f, 0.1f], m.Values);
        Assert.Equal(0.9f, m.MaxValue);
    }

    [Fact]
    public void MeanOverHeads()
    {
        var m = HeatmapMatrix.From(ThreeHeads(), "encoder", 1, HeadSelection.Mean);
        float[] expected = [(0.1f + 0.7f + 0.4f) / 3, (0.9f + 0.3f + 0.6f) / 3, (0.5f + 0.2f + 0.9f) / 3, (0.5f + 0.8f + 0.1f) / 3];
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], m.Values[i], 5);
    }

    [Fact]
    public void MaxOverHeads()
    {
        var m = HeatmapMatrix.From(ThreeHeads(), "encoder", 1, HeadSelection.Max);
        Assert.Equal([0.7f, 0.9f, 0.9f, 0.8f], m.Values);
        var layer0 = HeatmapMatrix.From(ThreeHeads(), "encoder", 0, HeadSelection.Max);
        Assert.All(layer0.Values, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void OutOfRangeNamesTheValidRange()
    {
        var c = ThreeHeads();
        var e = Assert.Throws<AttnScopeException>(() => HeatmapMatrix.From(c, "encoder", 2, HeadSelection.Single(0)));
        Assert.Contains("0..1", e.Message);
        e = Assert.Throws<AttnScopeException>(() => HeatmapMatrix.From(c, "encoder", 0, HeadSelection.Single(3)));
        Assert.Contains("0..2", e.Message);
        e = Assert.Throws<AttnScopeException>(() => new HeatmapRenderer().RenderPng(c, new HeatmapOptions { Layer = -1 }));
        Assert.Contains("0..1", e.Message);
    }

    [Theory]
    [InlineData("3", HeadAggregation.Single, 3)]
    [InlineData("mean", HeadAggregation.Mean, -1)]
    [InlineData("MAX", HeadAggregation.Max, -1)]
    internal void ParseHeads(string text, HeadAggregation agg, int head)
    {
        var h = HeadSelection.Parse(text);
        Assert.Equal(agg, h.Aggregation);
        Assert.Equal(head, h.Head);
    }

    [Fact]
    public void ParseBadHeadIsAUserError() => Assert.Throws<AttnScopeException>(() => HeadSelection.Parse("median"));

    [Fact]
    public void ColorMapsRunFromDarkOrLightEnds()
    {
        Assert.Equal(new SkiaSharp.SKColor(0x44, 0x01, 0x54), ColorMap.Get("viridis").Bottom);
        Assert.Equal(new SkiaSharp.SKColor(0xFD, 0xE7, 0x25), ColorMap.Get("viridis").Top);
        Assert.Equal(new SkiaSharp.SKColor(0xFC, 0xFD, 0xBF), ColorMap.Get("magma").Top);
        Assert.Equal(SkiaSharp.SKColors.White, ColorMap.Get("greys").Bottom);
        Assert.Equal(new SkiaSharp.SKColor(0, 0, 0), ColorMap.Get("greys").Top);
        foreach (var name in ColorMap.Names.Where(n => !ColorMap.Get(n).IsDiverging))
        {
            var map = ColorMap.Get(name);
            // perceptually ordered: luminance rises (falls for greys) monotonically along the map
            double prev = Lum(map.Map(0));
            for (int i = 1; i <= 32; i++)
            {
                double l = Lum(map.Map(i / 32f));
                Assert.True(name == "greys" ? l <= prev + 1e-9 : l >= prev - 1e-9, $"{name} not monotonic at {i}");
                prev = l;
            }
        }
    }

    [Fact]
    public void DivergingMapIsLightestAtZeroAndDarkAtBothEnds()
    {
        var map = ColorMap.Get("rdbu");
        Assert.True(map.IsDiverging);
        Assert.False(ColorMap.Get("viridis").IsDiverging);
        // luminance rises from the blue end to the middle, then falls to the red end
        for (int i = 1; i <= 16; i++) Assert.True(Lum(map.Map(i / 32f)) >= Lum(map.Map((i - 1) / 32f)) - 1e-9, $"rises at {i}");
        for (int i = 17; i <= 32; i++) Assert.True(Lum(map.Map(i / 32f)) <= Lum(map.Map((i - 1) / 32f)) + 1e-9, $"falls at {i}");
        Assert.True(map.Bottom.Blue > map.Bottom.Red && map.Top.Red > map.Top.Blue, "blue for negative, red for positive");
    }

    private static double Lum(SkiaSharp.SKColor c) => 0.2126 * c.Red + 0.7152 * c.Green + 0.0722 * c.Blue;
}
