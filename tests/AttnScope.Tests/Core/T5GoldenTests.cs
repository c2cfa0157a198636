using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Models;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Tests.Support;
using Xunit.Abstractions;

namespace AttnScope.Tests.Core;

/// <summary>
/// T5 on the core — RMSNorm pre-norm blocks, learned relative-position biases on unscaled scores (bidirectional buckets
/// in the encoder, causal in the decoder), cross-attention without bias, a tied head on d_model^−½-scaled states (t5) or
/// an untied one with a gated-gelu MLP (mt5 / v1.1) — against golden outputs computed with PyTorch tensor operations
/// following Hugging Face's T5ForConditionalGeneration on small random weights
/// (tests/AttnScope.Tests/Golden/make_t5_goldens.py). The reference is independent: written in Python from the published
/// definition of the model, it never runs the C# engine.
/// </summary>
public class T5GoldenTests(ITestOutputHelper output)
{
    public static TheoryData<string> Models => new() { "tiny-t5", "tiny-t5-gated" };

    private static string Folder(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", name);

    internal static (EncoderDecoderModel Model, int[] Source, int[] DecoderInput, int[] Generated, SafeTensorsFile Golden) Load(string name)
    {
        var model = T5Family.Load(Path.Combine(Folder(name), "config.json"), SafetensorsWeights.Load(Path.Combine(Folder(name), "model.safetensors")));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder(name), "golden.json")));
        int[] Ids(string key) => doc.RootElement.GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();
        return (model, Ids("source_ids"), Ids("decoder_input_ids"), Ids("generated_ids"), SafeTensorsFile.Open(Path.Combine(Folder(name), "golden.safetensors")));
    }

    private void Near(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> got, float tol) => Closeness.AssertNear(output, what, expected, got, tol);

    [Theory]
    [MemberData(nameof(Models))]
    public void EncoderDecoderAndCrossAttentionMatchThePyTorchReference(string name)
    {
        var (model, source, decoderInput, _, g) = Load(name);
        Closeness.AssertEncoderDecoderMatches(output, model, source, decoderInput, g);
    }

    [Fact]
    public void TheEncodersBucketsAreTheReferencesBiasMatrix()
    {
        // The bias the reference added to every encoder score (its bucket function on the table) against this code's
        // buckets over the same table: each distance, both directions, the log-spaced far buckets included.
        var (model, source, _, _, g) = Load("tiny-t5");
        var s = model.Encoder.Spec;
        var table = model.Encoder.Tensors.RelativeBias!;
        var expected = g.ReadFloat("encoder_position_bias");
        int S = source.Length, H = s.Heads;
        var got = new float[H * S * S];
        for (int h = 0; h < H; h++)
            for (int i = 0; i < S; i++)
                for (int j = 0; j < S; j++)
                    got[(h * S + i) * S + j] = table[RelativePositionBuckets.Bucket(j - i, true, s.RelativeBuckets, s.RelativeMaxDistance) * H + h];
        Near("encoder_position_bias", expected.Data, got, 0f);
        // the 14-token source reaches every bucket of the encoder's 8 but one: keys before the query use buckets 0-3 (distance
        // 0, 1, then the log-spaced 2-6 and 7+), keys after it 5-7; bucket 4 would be "after, distance 0", which cannot be
        var used = new HashSet<int>();
        for (int k = -(S - 1); k < S; k++) used.Add(RelativePositionBuckets.Bucket(k, true, s.RelativeBuckets, s.RelativeMaxDistance));
        Assert.Equal([0, 1, 2, 3, 5, 6, 7], used.Order());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void GreedyTranslationMatchesTheReference(string name)
    {
        var (model, source, _, generated, g) = Load(name);
        Assert.Equal(generated, model.Greedy(source, generated.Length, stopAtEos: false));
        var memory = model.Encode(source).Hidden;
        var genLogits = g.ReadFloat("gen_logits").Data;
        int v = model.Decoder.Spec.Vocab;
        for (int step = 0; step < generated.Length; step++)
        {
            var row = model.Decode([model.DecoderStartId, .. generated[..step]], memory, LogitRows.Last).Logits!.Data;
            Near($"gen_logits[{step}]", genLogits.AsSpan(step * v, v), row, 1e-4f);
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void ACachedDecoderGivesTheFullPassesNumbers(string name)
    {
        // One token at a time through a key/value cache: the relative bias of query position p is read at offset p.
        var (model, source, decoderInput, _, _) = Load(name);
        var memory = model.Encode(source).Hidden;
        var full = model.Decode(decoderInput, memory);
        var cache = model.Decoder.NewCache(decoderInput.Length);
        int v = model.Decoder.Spec.Vocab, T = decoderInput.Length, H = model.Decoder.Spec.Heads, L = model.Decoder.Spec.Layers;
        for (int i = 0; i < T; i++)
        {
            var step = model.Decoder.Forward(new ForwardInput { Ids = [decoderInput[i]], Memory = memory, Cache = cache, Logits = LogitRows.All });
            Near($"logits row {i}", full.Logits!.Data.AsSpan(i * v, v), step.Logits!.Data, 1e-5f);
            for (int l = 0; l < L; l++)
                for (int h = 0; h < H; h++)
                    Near($"self-attention l{l} h{h} row {i}", full.Attention!.Data.AsSpan(((l * H + h) * T + i) * T, i + 1),
                        step.Attention!.Data.AsSpan((l * H + h) * (i + 1), i + 1), 1e-6f);
        }
    }

    [Theory]
    [InlineData("tiny-t5", 1, 1.0)]
    [InlineData("tiny-t5", 4, 0.6)]
    [InlineData("tiny-t5-gated", 3, 1.0)]
    [InlineData("tiny-marian", 4, 1.0)]
    public void BeamSearchOnTheCacheEqualsReReadingEveryPrefix(string name, int beam, double alpha)
    {
        // the cached search (survivors take over their parent's cache) against the same search re-reading each prefix in
        // full: the same hypotheses with the same scores, bit for bit, finished or not
        var model = name == "tiny-marian"
            ? MarianFamily.Load(Path.Combine(Folder(name), "config.json"), SafetensorsWeights.Load(Path.Combine(Folder(name), "model.safetensors")))
            : Load(name).Model;
        int[] source = name == "tiny-marian" ? [12, 5, 27, 33, 8, 19, 2, 30, 0] : [7, 15, 22, 9, 31, 4, 18, 27, 12, 5, 1];
        var cached = model.Beam(source, beam, alpha, 12);
        var reread = model.Beam(source, beam, alpha, 12, useCache: false);
        Assert.Equal(reread.Compared.Count, cached.Compared.Count);
        for (int i = 0; i < reread.Compared.Count; i++)
        {
            Assert.Equal(reread.Compared[i].Ids, cached.Compared[i].Ids);
            Assert.Equal(reread.Compared[i].Score, cached.Compared[i].Score);
            Assert.Equal(reread.Compared[i].Finished, cached.Compared[i].Finished);
        }
        Assert.Equal(reread.Best.Ids, cached.Best.Ids);
        Assert.NotEmpty(cached.Best.Ids);
    }

    [Fact]
    public void ATruncatedRelativeBiasTableIsAClearError()
    {
        var dir = Directory.CreateTempSubdirectory("t5-bad").FullName;
        try
        {
            File.Copy(Path.Combine(Folder("tiny-t5"), "config.json"), Path.Combine(dir, "config.json"));
            var config = File.ReadAllText(Path.Combine(dir, "config.json")).Replace("\"relative_attention_num_buckets\": 8", "\"relative_attention_num_buckets\": 16");
            File.WriteAllText(Path.Combine(dir, "config.json"), config);
            var w = SafetensorsWeights.Load(Path.Combine(Folder("tiny-t5"), "model.safetensors"));
            var e = Assert.Throws<AttnScopeException>(() => T5Family.Load(Path.Combine(dir, "config.json"), w));
            Assert.Contains("relative_attention_bias", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AMaxDistanceInsideTheExactBucketsIsRefused()
    {
        var dir = Directory.CreateTempSubdirectory("t5-bad").FullName;
        try
        {
            var config = File.ReadAllText(Path.Combine(Folder("tiny-t5"), "config.json")).Replace("\"relative_attention_max_distance\": 20", "\"relative_attention_max_distance\": 2");
            File.WriteAllText(Path.Combine(dir, "config.json"), config);
            var w = SafetensorsWeights.Load(Path.Combine(Folder("tiny-t5"), "model.safetensors"));
            Assert.Contains("relative_attention_max_distance", Assert.Throws<AttnScopeException>(() => T5Family.Load(Path.Combine(dir, "config.json"), w)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
