using AttnScope.Analyses.Relevance;
using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Analyses;

/// <summary>
/// Gradient relevance of an embedding model on a tiny random BERT: the gradients with respect to every attention
/// probability against central finite differences (in double precision, so they agree to ~1e-8), the relevance
/// matrix against its closed form, and the errors for captures that do not fit. The gradients come from the one
/// Transformer core's float32 backward pass, so the finite differences use a step where float rounding stays well
/// below the derivative.
/// </summary>
public sealed class RelevanceEmbeddingTests : IDisposable
{
    private const string Text = "the cat sat on the mat .", Compare = "a big dog slept on it !";
    private readonly TempDir _dir = new();
    private readonly ModelSession _session;
    private readonly EmbeddingRelevance _relevance;

    public RelevanceEmbeddingTests()
    {
        _session = ModelSession.Open(TinyBert.WriteFolder(_dir.File("tiny")));
        _relevance = new EmbeddingRelevance(_session);
    }

    public void Dispose()
    {
        _session.Dispose();
        _dir.Dispose();
    }

    /// <summary>
    /// For every layer and head: a random direction D over the whole head; (f(P + εD) − f(P − εD))/2ε with the
    /// forward re-run on the changed probabilities must equal Σ ∂f/∂P ⊙ D.
    /// </summary>
    internal static void CheckDirectionalDerivatives(EmbeddingRelevance relevance, ModelSession session, string text, string compare,
        IEnumerable<(int Layer, int Head)> heads, double tolerance)
    {
        var model = relevance.Model;
        int width = model.Config.HiddenSize;
        var input = session.Encode(text);
        int n = input.Length;
        var other = model.Forward(session.Encode(compare)).LastHidden;
        var pass = model.Forward(input);
        var (_, dHidden) = EmbeddingRelevance.CosineTarget(pass.LastHidden, other, width);
        var gradients = model.Backward(pass, dHidden);
        Assert.Equal(model.Config.NumLayers, gradients.Length);
        const double eps = 1e-2;
        var random = new Random(11);
        double largest = 0;
        foreach (var (layer, head) in heads)
        {
            var direction = new double[n * n];
            for (int i = 0; i < direction.Length; i++) direction[i] = random.NextDouble() * 2 - 1;
            double analytic = 0;
            for (int i = 0; i < direction.Length; i++) analytic += gradients[layer][head * n * n + i] * direction[i];
            double Cosine(double sign) => EmbeddingRelevance.CosineTarget(model.Forward(input, (l, h, p) =>
            {
                if (l != layer || h != head) return;
                for (int i = 0; i < p.Length; i++) p[i] += (float)(sign * eps * direction[i]);
            }).LastHidden, other, width).Cosine;
            double numeric = (Cosine(1) - Cosine(-1)) / (2 * eps);
            Assert.True(Math.Abs(numeric - analytic) <= tolerance * Math.Abs(analytic) + 2e-5, // relative, plus float32 rounding of the cosine over 2ε
                $"layer {layer} head {head}: analytic {analytic:G8}, numeric {numeric:G8}");
            largest = Math.Max(largest, Math.Abs(analytic));
        }
        Assert.True(largest > 1e-4, "every directional derivative is ~0: the check would prove nothing");
    }

    [Fact]
    public void AttentionGradientsMatchFiniteDifferencesOnEveryHead()
    {
        var all = Enumerable.Range(0, TinyBert.Layers).SelectMany(l => Enumerable.Range(0, TinyBert.Heads).Select(h => (l, h)));
        CheckDirectionalDerivatives(_relevance, _session, Text, Compare, all, 2e-3);
    }

    [Fact]
    public void DoubleForwardReproducesTheEngineAndTheCosineOfMeanPooledStates()
    {
        var input = _session.Encode(Text);
        var engine = _session.Source.Run([input, _session.Encode(Compare)], captureQkv: false);
        var pass = _relevance.Model.Forward(input);
        for (int l = 0; l < TinyBert.Layers; l++)
        {
            var mine = pass.Attention(l);
            var theirs = engine[0].Attention.Slice(l);
            for (int i = 0; i < theirs.Length; i++) Assert.True(Math.Abs(mine[i] - theirs[i]) < 1e-5, $"layer {l} [{i}]");
        }
        // The cosine of the engine's (float32) mean-pooled last hidden states.
        double[] Pool(FloatTensor h)
        {
            int rows = h.Shape[0], w = h.Shape[1];
            var m = new double[w];
            for (int i = 0; i < rows; i++) for (int k = 0; k < w; k++) m[k] += h.Data[i * w + k] / (double)rows;
            return m;
        }
        var a = Pool(engine[0].LastHidden);
        var b = Pool(engine[1].LastHidden);
        double expected = a.Zip(b, (x, y) => x * y).Sum() / Math.Sqrt(a.Sum(x => x * x) * b.Sum(x => x * x));
        var result = _relevance.Explain(_session.Capture(Text), Compare);
        Assert.Equal(expected, (double)result.Info["similarity"]!, 5);
    }

