using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Transformer.Families;
using Xunit.Abstractions;

namespace AttnScope.Tests.Support;

/// <summary>Comparisons against reference numbers, each writing its worst difference to the test output.</summary>
public static class Closeness
{
    /// <summary>Asserts max |expected − got| ≤ <paramref name="tol"/> (and equal lengths).</summary>
    public static void AssertNear(ITestOutputHelper output, string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> got, float tol)
    {
        Assert.Equal(expected.Length, got.Length);
        float worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = MathF.Max(worst, MathF.Abs(expected[i] - got[i]));
        output.WriteLine($"{what}: max |Δ| {worst:E2}");
        Assert.True(worst <= tol, $"{what}: max |Δ| {worst} > {tol}");
    }

    /// <summary>
    /// An encoder-decoder's teacher-forced pass against a golden file holding encoder_out, decoder_out, logits (1e-4) and
    /// encoder_attention.{l}, decoder_attention.{l}, cross_attention.{l} (1e-5), as the golden scripts write them.
    /// </summary>
    internal static void AssertEncoderDecoderMatches(ITestOutputHelper output, EncoderDecoderModel model, int[] source, int[] decoderInput, SafeTensorsFile g)
    {
        var enc = model.Encode(source);
        var dec = model.Decode(decoderInput, enc.Hidden);
        int S = source.Length, T = decoderInput.Length, H = model.Decoder.Spec.Heads, He = model.Encoder.Spec.Heads;
        AssertNear(output, "encoder_out", g.ReadFloat("encoder_out").Data, enc.Hidden.Data, 1e-4f);
        AssertNear(output, "decoder_out", g.ReadFloat("decoder_out").Data, dec.Hidden.Data, 1e-4f);
        AssertNear(output, "logits", g.ReadFloat("logits").Data, dec.Logits!.Data, 1e-4f);
        for (int l = 0; l < model.Encoder.Spec.Layers; l++)
            AssertNear(output, $"encoder_attention.{l}", g.ReadFloat($"encoder_attention.{l}").Data, enc.Attention!.Data.AsSpan(l * He * S * S, He * S * S), 1e-5f);
        for (int l = 0; l < model.Decoder.Spec.Layers; l++)
        {
            AssertNear(output, $"decoder_attention.{l}", g.ReadFloat($"decoder_attention.{l}").Data, dec.Attention!.Data.AsSpan(l * H * T * T, H * T * T), 1e-5f);
            AssertNear(output, $"cross_attention.{l}", g.ReadFloat($"cross_attention.{l}").Data, dec.CrossAttention!.Data.AsSpan(l * H * T * S, H * T * S), 1e-5f);
        }
    }
}

/// <summary>Gradient checks by central finite differences along one random direction per tensor.</summary>
public static class FiniteDifferences
{
    /// <summary>
    /// Compares ∇·dir (from <paramref name="grad"/>) with (f(x + ε·dir) − f(x − ε·dir)) / 2ε for a random dir, restoring
    /// <paramref name="value"/> afterwards; <paramref name="changed"/> runs after each edit (e.g. to mark a parameter
    /// changed). The error is relative to max(|numeric|, <paramref name="floor"/>).
    /// </summary>
    public static void AssertDirectional(ITestOutputHelper output, string name, float[] value, float[] grad, Func<double> objective, Random rng,
        float eps, double tolerance, double floor = 1.0, Action? changed = null)
    {
        var dir = value.Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        double analytic = 0;
        for (int i = 0; i < dir.Length; i++) analytic += (double)grad[i] * dir[i];
        var saved = (float[])value.Clone();
        for (int i = 0; i < value.Length; i++) value[i] = saved[i] + eps * dir[i];
        changed?.Invoke();
        double up = objective();
        for (int i = 0; i < value.Length; i++) value[i] = saved[i] - eps * dir[i];
        changed?.Invoke();
        double down = objective();
        saved.CopyTo(value, 0);
        changed?.Invoke();
        double numeric = (up - down) / (2 * eps);
        double err = Math.Abs(numeric - analytic) / Math.Max(floor, Math.Abs(numeric));
        output.WriteLine($"{name}: analytic {analytic:G6}, numeric {numeric:G6}, error {err:E1}");
        Assert.True(err < tolerance, $"{name}: analytic {analytic} vs numeric {numeric}");
    }
}
