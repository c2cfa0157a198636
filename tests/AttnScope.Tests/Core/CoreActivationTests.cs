using AttnScope.Sources.Transformer;
using Xunit;

namespace AttnScope.Tests.Core;

/// <summary>
/// The core's vectorised SiLU and tanh GELU against the textbook formulas evaluated in double precision, over
/// lengths that are not a multiple of the block or the vector width and values far into both tails.
/// </summary>
public class CoreActivationTests
{
    private static float[] Inputs(int n)
    {
        var rng = new Random(n);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)((rng.NextDouble() * 2 - 1) * (i % 7 == 0 ? 60 : 6));
        if (n > 3) { x[0] = 0f; x[1] = -200f; x[2] = 200f; x[3] = -1e-30f; }
        return x;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(257)]
    [InlineData(3072 * 3 + 5)]
    public void Silu_matches_x_times_sigmoid_in_double(int n)
    {
        var x = Inputs(n);
        var y = x.ToArray();
        CoreOps.Silu(y);
        for (int i = 0; i < n; i++)
        {
            double want = x[i] / (1 + Math.Exp(-(double)x[i]));
            Assert.True(Math.Abs(y[i] - want) <= 4e-7 * Math.Max(1, Math.Abs(want)), $"silu({x[i]}) = {y[i]}, expected {want}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(257)]
    [InlineData(3072 * 3 + 5)]
    public void Gelu_tanh_matches_the_tanh_formula_in_double(int n)
    {
        var x = Inputs(n);
        var y = x.ToArray();
        CoreOps.Activate("gelu_new", y);
        for (int i = 0; i < n; i++)
        {
            double v = x[i];
            double want = 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            Assert.True(Math.Abs(y[i] - want) <= 4e-7 * Math.Max(1, Math.Abs(want)), $"gelu_new({x[i]}) = {y[i]}, expected {want}");
            Assert.False(float.IsNaN(y[i]));
        }
    }
}