    [Fact]
    public void RelevanceIsTheProductOfIdentityPlusWeightedAttentionAndSaliencyItsMeanRowWithoutTheIdentity()
    {
        var model = _relevance.Model;
        var input = _session.Encode(Text);
        int n = input.Length, heads = TinyBert.Heads;
        var pass = model.Forward(input);
        var (_, dHidden) = EmbeddingRelevance.CosineTarget(pass.LastHidden, model.Forward(_session.Encode(Compare)).LastHidden, TinyBert.Hidden);
        var gradients = model.Backward(pass, dHidden);

        // R = (I + Ā_L)···(I + Ā_1), each Ā = mean over heads of max(0, ∇A ⊙ A), written out here element by element.
        var r = new double[n, n];
        for (int i = 0; i < n; i++) r[i, i] = 1;
        for (int l = 0; l < TinyBert.Layers; l++)
        {
            var a = new double[n, n];
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++)
                        a[i, j] += Math.Max(0, pass.Attention(l)[(h * n + i) * n + j] * gradients[l][(h * n + i) * n + j]) / heads;
            var next = new double[n, n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = r[i, j];
                    for (int k = 0; k < n; k++) s += a[i, k] * r[k, j];
                    next[i, j] = s;
                }
            r = next;
        }

        var result = _relevance.Explain(_session.Capture(Text), Compare);
        var rel = result.Relevance[AttentionStack.Encoder];
        Assert.Equal(new[] { n, n }, rel.Shape);
        Assert.Equal(new[] { n }, result.Source.Shape);
        Assert.Null(result.Target);
        bool offDiagonal = false;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                Assert.Equal(r[i, j], rel.Data[i * n + j], 5);
                if (i != j && r[i, j] > 1e-6) offDiagonal = true;
            }
        Assert.True(offDiagonal, "relevance stayed the identity: the test would not see the rule");
        for (int j = 0; j < n; j++)
        {
            double mean = 0;
            for (int i = 0; i < n; i++) mean += (r[i, j] - (i == j ? 1 : 0)) / n;
            Assert.Equal(mean, result.Source.Data[j], 5);
        }
        Assert.Equal("cosine", (string)result.Info["target"]!);
        Assert.Equal(Compare, (string)result.Info["compare_text"]!);
    }

    [Fact]
    public void TheResultIsStoredInTheCaptureAndReadBack()
    {
        var capture = _session.Capture(Text);
        var result = _relevance.Explain(capture, Compare);
        var back = SaliencyResult.From(AttentionCapture.FromBytes(capture.WithAnalyses(result.ToAnalyses()).ToBytes()))!;
        Assert.Equal(result.Source.Data, back.Source.Data);
        Assert.Equal(result.Relevance[AttentionStack.Encoder].Data, back.Relevance[AttentionStack.Encoder].Data);
        Assert.Equal((double)result.Info["similarity"]!, (double)back.Info["similarity"]!);
    }

    [Fact]
    public void AModelNameGivesTheSameRelevanceAsAnOpenSession()
    {
        var capture = _session.Capture(Text);
        var byName = GradientRelevance.ForEmbedding(_dir.File("tiny"), capture, Compare);
        var bySession = GradientRelevance.ForEmbedding(_session, capture, Compare);
        Assert.Equal(bySession.Source.Data, byName.Source.Data);
        Assert.Equal((double)bySession.Info["similarity"]!, (double)byName.Info["similarity"]!);
    }

    [Fact]
    public void CapturesThatDoNotFitAreRefusedWithAClearMessage()
    {
        var capture = _session.Capture(Text);
        var pair = _session.Capture("the cat", "the dog");
        Assert.Contains("sentence pair", Assert.Throws<AttnScopeException>(() => _relevance.Explain(pair, Compare)).Message);
        Assert.Contains("empty", Assert.Throws<AttnScopeException>(() => _relevance.Explain(capture, "  ")).Message);

        var tokens = capture.Tokens.ToList();
        tokens[2] = tokens[2] with { Id = tokens[2].Id + 1 };
        var edited = new AttentionCapture(capture.Metadata, tokens, capture.Stacks.Values);
        var msg = Assert.Throws<AttnScopeException>(() => _relevance.Explain(edited, Compare)).Message;
        Assert.Contains("does not belong", msg);
        Assert.Contains("token 2", msg);

        using var otherDir = new TempDir();
        using var other = ModelSession.Open(TinyBert.WriteFolder(otherDir.File("tiny"), seed: 8));
        msg = Assert.Throws<AttnScopeException>(() => _relevance.Explain(other.Capture(Text), Compare)).Message;
        Assert.Contains("differs", msg);

        var translation = RelevanceTranslationTests.TinyTranslator().CaptureReference("the dog sleeps", "der Hund schläft");
        Assert.Contains("translation", Assert.Throws<AttnScopeException>(() => _relevance.Explain(translation, Compare)).Message);
    }
}
