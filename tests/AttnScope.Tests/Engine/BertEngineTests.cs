using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Sources.Engine;
using AttnScope.Sources.Models;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Sources.Tokenization;
using Xunit;

namespace AttnScope.Tests.Engine;

public class BertEngineTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static BertConfig Tiny(string act = "gelu") => new()
    {
        HiddenSize = 32, NumHeads = 4, NumLayers = 2, IntermediateSize = 64, VocabSize = 50,
        MaxPositions = 40, TypeVocabSize = 2, LayerNormEps = 1e-12f, HiddenAct = act, Origin = "test",
    };

    private static EncodedInput Input(int[] ids, int[]? types = null)
        => new(ids, types ?? new int[ids.Length], Array.Empty<CaptureToken>(), Array.Empty<string>());

    private static int[] RandomIds(int n, int seed, int vocab)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => r.Next(vocab)).ToArray();
    }

    private void AssertMatches(NaiveBert expected, SequenceAttention got, BertConfig c, int n, bool qkv)
    {
        int L = c.NumLayers, H = c.NumHeads, dh = c.HeadDim;
        Assert.Equal(new[] { n, c.HiddenSize }, got.LastHidden.Shape);
        Assert.Equal(new[] { L, H, n, n }, got.Attention.Shape);
        double worstHidden = 0, worstAtt = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c.HiddenSize; j++)
                worstHidden = Math.Max(worstHidden, Math.Abs(expected.Hidden[i, j] - got.LastHidden.Data[i * c.HiddenSize + j]));
        for (int l = 0; l < L; l++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < n; i++)
                {
                    double rowSum = 0;
                    for (int j = 0; j < n; j++)
                    {
                        rowSum += got.Attention[l, h, i, j];
                        worstAtt = Math.Max(worstAtt, Math.Abs(expected.Attention[l, h, i, j] - got.Attention[l, h, i, j]));
                    }
                    Assert.True(Math.Abs(rowSum - 1) < 1e-5, $"attention row sum {rowSum}");
                }
        output.WriteLine($"n={n}: attention max error {worstAtt:E2}, hidden max error {worstHidden:E2}");
        Assert.True(worstAtt <= 1e-5, $"attention max error {worstAtt}");
        Assert.True(worstHidden <= 1e-4, $"hidden max error {worstHidden}");
        if (!qkv)
        {
            Assert.Null(got.Query);
            Assert.Null(got.Scores);
            return;
        }
        double worstQkv = 0, worstScores = 0;
        for (int l = 0; l < L; l++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < n; i++)
                {
                    for (int d = 0; d < dh; d++)
                    {
                        worstQkv = Math.Max(worstQkv, Math.Abs(expected.Q[l, h, i, d] - got.Query![l, h, i, d]));
                        worstQkv = Math.Max(worstQkv, Math.Abs(expected.K[l, h, i, d] - got.Key![l, h, i, d]));
                        worstQkv = Math.Max(worstQkv, Math.Abs(expected.V[l, h, i, d] - got.Value![l, h, i, d]));
                    }
                    for (int j = 0; j < n; j++)
                        worstScores = Math.Max(worstScores, Math.Abs(expected.Scores[l, h, i, j] - got.Scores![l, h, i, j]));
                }
        output.WriteLine($"n={n}: Q/K/V max error {worstQkv:E2}, scores max error {worstScores:E2}");
        Assert.True(worstQkv <= 1e-4, $"Q/K/V max error {worstQkv}");
        Assert.True(worstScores <= 1e-4, $"scores max error {worstScores}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(23)]
    [InlineData(40)]
    public void MatchesNaiveReference(int n)
    {
        var c = Tiny();
        var w = NaiveBert.RandomWeights(c, seed: 1);
        var engine = BertFamily.Load(c, w);
        var ids = RandomIds(n, n, c.VocabSize);
        var got = engine.Run(Input(ids), captureQkv: true);
        AssertMatches(NaiveBert.Run(c, w, ids, new int[n]), got, c, n, qkv: true);
    }

    [Fact]
    public void SentencePairTokenTypes()
    {
        var c = Tiny();
        var w = NaiveBert.RandomWeights(c, seed: 2);
        var engine = BertFamily.Load(c, w);
        var ids = RandomIds(19, 5, c.VocabSize);
        var types = Enumerable.Range(0, 19).Select(i => i < 8 ? 0 : 1).ToArray();
        var got = engine.Run(Input(ids, types));
        AssertMatches(NaiveBert.Run(c, w, ids, types), got, c, 19, qkv: false);
        var single = engine.Run(Input(ids));
        Assert.NotEqual(single.LastHidden.Data, got.LastHidden.Data);
    }

    [Theory]
    [InlineData("relu")]
    [InlineData("gelu_new")]
    public void OtherActivations(string act)
    {
        var c = Tiny(act);
        var w = NaiveBert.RandomWeights(c, seed: 3);
        var ids = RandomIds(11, 3, c.VocabSize);
        AssertMatches(NaiveBert.Run(c, w, ids, new int[11]), BertFamily.Load(c, w).Run(Input(ids), true), c, 11, qkv: true);
    }

    [Fact]
    public void LargerHeadsAndMultiThreadedPaths()
    {
        // Big enough for the parallel GEMM and parallel-heads paths; head_dim 24 exercises partial panels.
        var c = new BertConfig
        {
            HiddenSize = 96, NumHeads = 4, NumLayers = 1, IntermediateSize = 200, VocabSize = 30,
            MaxPositions = 130, Origin = "test",
        };
        var w = NaiveBert.RandomWeights(c, seed: 4, scale: 0.15f);
        var ids = RandomIds(130, 9, c.VocabSize);
        var got = BertFamily.Load(c, w).Run(Input(ids), true);
        AssertMatches(NaiveBert.Run(c, w, ids, new int[130]), got, c, 130, qkv: true);
    }

    [Fact]
    public void MiniLmSizedLayerMatchesReference()
    {
        // all-MiniLM-L6-v2's widths (one layer, small vocabulary): every blocking path of the real model runs —
        // 72 QKV panels, k-blocks over 1536, 48-row attention blocks, parallel GEMMs and heads.
        var c = new BertConfig
        {
            HiddenSize = 384, NumHeads = 12, NumLayers = 1, IntermediateSize = 1536, VocabSize = 60,
            MaxPositions = 128, Origin = "test",
        };
        var w = NaiveBert.RandomWeights(c, seed: 12, scale: 0.08f);
        var ids = RandomIds(101, 12, c.VocabSize);
        var types = Enumerable.Range(0, 101).Select(i => i < 60 ? 0 : 1).ToArray();
        var got = BertFamily.Load(c, w).Run(Input(ids, types), captureQkv: true);
        AssertMatches(NaiveBert.Run(c, w, ids, types), got, c, 101, qkv: true);
    }

    [Fact]
    public void BatchOfDifferentLengthsEqualsSingleRuns()
    {
        var c = Tiny();
        var w = NaiveBert.RandomWeights(c, seed: 5);
        var engine = BertFamily.Load(c, w);
        var inputs = new[] { Input(RandomIds(5, 1, 50)), Input(RandomIds(33, 2, 50)), Input(RandomIds(12, 3, 50)) };
        var batch = engine.RunBatch(inputs, captureQkv: true);
        Assert.Equal(3, batch.Count);
        for (int b = 0; b < inputs.Length; b++)
        {
            var single = engine.Run(inputs[b], captureQkv: true);
            Assert.Equal(single.Attention.Data, batch[b].Attention.Data);
            Assert.Equal(single.LastHidden.Data, batch[b].LastHidden.Data);
            Assert.Equal(single.Scores!.Data, batch[b].Scores!.Data);
        }
    }

    [Fact]
    public void ConcurrentRunsMatchSequentialRuns()
    {
        var c = new BertConfig
        {
            HiddenSize = 64, NumHeads = 4, NumLayers = 2, IntermediateSize = 128, VocabSize = 40,
            MaxPositions = 100, Origin = "test",
        };
        var engine = BertFamily.Load(c, NaiveBert.RandomWeights(c, seed: 10, scale: 0.2f));
        var inputs = Enumerable.Range(0, 6).Select(i => Input(RandomIds(30 + 11 * i, i, c.VocabSize))).ToArray();
        var expected = inputs.Select(x => engine.Run(x)).ToArray();
        var got = new SequenceAttention[inputs.Length];
        Parallel.For(0, inputs.Length, new ParallelOptions { MaxDegreeOfParallelism = 3 }, i => got[i] = engine.Run(inputs[i]));
        for (int i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(expected[i].Attention.Data, got[i].Attention.Data);
            Assert.Equal(expected[i].LastHidden.Data, got[i].LastHidden.Data);
        }
    }

    [Fact]
    public void WrongWeightShape_NamesTensor()
    {
        var c = Tiny();
        var w = NaiveBert.RandomWeights(c, seed: 6);
        w.Add("encoder.layer.1.intermediate.dense.weight", new FloatTensor([32, 64]));
        var e = Assert.Throws<AttnScopeException>(() => BertFamily.Load(c, w));
        Assert.Contains("encoder.layer.1.intermediate.dense.weight", e.Message);
        Assert.Contains("[32, 64]", e.Message);
        Assert.Contains("[64, 32]", e.Message);
    }

    [Fact]
    public void MissingTensor_NamesTensor()
    {
        var c = Tiny();
        var full = NaiveBert.RandomWeights(c, seed: 7);
        var w = new WeightStore("partial");
        foreach (var name in full.Names.Where(n => n != "encoder.layer.0.attention.self.key.bias")) w.Add(name, full.Get(name));
        var e = Assert.Throws<AttnScopeException>(() => BertFamily.Load(c, w));
        Assert.Contains("encoder.layer.0.attention.self.key.bias", e.Message);
    }

    [Fact]
    public void BadInputs_AreClearErrors()
    {
        var c = Tiny();
        var engine = BertFamily.Load(c, NaiveBert.RandomWeights(c, seed: 8));
        var e = Assert.Throws<AttnScopeException>(() => engine.Run(Input([1, 2, 50])));
        Assert.Contains("token id 50", e.Message);
        Assert.Contains("position 2", e.Message);
        e = Assert.Throws<AttnScopeException>(() => engine.Run(Input([1, -3])));
        Assert.Contains("token id -3", e.Message);
        e = Assert.Throws<AttnScopeException>(() => engine.Run(Input([1, 2], [0, 2])));
        Assert.Contains("token type id 2", e.Message);
        e = Assert.Throws<AttnScopeException>(() => engine.Run(Input(new int[41])));
        Assert.Contains("at most 40", e.Message);
        e = Assert.Throws<AttnScopeException>(() => engine.Run(Input([])));
        Assert.Contains("no tokens", e.Message);
        e = Assert.Throws<AttnScopeException>(() => engine.RunBatch([Input([1]), Input([99])]));
        Assert.Contains("input 1", e.Message);
    }
}
