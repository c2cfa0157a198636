using AttnScope.Capture;
using AttnScope.Sources.Transformer;
using Xunit;

namespace AttnScope.Tests.Core;

/// <summary>
/// Properties of the core that hold for any weights, each checked against a second, independent way of computing
/// the same thing (a model with edited weights, a model with repeated heads, a pass split in two).
/// </summary>
public class TransformerCoreTests
{
    internal static TransformerSpec Spec(int heads = 4, int kvHeads = 2, bool causal = true, int? window = null,
        PositionKind positions = PositionKind.Rotary, bool gated = true, NormKind norm = NormKind.RmsNorm) => new()
    {
        Family = "test", Layers = 2, Hidden = 32, Heads = heads, KvHeads = kvHeads, HeadDim = 8, Intermediate = 48, Vocab = 50,
        MaxPositions = 40, Norm = norm, Placement = NormPlacement.Pre, NormEps = 1e-5f, FinalNorm = true, Positions = positions,
        Rope = positions == PositionKind.Rotary ? new RopeSpec { Theta = 10000, RotaryDim = 8 } : null, Causal = causal,
        SlidingWindow = window, Activation = gated ? "silu" : "gelu_new", GatedMlp = gated, LmHead = true, TiedHead = false,
    };

    internal static CoreTensors Random(TransformerSpec s, int seed, float scale = 0.3f)
    {
        var rng = new Random(seed);
        float[] R(long n, float sc = 0) { var a = new float[n]; for (long i = 0; i < n; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * (sc == 0 ? scale : sc)); return a; }
        float[] Ones(int n) { var a = R(n, 0.1f); for (int i = 0; i < n; i++) a[i] += 1; return a; }
        int d = s.Hidden, q = s.QueryWidth, kv = s.KvWidth, I = s.Intermediate;
        bool ln = s.Norm == NormKind.LayerNorm;
        return new CoreTensors
        {
            TokenEmbeddings = R((long)s.Vocab * d, 1f),
            PositionEmbeddings = s.Positions == PositionKind.Learned ? R((long)s.MaxPositions * d, 0.5f) : null,
            Layers = Enumerable.Range(0, s.Layers).Select(_ => new CoreLayerTensors
            {
                Query = R((long)q * d), Key = R((long)kv * d), Value = R((long)kv * d), QueryBias = R(q, 0.1f), KeyBias = R(kv, 0.1f), ValueBias = R(kv, 0.1f),
                Output = R((long)d * q), OutputBias = R(d, 0.1f),
                Norm1Gain = Ones(d), Norm1Bias = ln ? R(d, 0.1f) : null, Norm2Gain = Ones(d), Norm2Bias = ln ? R(d, 0.1f) : null,
                Gate = s.GatedMlp ? R((long)I * d) : null, Up = R((long)I * d), UpBias = R(I, 0.1f), Down = R((long)d * I), DownBias = R(d, 0.1f),
            }).ToArray(),
            FinalNormGain = Ones(d), FinalNormBias = ln ? R(d, 0.1f) : null,
            Unembedding = R((long)s.Vocab * d),
        };
    }

    private static int[] Ids(int n, int seed) { var r = new Random(seed); return Enumerable.Range(0, n).Select(_ => r.Next(50)).ToArray(); }

