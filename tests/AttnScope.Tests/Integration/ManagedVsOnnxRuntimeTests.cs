using AttnScope.Sources;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Tests.Integration;

/// <summary>
/// The managed engine against ONNX Runtime on the embedded all-MiniLM-L6-v2. ONNX Runtime is an independent
/// reference: Microsoft's C++ runtime executing the exported ONNX graph (its own kernels, its own Softmax, its own
/// GEMMs), sharing no code with AttnScope's engine. The managed engine only borrows the weights from the same file.
/// Every attention value must agree within 1e-5, the last hidden state within 1e-4.
/// </summary>
[Collection("minilm")]
public class ManagedVsOnnxRuntimeTests(MiniLmSessions sessions)
{
    public static readonly string LongText = string.Join(" ", Enumerable.Range(0, 80).Select(i =>
        "Attention lets every token look at every other token, weighting what it sees by learned relevance."));

    /// <summary>Twenty-one inputs: single words, sentences, pairs, unicode, punctuation, and a 512-token text.</summary>
    public static TheoryData<string, string?> Inputs => new()
    {
        { "Hello", null },
        { "a", null },
        { "The cat sat on the mat.", null },
        { "The quick brown fox jumps over the lazy dog.", null },
        { "Café Müller's naïve résumé!", null },
        { "東京は日本の首都です", null },
        { "I ❤️ emojis 🎉🎉 and ÅNGSTRÖM", null },
        { "  spaces\tand\nnewlines  ", null },
        { "unaffable tokenization of supercalifragilisticexpialidocious words", null },
        { "\"Quotes\", (parentheses), [brackets] and... ellipses?!", null },
        { "1234567890 3.14159 1e-5 $100 50%", null },
        { "The cat sat on the mat.", "It was tired." },
        { "Where is the station?", "The station is two blocks north of here." },
        { "Who wrote Hamlet?", "William Shakespeare wrote Hamlet around 1600." },
        { "Ein Hund bellt.", "A dog barks." },
        { "Привет, мир!", "Hello, world!" },
        { "x", "y" },
        { "Is this a question?", "Yes, and this answer is considerably longer than the question it answers, by design." },
        { "The bank of the river.", "The bank raised interest rates." },
        { "Attention is all you need.", "Transformers replaced recurrent networks in many tasks." },
        { LongText, null },
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public void AttentionAndHiddenStateMatchOnnxRuntime(string text, string? pair)
    {
        var input = sessions.Managed.Encode(text, pair);
        var managed = sessions.Managed.Source.Run([input], captureQkv: false)[0];
        var onnx = sessions.Onnx.Source.Run([input], captureQkv: false)[0];
        Assert.Equal(onnx.Attention.Shape, managed.Attention.Shape);
        Assert.Equal(new[] { 6, 12, input.Length, input.Length }, managed.Attention.Shape);
        AssertClose(onnx.Attention.Data, managed.Attention.Data, 1e-5, "attention");
        AssertClose(onnx.LastHidden.Data, managed.LastHidden.Data, 1e-4, "last hidden state");
    }

    [Fact]
    public void TheLongInputFillsTheModelsFull512Positions()
    {
        var input = sessions.Managed.Encode(LongText);
        Assert.Equal(512, input.Length);
        Assert.Contains(input.Warnings, w => w.Contains("truncated"));
    }

    [Fact]
    public void PaddedBatchMatchesOnnxRuntimeRunningTheSameBatch()
    {
        var batch = new List<EncodedInput>
        {
            sessions.Managed.Encode("Short."),
            sessions.Managed.Encode("A noticeably longer sentence that forces the others to be padded in the batch."),
            sessions.Managed.Encode("Medium length pair", "with a second part"),
        };
        var managed = sessions.Managed.Source.Run(batch, captureQkv: false);
        var onnx = sessions.Onnx.Source.Run(batch, captureQkv: false);
        for (int i = 0; i < batch.Count; i++)
        {
            Assert.Equal(new[] { 6, 12, batch[i].Length, batch[i].Length }, onnx[i].Attention.Shape);
            AssertClose(onnx[i].Attention.Data, managed[i].Attention.Data, 1e-5, $"attention of batch item {i}");
            AssertClose(onnx[i].LastHidden.Data, managed[i].LastHidden.Data, 1e-4, $"hidden state of batch item {i}");
        }
    }

    [Fact]
    public void QueryKeyAndScoresReproduceTheAttention()
    {
        // Softmax of the recorded scores must give the recorded attention, and scores must equal q·k/√d.
        var input = sessions.Managed.Encode("The cat sat on the mat.", "It was tired.");
        var r = sessions.Managed.Source.Run([input], captureQkv: true)[0];
        var onnx = sessions.Onnx.Source.Run([input], captureQkv: false)[0];
        int n = input.Length, d = 32;
        for (int l = 0; l < 6; l++)
            for (int h = 0; h < 12; h++)
                for (int q = 0; q < n; q++)
                {
                    double max = double.NegativeInfinity;
                    var s = new double[n];
                    for (int k = 0; k < n; k++)
                    {
                        double dot = 0;
                        for (int c = 0; c < d; c++)
                            dot += (double)r.Query![l, h, q, c] * r.Key![l, h, k, c];
                        s[k] = dot / Math.Sqrt(d);
                        Assert.True(Math.Abs(s[k] - r.Scores![l, h, q, k]) < 1e-4, $"score l{l} h{h} q{q} k{k}");
                        max = Math.Max(max, s[k]);
                    }
                    double sum = s.Sum(v => Math.Exp(v - max));
                    for (int k = 0; k < n; k++)
                        Assert.True(Math.Abs(Math.Exp(s[k] - max) / sum - onnx.Attention[l, h, q, k]) < 1e-5, $"softmax l{l} h{h} q{q} k{k}");
                }
        Assert.Equal(new[] { 6, 12, n, d }, r.Value!.Shape);
    }

    [Fact]
    public void QueryKeyValueAndScoresMatchOnnxRuntime()
    {
        // ONNX Runtime's Q/K/V are the per-head tensors feeding its score MatMul; its scores the scaled,
        // pre-mask input of the Add before each Softmax. Both engines' must agree.
        var input = sessions.Managed.Encode("Who wrote Hamlet?", "William Shakespeare wrote it.");
        var managed = sessions.Managed.Source.Run([input], captureQkv: true)[0];
        var onnx = sessions.Onnx.Source.Run([input], captureQkv: true)[0];
        AssertClose(onnx.Query!.Data, managed.Query!.Data, 1e-4, "query");
        AssertClose(onnx.Key!.Data, managed.Key!.Data, 1e-4, "key");
        AssertClose(onnx.Value!.Data, managed.Value!.Data, 1e-4, "value");
        AssertClose(onnx.Scores!.Data, managed.Scores!.Data, 1e-4, "scores");
        AssertClose(onnx.Attention.Data, managed.Attention.Data, 1e-5, "attention");
    }

    internal static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(expected[i] - actual[i]);
            if (!(diff <= worst)) { worst = diff; at = i; }
        }
        Assert.True(worst <= tolerance, $"{what}: max difference {worst:E3} at index {at} exceeds {tolerance:E0}");
    }
}

/// <summary>One managed and one ONNX Runtime session on the embedded model, shared by the tests that need them.</summary>
public sealed class MiniLmSessions : IDisposable
{
    internal ModelSession Managed { get; } = ModelSession.Open("minilm", EngineKind.Managed);
    internal ModelSession Onnx { get; } = ModelSession.Open("minilm", EngineKind.Onnx);

    public void Dispose()
    {
        Managed.Dispose();
        Onnx.Dispose();
    }
}

[CollectionDefinition("minilm")]
public class MiniLmCollection : ICollectionFixture<MiniLmSessions>;
