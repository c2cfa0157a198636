using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Audio;
using AttnScope.Sources.Transformer.Families;
using Xunit.Abstractions;

namespace AttnScope.Tests.Speech;

/// <summary>
/// Whisper on the core — the convolutions as im2col products, encoder self-attention, causal decoder self-attention,
/// cross-attention, greedy decoding — against golden outputs of a tiny random Whisper written with PyTorch's own modules
/// (nn.Conv1d, nn.Linear, nn.LayerNorm, F.gelu, softmax) in Hugging Face's layout
/// (tests/AttnScope.Tests/Golden/make_whisper_goldens.py); nothing there uses AttnScope.
/// </summary>
public class WhisperGoldenTests(ITestOutputHelper output)
{
    internal static string Folder => Path.Combine(AppContext.BaseDirectory, "Golden", "tiny-whisper");

    private static (WhisperModel Model, FloatTensor Mel, int[] DecoderInput, int[] Prompt, int[] Generated, SafeTensorsFile Golden) Load()
    {
        var model = WhisperModel.Load(Folder);
        var mel = SafeTensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Golden", "whisper-logmel", "golden.safetensors")).ReadFloat("mel80_n12800");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "golden.json")));
        int[] Ids(string key) => doc.RootElement.GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();
        return (model, mel, Ids("decoder_input_ids"), Ids("prompt_ids"), Ids("generated_ids"), SafeTensorsFile.Open(Path.Combine(Folder, "golden.safetensors")));
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
        var (model, mel, decoderInput, _, _, g) = Load();
        Near("encoder_conv", g.ReadFloat("encoder_conv").Data, model.ConvRows(mel), 1e-4f);
        var enc = model.Encode(mel);
        var dec = model.Decode(decoderInput, enc.Hidden);
        int F = enc.Hidden.Shape[0], T = decoderInput.Length, H = model.Decoder.Spec.Heads;
        Assert.Equal(40, F);
        Near("encoder_out", g.ReadFloat("encoder_out").Data, enc.Hidden.Data, 1e-4f);
        Near("decoder_out", g.ReadFloat("decoder_out").Data, dec.Hidden.Data, 1e-4f);
        Near("logits", g.ReadFloat("logits").Data, dec.Logits!.Data, 1e-4f);
        for (int l = 0; l < model.Encoder.Spec.Layers; l++)
            Near($"encoder_attention.{l}", g.ReadFloat($"encoder_attention.{l}").Data, enc.Attention!.Data.AsSpan(l * H * F * F, H * F * F), 1e-5f);
        for (int l = 0; l < model.Decoder.Spec.Layers; l++)
        {
            Near($"decoder_attention.{l}", g.ReadFloat($"decoder_attention.{l}").Data, dec.Attention!.Data.AsSpan(l * H * T * T, H * T * T), 1e-5f);
            Near($"cross_attention.{l}", g.ReadFloat($"cross_attention.{l}").Data, dec.CrossAttention!.Data.AsSpan(l * H * T * F, H * T * F), 1e-5f);
        }
    }

    [Fact]
    public void TheSinusoidsAreWhispersTable()
    {
        var w = AttnScope.Sources.Models.SafetensorsWeights.Load(Path.Combine(Folder, "model.safetensors"));
        var table = w.Get("model.encoder.embed_positions.weight");
        // float32 sin/cos of angles up to 40 rad: a few ulp (4e-6) apart between libraries
        Near("sinusoids", table.Data, WhisperFamily.Sinusoids(table.Shape[0], table.Shape[1]), 1e-5f);
    }

    [Fact]
    public void GreedyDecodingMatchesTokenForTokenAndTheCacheEqualsRecomputation()
    {
        var (model, mel, _, prompt, generated, _) = Load();
        Assert.Equal(prompt, model.Prompt());
        var cached = model.Transcribe(mel, prompt, generated.Length, useCache: true, stopAtEos: false);
        var full = model.Transcribe(mel, prompt, generated.Length, useCache: false, stopAtEos: false);
        Assert.Equal(generated, cached.Produced);
        Assert.Equal(generated, full.Produced);
        Near("decoder attention, cache vs recomputation", full.DecoderAttention.Data, cached.DecoderAttention.Data, 1e-6f);
        Near("cross attention, cache vs recomputation", full.CrossAttention.Data, cached.CrossAttention.Data, 1e-6f);
        // and both equal one teacher-forced pass over the whole sequence
        var again = model.Decode(cached.Ids, cached.Memory);
        Near("cross attention vs teacher forcing", again.CrossAttention!.Data, cached.CrossAttention.Data, 1e-6f);
    }

    [Fact]
    public void WrongInputsGiveClearErrors()
    {
        var (model, _, _, _, _, _) = Load();
        Assert.Contains("[80, frames]", Assert.Throws<AttnScopeException>(() => model.Encode(new FloatTensor([40, 10]))).Message);
        Assert.Contains("40 positions", Assert.Throws<AttnScopeException>(() => model.Encode(new FloatTensor([80, 100]))).Message);
    }
}