    private static float MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        float w = 0;
        for (int i = 0; i < a.Length; i++) w = MathF.Max(w, MathF.Abs(a[i] - b[i]));
        return w;
    }

    [Theory]
    [InlineData(null)]
    [InlineData(3)]
    public void CausalAndWindowedMasks_HideExactlyTheRightKeys(int? window)
    {
        var s = Spec(window: window);
        var model = new TransformerModel(s, Random(s, 1), "test");
        int n = 11;
        var r = model.Forward(new ForwardInput { Ids = Ids(n, 2) });
        var a = r.Attention!;
        for (int l = 0; l < s.Layers; l++)
            for (int h = 0; h < s.Heads; h++)
                for (int i = 0; i < n; i++)
                {
                    double sum = 0;
                    for (int j = 0; j < n; j++)
                    {
                        float p = a.Data[((l * s.Heads + h) * n + i) * n + j];
                        bool visible = j <= i && (window is null || j > i - window);
                        if (!visible) Assert.Equal(0f, p);
                        else Assert.True(p > 0f);
                        sum += p;
                    }
                    Assert.InRange(sum, 1 - 1e-5, 1 + 1e-5);
                }
    }

    [Fact]
    public void GroupedQueryAttention_EqualsMultiHeadWithRepeatedKeyValueHeads()
    {
        var gqa = Spec(heads: 4, kvHeads: 2);
        var t = Random(gqa, 3);
        var mha = gqa with { KvHeads = 4 };
        int d = gqa.Hidden, dh = gqa.HeadDim;
        float[] Repeat(float[] w) // [2·dh, d] → [4·dh, d]: kv head g serves query heads 2g, 2g+1
        {
            var r = new float[4 * dh * d];
            for (int h = 0; h < 4; h++) w.AsSpan((h / 2) * dh * d, dh * d).CopyTo(r.AsSpan(h * dh * d, dh * d));
            return r;
        }
        float[] RepeatBias(float[] b) { var r = new float[4 * dh]; for (int h = 0; h < 4; h++) b.AsSpan((h / 2) * dh, dh).CopyTo(r.AsSpan(h * dh, dh)); return r; }
        var t2 = new CoreTensors
        {
            TokenEmbeddings = t.TokenEmbeddings, FinalNormGain = t.FinalNormGain, Unembedding = t.Unembedding,
            Layers = t.Layers.Select(l => new CoreLayerTensors
            {
                Query = l.Query, QueryBias = l.QueryBias, Key = Repeat(l.Key), KeyBias = RepeatBias(l.KeyBias!), Value = Repeat(l.Value), ValueBias = RepeatBias(l.ValueBias!),
                Output = l.Output, OutputBias = l.OutputBias, Norm1Gain = l.Norm1Gain, Norm2Gain = l.Norm2Gain,
                Gate = l.Gate, Up = l.Up, UpBias = l.UpBias, Down = l.Down, DownBias = l.DownBias,
            }).ToArray(),
        };
        var ids = Ids(13, 4);
        var a = new TransformerModel(gqa, t, "gqa").Forward(new ForwardInput { Ids = ids, Logits = LogitRows.All });
        var b = new TransformerModel(mha, t2, "mha").Forward(new ForwardInput { Ids = ids, Logits = LogitRows.All });
        Assert.True(MaxDiff(a.Attention!.Data, b.Attention!.Data) < 1e-6f);
        Assert.True(MaxDiff(a.Logits!.Data, b.Logits!.Data) < 1e-5f);
    }

    [Fact]
    public void ZeroAblatingAHeadThroughHookZ_EqualsZeroingItsOutputWeights()
    {
        var s = Spec();
        var t = Random(s, 5);
        var ids = Ids(9, 6);
        int layer = 1, head = 2, dh = s.HeadDim, d = s.Hidden, q = s.QueryWidth;
        var hooks = new HookSet().Edit(HookPoints.Z(layer), (z, ctx) =>
        {
            Assert.Equal([9, s.Heads, dh], ctx.Shape);
            for (int i = 0; i < ctx.Shape[0]; i++) z.Slice((i * s.Heads + head) * dh, dh).Clear();
        });
        var ablated = new TransformerModel(s, t, "t").Forward(new ForwardInput { Ids = ids, Logits = LogitRows.All, Hooks = hooks });

        var o = (float[])t.Layers[layer].Output.Clone(); // [d, heads·dh]: head's columns to zero
        for (int r = 0; r < d; r++) o.AsSpan(r * q + head * dh, dh).Clear();
        var layers = t.Layers.ToArray();
        var old = layers[layer];
        layers[layer] = new CoreLayerTensors
        {
            Query = old.Query, QueryBias = old.QueryBias, Key = old.Key, KeyBias = old.KeyBias, Value = old.Value, ValueBias = old.ValueBias,
            Output = o, OutputBias = old.OutputBias, Norm1Gain = old.Norm1Gain, Norm2Gain = old.Norm2Gain,
            Gate = old.Gate, Up = old.Up, UpBias = old.UpBias, Down = old.Down, DownBias = old.DownBias,
        };
        var edited = new CoreTensors { TokenEmbeddings = t.TokenEmbeddings, FinalNormGain = t.FinalNormGain, Unembedding = t.Unembedding, Layers = layers };
        var reference = new TransformerModel(s, edited, "t").Forward(new ForwardInput { Ids = ids, Logits = LogitRows.All });
        var clean = new TransformerModel(s, t, "t").Forward(new ForwardInput { Ids = ids, Logits = LogitRows.All });
        Assert.True(MaxDiff(reference.Logits!.Data, ablated.Logits!.Data) < 1e-5f);
        Assert.True(MaxDiff(clean.Logits!.Data, ablated.Logits!.Data) > 1e-3f);
    }

    [Fact]
    public void HookPoints_AreConsistentWithEachOther()
    {
        var s = Spec();
        var model = new TransformerModel(s, Random(s, 7), "t");
        var hooks = new HookSet().Record("blocks.0.*", "blocks.1.hook_resid_post", HookPoints.FinalNormalized);
        var r = model.Forward(new ForwardInput { Ids = Ids(7, 8), Hooks = hooks });
        var rec = hooks.Recorded;
        // resid_mid = resid_pre + attn_out, resid_post = resid_mid + mlp_out
        var pre = rec[HookPoints.ResidPre(0)].Data; var attn = rec[HookPoints.AttnOut(0)].Data; var mid = rec[HookPoints.ResidMid(0)].Data;
        var mlp = rec[HookPoints.MlpOut(0)].Data; var post = rec[HookPoints.ResidPost(0)].Data;
        Assert.True(MaxDiff(pre.Zip(attn, (a, b) => a + b).ToArray(), mid) < 1e-5f);
        Assert.True(MaxDiff(mid.Zip(mlp, (a, b) => a + b).ToArray(), post) < 1e-5f);
        Assert.Equal(r.Attention!.Data.AsSpan(0, s.Heads * 49).ToArray(), rec[HookPoints.Pattern(0)].Data);
        Assert.Equal([7, s.Heads, s.HeadDim], rec[HookPoints.Q(0)].Shape);
        Assert.Equal([7, s.KvHeads, s.HeadDim], rec[HookPoints.K(0)].Shape);
        Assert.Equal(r.Hidden.Data, rec[HookPoints.FinalNormalized].Data);
        Assert.NotEqual(rec[HookPoints.Q(0)].Data, rec[HookPoints.RotQ(0)].Data);
    }

    [Fact]
    public void APassSplitAcrossTheCache_EqualsOnePass()
    {
        var s = Spec(window: 4);
        var model = new TransformerModel(s, Random(s, 9), "t");
        var ids = Ids(12, 10);
        var whole = model.Forward(new ForwardInput { Ids = ids, Logits = LogitRows.All });
        var cache = model.NewCache(20);
        var a = model.Forward(new ForwardInput { Ids = ids[..5], Cache = cache, Logits = LogitRows.All });
        var b = model.Forward(new ForwardInput { Ids = ids[5..], Cache = cache, Logits = LogitRows.All });
        Assert.Equal(12, cache.Length);
        Assert.Equal(5, b.PositionOffset);
        Assert.Equal([s.Layers, s.Heads, 7, 12], b.Attention!.Shape);
        int v = s.Vocab;
        Assert.True(MaxDiff(whole.Logits!.Data.AsSpan(5 * v), b.Logits!.Data) < 1e-5f);
        Assert.True(MaxDiff(whole.Logits!.Data.AsSpan(0, 5 * v), a.Logits!.Data) < 1e-5f);
        for (int l = 0; l < s.Layers; l++)
            for (int h = 0; h < s.Heads; h++)
                for (int i = 0; i < 7; i++)
                    Assert.True(MaxDiff(whole.Attention!.Data.AsSpan(((l * s.Heads + h) * 12 + 5 + i) * 12, 12),
                        b.Attention.Data.AsSpan(((l * s.Heads + h) * 7 + i) * 12, 12)) < 1e-6f);
    }

    [Fact]
    public void Alibi_PenalisesDistanceWithTheHeadSlopes()
    {
        Assert.Equal([0.25f, 0.0625f, 0.015625f, 0.00390625f], TransformerModel.AlibiSlopes(4)); // 2^(−8(h+1)/n), Press et al.
        Assert.Equal(Enumerable.Range(1, 8).Select(h => 1f / (1 << h)).ToArray(), TransformerModel.AlibiSlopes(8));
        var s = Spec(positions: PositionKind.Alibi, kvHeads: 4) with { Rope = null };
        var model = new TransformerModel(s, Random(s, 11), "t");
        var r = model.Forward(new ForwardInput { Ids = Ids(6, 12), CaptureQkv = true });
        // score(i, j) = q_i·k_j/√d − slope·(i − j): check from the captured Q and K.
        int n = 6, dh = s.HeadDim;
        for (int h = 0; h < 4; h++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j <= i; j++)
                {
                    float dot = 0;
                    for (int c = 0; c < dh; c++) dot += r.Query!.Data[(h * n + i) * dh + c] * r.Key!.Data[(h * n + j) * dh + c];
                    float expected = dot / MathF.Sqrt(dh) - TransformerModel.AlibiSlopes(4)[h] * (i - j);
                    Assert.True(MathF.Abs(expected - r.Scores!.Data[(h * n + i) * n + j]) < 1e-4f);
                }
    }

    [Fact]
    public void BadInputs_AreOneClearLine()
    {
        var s = Spec();
        var model = new TransformerModel(s, Random(s, 13), "t");
        Assert.Contains("token id 50", Assert.Throws<AttnScopeException>(() => model.Forward(new ForwardInput { Ids = [1, 50] })).Message);
        Assert.Contains("no tokens", Assert.Throws<AttnScopeException>(() => model.Forward(new ForwardInput { Ids = [] })).Message);
        Assert.Contains("at most 40", Assert.Throws<AttnScopeException>(() => model.Forward(new ForwardInput { Ids = new int[41] })).Message);
        Assert.Contains("no hook point matches", Assert.Throws<AttnScopeException>(() =>
            model.Forward(new ForwardInput { Ids = [1], Hooks = new HookSet().Record("blocks.9.hook_resid_post") })).Message);
        Assert.Contains("cannot be edited", Assert.Throws<AttnScopeException>(() => new HookSet().Edit(HookPoints.Q(0), (_, _) => { })).Message);
        var cache = model.NewCache(4);
        model.Forward(new ForwardInput { Ids = [1, 2, 3], Cache = cache });
        Assert.Contains("cache", Assert.Throws<AttnScopeException>(() => model.Forward(new ForwardInput { Ids = [1, 2], Cache = cache })).Message);
        Assert.Contains("key/value heads", Assert.Throws<AttnScopeException>(() => new TransformerModel(s with { KvHeads = 3 }, Random(s, 1), "t")).Message);
        var t = Random(s, 1);
        Assert.Contains("layer 0: key weight", Assert.Throws<AttnScopeException>(() => new TransformerModel(s with { KvHeads = 4 }, t, "t")).Message);
    }
}

