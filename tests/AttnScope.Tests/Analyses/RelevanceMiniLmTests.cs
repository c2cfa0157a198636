using AttnScope.Analyses.Relevance;
using AttnScope.Capture;
using AttnScope.Tests.Integration;

namespace AttnScope.Tests.Analyses;

/// <summary>
/// Gradient relevance on the real default model (the embedded all-MiniLM-L6-v2): the cosine target against
/// ONNX Runtime's embeddings (an independent implementation), gradients against finite differences on a few heads,
/// and captures from either engine accepted by the attention guard.
/// </summary>
[Collection("minilm")]
public class RelevanceMiniLmTests(MiniLmSessions sessions)
{
    private const string Text = "The cat sat on the mat.", Compare = "A kitten is sleeping on a rug.";
    private static EmbeddingRelevance? _relevance;
    private EmbeddingRelevance Relevance => _relevance ??= new EmbeddingRelevance(sessions.Managed);

    private static double[] MeanPool(FloatTensor hidden)
    {
        int n = hidden.Shape[0], w = hidden.Shape[1];
        var m = new double[w];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < w; k++) m[k] += hidden.Data[i * w + k] / (double)n;
        return m;
    }

    [Fact]
    public void CosineTargetEqualsTheCosineOfOnnxRuntimeEmbeddings()
    {
        var onnx = sessions.Onnx.Source.Run([sessions.Onnx.Encode(Text), sessions.Onnx.Encode(Compare)], captureQkv: false);
        var a = MeanPool(onnx[0].LastHidden);
        var b = MeanPool(onnx[1].LastHidden);
        double expected = a.Zip(b, (x, y) => x * y).Sum() / Math.Sqrt(a.Sum(x => x * x) * b.Sum(x => x * x));
        Assert.InRange(expected, 0.2, 0.95); // related but different sentences: the test is not at a trivial value

        // A capture made by ONNX Runtime passes the attention guard as well as one from the managed engine.
        foreach (var capture in new[] { sessions.Managed.Capture(Text), sessions.Onnx.Capture(Text) })
        {
            var result = Relevance.Explain(capture, Compare);
            Assert.Equal(expected, (double)result.Info["similarity"]!, 5);
            Assert.Equal(capture.Tokens.Count, result.Source.Shape[0]);
            Assert.Contains(result.Source.Data, v => v > 0);
        }
    }

    [Fact]
    public void AttentionGradientsMatchFiniteDifferencesOnSeveralHeads() =>
        RelevanceEmbeddingTests.CheckDirectionalDerivatives(Relevance, sessions.Managed, Text, Compare,
            [(0, 3), (2, 7), (4, 0), (5, 11)], 2e-3);

    [Fact]
    public void ADifferentTextUnderTheSameTokensIsRefused()
    {
        var capture = sessions.Managed.Capture(Text);
        var meta = new CaptureMetadata
        {
            ModelId = capture.Metadata.ModelId, Architecture = capture.Metadata.Architecture, Source = capture.Metadata.Source,
            Texts = ["The dog sat on the mat."],
        };
        var msg = Assert.Throws<AttnScopeException>(() => Relevance.Explain(new AttentionCapture(meta, capture.Tokens, capture.Stacks.Values), Compare)).Message;
        Assert.Contains("does not belong", msg);
    }
}
