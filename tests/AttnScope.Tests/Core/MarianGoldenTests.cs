using System.Text.Json;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Models;
using AttnScope.Sources.Transformer.Families;
using Xunit.Abstractions;

namespace AttnScope.Tests.Core;

/// <summary>
/// An encoder-decoder (Marian) on the core — encoder self-attention, causal decoder self-attention and
/// cross-attention — against golden outputs of PyTorch modules following Hugging Face's Marian on a small
/// random-weight model (tests/AttnScope.Tests/Golden/make_marian_golden.py).
/// </summary>
public class MarianGoldenTests(ITestOutputHelper output)
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "Golden", "tiny-marian");

    private static (EncoderDecoderModel Model, int[] Source, int[] DecoderInput, int[] Generated, SafeTensorsFile Golden) Load()
    {
        var model = MarianFamily.Load(Path.Combine(Folder, "config.json"), SafetensorsWeights.Load(Path.Combine(Folder, "model.safetensors")));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "golden.json")));
        int[] Ids(string key) => doc.RootElement.GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();
        return (model, Ids("source_ids"), Ids("decoder_input_ids"), Ids("generated_ids"), SafeTensorsFile.Open(Path.Combine(Folder, "golden.safetensors")));
    }

    private void Near(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> got, float tol)
    {
        Assert.Equal(expected.Length, got.Length);
        float worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = MathF.Max(worst, MathF.Abs(expected[i] - got[i]));
        output.WriteLine($"{what}: max |Δ| {worst:E2}");
        Assert.True(worst <= tol, $"{what}: max |Δ| {worst} > {tol}");
    }

    [Fact]
    public void EncoderDecoderAndCrossAttentionMatchThePyTorchReference()
    {
        var (model, source, decoderInput, _, g) = Load();
        var enc = model.Encode(source);
        var dec = model.Decode(decoderInput, enc.Hidden);
        int S = source.Length, T = decoderInput.Length, H = model.Decoder.Spec.Heads;
        Near("encoder_out", g.ReadFloat("encoder_out").Data, enc.Hidden.Data, 1e-4f);
        Near("decoder_out", g.ReadFloat("decoder_out").Data, dec.Hidden.Data, 1e-4f);
        Near("logits", g.ReadFloat("logits").Data, dec.Logits!.Data, 1e-4f);
        for (int l = 0; l < model.Encoder.Spec.Layers; l++)
            Near($"encoder_attention.{l}", g.ReadFloat($"encoder_attention.{l}").Data, enc.Attention!.Data.AsSpan(l * H * S * S, H * S * S), 1e-5f);
        for (int l = 0; l < model.Decoder.Spec.Layers; l++)
        {
            Near($"decoder_attention.{l}", g.ReadFloat($"decoder_attention.{l}").Data, dec.Attention!.Data.AsSpan(l * H * T * T, H * T * T), 1e-5f);
            Near($"cross_attention.{l}", g.ReadFloat($"cross_attention.{l}").Data, dec.CrossAttention!.Data.AsSpan(l * H * T * S, H * T * S), 1e-5f);
        }
    }

    [Fact]
    public void GreedyTranslationMatchesTheReference()
    {
        var (model, source, _, generated, _) = Load();
        Assert.Equal(generated, model.Greedy(source, generated.Length, stopAtEos: false));
    }

    [Fact]
    public void TheDecoderRefusesToRunWithoutTheEncodersOutput()
    {
        var (model, _, decoderInput, _, _) = Load();
        Assert.Contains("encoder's output", Assert.Throws<AttnScope.Capture.AttnScopeException>(() =>
            model.Decoder.Forward(new AttnScope.Sources.Transformer.ForwardInput { Ids = decoderInput })).Message);
    }
}
