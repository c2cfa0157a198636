using System.Text.Json;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Models;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Tests.Support;
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

    [Fact]
    public void EncoderDecoderAndCrossAttentionMatchThePyTorchReference()
    {
        var (model, source, decoderInput, _, g) = Load();
        Closeness.AssertEncoderDecoderMatches(output, model, source, decoderInput, g);
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