/// <summary>What a generation is checked for before it is saved: its attention, last hidden state and step logits.</summary>
public class GenerationOutputCheckTests
{
    [Fact]
    public void AGenerationIsCheckedIncludingItsLogits()
    {
        var s = TransformerCoreTests.Spec();
        var model = new TransformerModel(s, TransformerCoreTests.Random(s, 17), "t");
        var r = Generator.Generate(model, [1, 2, 3], 4, new SamplingOptions { StopAtEos = false });
        Assert.Equal(new[] { 1, s.Hidden }, r.LastHidden.Shape);
        // The last hidden state is the final-norm output of the last token, as a full pass gives it.
        var full = model.Forward(new ForwardInput { Ids = r.Ids });
        for (int k = 0; k < s.Hidden; k++)
            Assert.True(MathF.Abs(full.Hidden.Data[(r.Ids.Length - 1) * s.Hidden + k] - r.LastHidden.Data[k]) < 1e-4f);
        var seq = new AttnScope.Sources.SequenceAttention { LastHidden = r.LastHidden, Attention = r.Attention };
        AttnScope.Sources.OutputCheck.Verify(seq, "m", r.StepLogits);
        r.StepLogits.Data[5] = float.NaN;
        var e = Assert.Throws<AttnScopeException>(() => AttnScope.Sources.OutputCheck.Verify(seq, "m", r.StepLogits));
        Assert.Contains("the logits", e.Message);
    }
}
