using AttnScope.Capture;
using AttnScope.Sources.Models;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;

namespace AttnScope.Tests.Core;

/// <summary>
/// A batched decoding step (<see cref="ForwardInput.Caches"/>: several hypotheses, one cache each, one pass) against the
/// same steps run one hypothesis at a time: the same logits bit for bit and the same caches afterwards, on a
/// grouped-query rotary decoder with a sliding window (tiny-mistral) and on T5's decoder (relative-position biases,
/// cross-attention); wrong batches are refused.
/// </summary>
public class BatchedStepTests
{
    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", name);

    /// <summary>Three hypotheses with different prefixes (caches filled one token at a time), then one more token each.</summary>
    private static void AssertBatchedEqualsSingle(TransformerModel model, FloatTensor? memory, int vocabLimit)
    {
        int[][] prefixes = [[3, 9, 4, 7, 1], [5, 5, 2, 8, 6], [11, 4, 9, 3, 2]];
        int[] next = [6 % vocabLimit, 10 % vocabLimit, 2];
        KvCache Fill(int[] prefix)
        {
            var c = model.NewCache(16);
            foreach (int id in prefix) model.Forward(new ForwardInput { Ids = [id], Cache = c, Memory = memory, SkipAttention = true });
            return c;
        }
        var singles = prefixes.Select(Fill).ToArray();
        var batched = prefixes.Select(Fill).ToArray();
        var one = new float[3][];
        for (int b = 0; b < 3; b++)
            one[b] = model.Forward(new ForwardInput { Ids = [next[b]], Cache = singles[b], Memory = memory, Logits = LogitRows.All, SkipAttention = true }).Logits!.Data;
        var all = model.Forward(new ForwardInput { Ids = next, Caches = batched, Memory = memory, Logits = LogitRows.All, SkipAttention = true }).Logits!.Data;
        int v = model.Spec.Vocab;
        for (int b = 0; b < 3; b++)
        {
            Assert.Equal(one[b], all.AsSpan(b * v, v).ToArray());
            Assert.Equal(singles[b].Length, batched[b].Length);
            for (int l = 0; l < model.Spec.Layers; l++)
            {
                Assert.Equal(singles[b].Keys[l].AsSpan(0, 6 * model.Spec.KvWidth).ToArray(), batched[b].Keys[l].AsSpan(0, 6 * model.Spec.KvWidth).ToArray());
                Assert.Equal(singles[b].Values[l].AsSpan(0, 6 * model.Spec.KvWidth).ToArray(), batched[b].Values[l].AsSpan(0, 6 * model.Spec.KvWidth).ToArray());
            }
        }
        // the hypotheses differ: a batch that mixed up its caches could not pass the comparison above
        Assert.NotEqual(all.AsSpan(0, v).ToArray(), all.AsSpan(v, v).ToArray());
    }

    [Fact]
    public void ARotaryGroupedQueryDecoderWithASlidingWindow()
    {
        var dir = Golden("tiny-mistral");
        var model = ModelFamilies.LoadDecoder(Path.Combine(dir, "config.json"), SafetensorsWeights.Load(Path.Combine(dir, "model.safetensors")));
        Assert.True(model.Spec.KvHeads < model.Spec.Heads && model.Spec.SlidingWindow is not null);
        AssertBatchedEqualsSingle(model, null, model.Spec.Vocab);
    }

    [Fact]
    public void T5sDecoderWithRelativeBiasesAndCrossAttention()
    {
        var t5 = T5GoldenTests.Load("tiny-t5-gated").Model;
        var memory = t5.Encode([7, 15, 22, 9, 31, 4, 1]).Hidden;
        AssertBatchedEqualsSingle(t5.Decoder, memory, t5.Decoder.Spec.Vocab);
    }

    [Fact]
    public void WrongBatchesAreRefused()
    {
        var t5 = T5GoldenTests.Load("tiny-t5").Model;
        var memory = t5.Encode([7, 15, 1]).Hidden;
        var a = t5.Decoder.NewCache(8);
        var b = t5.Decoder.NewCache(8);
        t5.Decoder.Forward(new ForwardInput { Ids = [0], Cache = a, Memory = memory, SkipAttention = true });
        AttnScopeException Refused(ForwardInput input) => Assert.Throws<AttnScopeException>(() => t5.Decoder.Forward(input));
        Assert.Contains("same length", Refused(new ForwardInput { Ids = [3, 4], Caches = [a, b], Memory = memory, SkipAttention = true }).Message);
        Assert.Contains("2 caches", Refused(new ForwardInput { Ids = [3, 4, 5], Caches = [b, t5.Decoder.NewCache(8)], Memory = memory, SkipAttention = true }).Message);
        Assert.Contains("SkipAttention", Refused(new ForwardInput { Ids = [3, 4], Caches = [b, t5.Decoder.NewCache(8)], Memory = memory }).Message);
        var other = T5GoldenTests.Load("tiny-t5-gated").Model.Decoder; // 3 layers, narrower keys
        Assert.Contains("another model", Refused(new ForwardInput { Ids = [3, 4], Caches = [other.NewCache(8), other.NewCache(8)], Memory = memory, SkipAttention = true }).Message);
    }
}
