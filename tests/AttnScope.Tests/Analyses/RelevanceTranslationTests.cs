using AttnScope.Analyses.Relevance;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Tests.Training;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Decoding;
using AttnScope.Training.Model;
using AttnScope.Sources.Transformer;
using AttnScope.Training.Text;

namespace AttnScope.Tests.Analyses;

/// <summary>
/// Gradient relevance of a translation model on a tiny random Transformer: ∂ log p(target)/∂P for encoder self,
/// decoder self and cross attention against float32 central finite differences (the forward re-run with one head's
/// probabilities moved along a random direction), the relevance's shape and causality, and refused captures.
/// </summary>
public class RelevanceTranslationTests
{
    private const string Source = "the dog sleeps", Reference = "der Hund schläft";

    internal static Translator TinyTranslator(bool preNorm = true, int seed = 3)
    {
        var vocab = SubwordVocabulary.Learn(["der Hund schläft", "the dog sleeps", "die Katze schläft", "the cat sleeps"], 40);
        var model = TransformerGradientTests.Tiny(preNorm, vocab: vocab.Size);
        model.Initialize(seed);
        return new Translator(model, vocab, "tiny");
    }

    /// <summary>
    /// log p of decoder row <paramref name="row"/>'s target from plain inference passes of the core, with the hooks
    /// (edits of attention probabilities) given for the encoder and the decoder.
    /// </summary>
    private static double LogProb(Transformer model, int[] src, int[] tgt, int row, HookSet? encoderHooks = null, HookSet? decoderHooks = null)
    {
        var memory = model.EncoderModel.Forward(new ForwardInput { Ids = src, Hooks = encoderHooks }).Hidden;
        var logits = model.DecoderModel.Forward(new ForwardInput { Ids = [SubwordVocabulary.BosId, .. tgt], Memory = memory, Hooks = decoderHooks, Logits = LogitRows.All }).Logits!.Data;
        int v = model.Config.VocabSize, y = row < tgt.Length ? tgt[row] : SubwordVocabulary.EosId;
        double max = double.NegativeInfinity, sum = 0;
        for (int k = 0; k < v; k++) max = Math.Max(max, logits[row * v + k]);
        for (int k = 0; k < v; k++) sum += Math.Exp(logits[row * v + k] - max);
        return logits[row * v + y] - max - Math.Log(sum);
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    [InlineData(true, 3)]
    public void AttentionGradientsMatchFiniteDifferences(bool preNorm, int row)
    {
        var translator = TinyTranslator(preNorm);
        var model = translator.Model;
        var capture = translator.CaptureReference(Source, Reference);
        var relevance = new TranslationRelevance(translator);
        var (src, tgt) = relevance.InputOf(capture, row);
        var g = relevance.Compute(src, tgt, row);
        Assert.Equal(LogProb(model, src, tgt, row), g.LogProb, 5);

        int s = src.Length, t = tgt.Length + 1, heads = model.Config.Heads;
        var stacks = new (string Name, Func<int, string> Hook, bool Encoder, int Layers, double[][] Gradients, int Queries, int Keys, bool Causal)[]
        {
            ("encoder", HookPoints.Pattern, true, model.Config.EncoderLayers, g.EncoderGradient, s, s, false),
            ("decoder", HookPoints.Pattern, false, model.Config.DecoderLayers, g.DecoderGradient, t, t, true),
            ("cross", HookPoints.CrossPattern, false, model.Config.DecoderLayers, g.CrossGradient, t, s, false),
        };
        const float eps = 1e-3f; // small enough to rarely cross a ReLU kink of the feed-forward layers
        var random = new Random(5);
        foreach (var (name, hook, encoder, layers, gradients, q, k, causal) in stacks)
        {
            double largest = 0;
            for (int l = 0; l < layers; l++)
                for (int h = 0; h < heads; h++)
                {
                    var direction = new float[q * k];
                    for (int i = 0; i < q; i++)
                        for (int j = 0; j < k; j++)
                            direction[i * k + j] = causal && j > i ? 0f : (float)(random.NextDouble() * 2 - 1);
                    double analytic = 0;
                    for (int i = 0; i < direction.Length; i++) analytic += gradients[l][h * q * k + i] * direction[i];
                    double Moved(float sign)
                    {
                        int head = h;
                        var hooks = new HookSet().Edit(hook(l), (p, _) =>
                        {
                            var block = p.Slice(head * q * k, q * k);
                            for (int i = 0; i < block.Length; i++) block[i] += sign * eps * direction[i];
                        });
                        return encoder ? LogProb(model, src, tgt, row, encoderHooks: hooks) : LogProb(model, src, tgt, row, decoderHooks: hooks);
                    }
                    double numeric = (Moved(1) - Moved(-1)) / (2 * eps);
                    Assert.True(Math.Abs(numeric - analytic) <= 3e-3 + 3e-2 * Math.Abs(analytic),
                        $"{name} layer {l} head {h}: analytic {analytic:G6}, numeric {numeric:G6}");
                    largest = Math.Max(largest, Math.Abs(analytic));
                }
            Assert.True(largest > 1e-3, $"{name}: every directional derivative is ~0, the check would prove nothing");
        }
        // Below the chosen row nothing depends on later decoder rows: their gradients are exactly zero.
        foreach (var grads in g.DecoderGradient.Concat(g.CrossGradient))
            for (int h = 0; h < heads; h++)
                for (int i = row + 1; i < t; i++)
                    for (int j = 0; j < (grads.Length / heads / t); j++) Assert.Equal(0.0, grads[(h * t + i) * (grads.Length / heads / t) + j]);
    }

    [Fact]
    public void SaliencyIsRowTOfTheCrossAndTargetRelevanceAndNeverLooksAhead()
    {
        var translator = TinyTranslator();
        var capture = translator.CaptureReference(Source, Reference);
        int s = capture.Tokens.Count, t = capture.TargetTokens.Count, row = 2;
        var result = new TranslationRelevance(translator).Explain(capture, row);
        Assert.Equal(new[] { s }, result.Source.Shape);
        Assert.Equal(new[] { t }, result.Target!.Shape);
        Assert.Equal(new[] { s, s }, result.Relevance[AttentionStack.Encoder].Shape);
        Assert.Equal(new[] { t, t }, result.Relevance[AttentionStack.Decoder].Shape);
        Assert.Equal(new[] { t, s }, result.Relevance[AttentionStack.Cross].Shape);
        var rts = result.Relevance[AttentionStack.Cross];
        var rtt = result.Relevance[AttentionStack.Decoder];
        for (int j = 0; j < s; j++) Assert.Equal(rts.Data[row * s + j], result.Source.Data[j]);
        for (int j = 0; j < t; j++) Assert.Equal(rtt.Data[row * t + j] - (j == row ? 1f : 0f), result.Target.Data[j], 6);
        for (int j = row + 1; j < t; j++) Assert.Equal(0f, result.Target.Data[j]); // causal: no relevance from later tokens
        Assert.Contains(result.Source.Data, v => v > 0);
        Assert.All(result.Source.Data, v => Assert.True(v >= 0));
        Assert.Equal("log_prob", (string)result.Info["target"]!);
        Assert.Equal(row, (int)result.Info["target_index"]!);
        Assert.Equal(capture.TargetTokens[row + 1].Id, (int)result.Info["target_id"]!);
        Assert.True((double)result.Info["log_prob"]! < 0);
    }

    [Fact]
    public void ARunFolderGivesTheSameRelevanceAsTheLoadedModel()
    {
        var translator = TinyTranslator();
        var capture = translator.CaptureReference(Source, Reference);
        using var dir = new TempDir();
        var folder = dir.File("run");
        var run = RunFolder.Create(folder, new RunConfig { Model = translator.Model.Config });
        translator.Vocabulary.Save(folder);
        Checkpoint.Save(run.CheckpointPath(1), translator.Model, null, new TrainingState(1, 0, 0, 0, 0));
        var fromFolder = GradientRelevance.ForTranslation(folder, capture, 1);
        var direct = GradientRelevance.ForTranslation(translator, capture, 1);
        Assert.Equal(direct.Source.Data, fromFolder.Source.Data);
        Assert.Equal(direct.Target!.Data, fromFolder.Target!.Data);
        Assert.Equal((double)direct.Info["log_prob"]!, (double)fromFolder.Info["log_prob"]!);
    }

    [Fact]
    public void CapturesThatDoNotFitAreRefusedWithAClearMessage()
    {
        var translator = TinyTranslator();
        var relevance = new TranslationRelevance(translator);
        var capture = translator.CaptureReference(Source, Reference);
        int t = capture.TargetTokens.Count;
        foreach (var bad in new[] { -1, t })
            Assert.Contains("out of range", Assert.Throws<AttnScopeException>(() => relevance.Explain(capture, bad)).Message);
        var encoderOnly = new AttentionCapture(capture.Metadata, capture.Tokens, [capture.Stack(AttentionStack.Encoder)]);
        Assert.Contains("not from a translation model", Assert.Throws<AttnScopeException>(() => relevance.Explain(encoderOnly, 0)).Message);
        var otherCheckpoint = TinyTranslator(seed: 9).CaptureReference(Source, Reference);
        Assert.Contains("differs", Assert.Throws<AttnScopeException>(() => relevance.Explain(otherCheckpoint, 0)).Message);
        // The refusals leave the model as it was: a good capture still works and gives the same numbers.
        var first = relevance.Explain(capture, 1);
        Assert.Equal(first.Source.Data, relevance.Explain(capture, 1).Source.Data);
        Assert.All(translator.Model.Parameters, p => Assert.All(p.Grad, v => Assert.Equal(0f, v)));
    }
}
