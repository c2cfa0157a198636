using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Tests.Views;

/// <summary>
/// Grid views of a capture loaded with half-resolution heads (what `attnscope render --view model|heads|layers`
/// does) pool their thumbnails from the half-resolution copy. The reference is the same figure drawn from the same
/// capture held in memory, which has no such copy and pools every value: the pixels must be identical, including
/// odd token counts (a last block of one row or column).
/// </summary>
public class HalfResolutionTests
{
    [Theory]
    [InlineData(601, ViewKind.Model)]   // 4 × 4 blocks in the model view, a last block of one row
    [InlineData(702, ViewKind.Model)]
    [InlineData(1001, ViewKind.Heads)]  // larger blocks in a heads grid
    internal void Thumbnails_from_half_resolution_are_the_figure_pooled_from_every_value(int tokens, ViewKind view)
    {
        var cap = SyntheticCaptures.Encoder(2, 3, tokens, seed: tokens);
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "cap.safetensors");
        cap.Save(path);
        var loaded = AttentionCapture.Load(path, halfResolution: true);
        var attention = loaded.Stacks[AttentionStack.Encoder].Attention;
        Assert.NotNull(attention.HalfResolution);
        Assert.Equal(2 * 3 * ((tokens + 1) / 2) * ((tokens + 1) / 2), attention.HalfResolution!.Length);
        Assert.Null(AttentionCapture.Load(path).Stacks[AttentionStack.Encoder].Attention.HalfResolution);

        var renderer = new ViewRenderer();
        var o = new HeatmapOptions { Layer = 1 };
        var layout = (GridLayout)renderer.Layout(loaded, view, o);
        Assert.True(layout.Panels[0].Pool % 2 == 0, $"the figure pools {layout.Panels[0].Pool} × {layout.Panels[0].Pool} blocks: the half-resolution path is not taken");
        Assert.False(layout.Panels[0].Matrix.HalfResolution.IsEmpty);
        using var fromHalf = renderer.RenderBitmap(layout, o.ColorMap);
        using var fromAll = renderer.RenderBitmap(renderer.Layout(cap, view, o), o.ColorMap);
        Assert.Equal(fromAll.Width, fromHalf.Width);
        Assert.Equal(fromAll.Height, fromHalf.Height);
        Assert.True(fromAll.GetPixelSpan().SequenceEqual(fromHalf.GetPixelSpan()), "the thumbnails differ");
    }

    /// <summary>The single-pass check and halving while a capture is read equals the two definitions it fuses, run
    /// one after the other: same first bad value (row-major), same range, same half-resolution values.</summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 5)]
    [InlineData(8, 8)]
    [InlineData(17, 23)]
    [InlineData(64, 71)]
    [InlineData(129, 128)]
    internal void The_fused_check_and_halving_equals_the_two_passes(int rows, int cols)
    {
        var rng = new Random(rows * 1000 + cols);
        var m = new float[rows * cols];
        for (int i = 0; i < m.Length; i++) m[i] = rng.Next(10) == 0 ? 0f : (float)rng.NextDouble();
        int hs = (rows + 1) / 2 * ((cols + 1) / 2);
        var fused = new float[hs];
        var twoPass = new float[hs];
        var got = AttentionCapture.CheckAndHalve(m, rows, cols, fused);
        var want = AttentionCapture.CheckProbabilities(m);
        AttentionCapture.HalfMaxima(m, rows, cols, twoPass);
        Assert.Equal(want, got);
        Assert.Equal(twoPass, fused);
        foreach (var at in new[] { 0, m.Length - 1, m.Length / 2, Math.Min(m.Length - 1, cols + 3) })
            foreach (var badValue in new[] { float.NaN, -1e-3f, 1.5f, float.PositiveInfinity })
            {
                var copy = (float[])m.Clone();
                copy[at] = badValue;
                if (at + 7 < copy.Length) copy[at + 7] = -2f; // a later bad value must not be the one named
                Assert.Equal(at, AttentionCapture.CheckAndHalve(copy, rows, cols, new float[hs]).FirstBad);
                Assert.Equal(at, AttentionCapture.CheckProbabilities(copy).FirstBad);
            }
    }

    [Fact]
    internal void Half_maxima_of_odd_and_even_matrices()
    {
        // a 3 × 5 matrix by hand: blocks {0,1 × 0,1}, {0,1 × 2,3}, {0,1 × 4}, {2 × 0,1}, {2 × 2,3}, {2 × 4}
        float[] m =
        [
            0.1f, 0.7f, 0.2f, 0.0f, 0.3f,
            0.4f, 0.2f, 0.9f, 0.1f, 0.0f,
            0.5f, 0.6f, 0.0f, 0.8f, 0.25f,
        ];
        var half = new float[6];
        AttentionCapture.HalfMaxima(m, 3, 5, half);
        Assert.Equal(new[] { 0.7f, 0.9f, 0.3f, 0.6f, 0.8f, 0.25f }, half);
    }
}
