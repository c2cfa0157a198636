using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using AttnScope.Training.FineTuning;
using AttnScope.Training.Model;
using Xunit.Abstractions;

namespace AttnScope.Tests.Training;

/// <summary>
/// Fine-tuning T5 folders (Golden/tiny-t5, tiny-t5-gated: weights checked against PyTorch in T5GoldenTests): the
/// trainable view's gradients (every T5 tensor kind: relative-position tables, RMSNorm gains, gated MLP, untied or tied
/// and scaled head, the shared table) against finite differences of its own loss; a short run lowers the corpus loss,
/// writes a T5 folder under Hugging Face's names that translates, records the task prefix and evaluates with it.
/// </summary>
public class T5FineTuneTests(ITestOutputHelper output)
{
    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", name);

    private static readonly string[] Lines =
    [
        "the cat sat on the mat\tdie katze sitzt auf der matte",
        "the dog sleeps in the house\tder hund schläft im haus",
        "a small house stands near the river\tein kleines haus steht nahe dem fluss",
        "children play in the garden every morning\tkinder spielen jeden morgen im garten",
        "the cat sleeps in the house\tdie katze schläft im haus",
        "the dog sat on the mat\tder hund sitzt auf der matte",
        "the house near the river\tdas haus nahe dem fluss",
        "the children play\tdie kinder spielen",
    ];

    // tiny-t5-gated: smooth (gated tanh-GELU), so central differences are exact to O(eps²). tiny-t5's ReLU kinks bend
    // finite differences by several percent at any usable step; its tied, d_model^-½-scaled head is checked on the core
    // (RelativeBiasGradientTests) and below as a descent direction.
    [Fact]
    public void TrainableGradientsMatchFiniteDifferencesOfTheLoss()
    {
        var model = Seq2SeqTrainable.Load(Golden("tiny-t5-gated"), labelSmoothing: 0.1f);
        Assert.Equal("t5", model.Family);
        var batch = Batch.Of([new EncodedPair([7, 15, 22, 9, 31, 4, 18, 1], [13, 8, 25, 36]), new EncodedPair([12, 5, 40, 1], [19, 10, 21, 6, 30, 11])],
            model.DecoderStartId, model.EosId);
        double Loss() { var l = model.Forward(batch, 0f, 1); return l.Loss / l.Tokens; }
        model.ZeroGrad();
        var first = model.Forward(batch, 0f, 1);
        model.Backward(1f / first.Tokens);
        var names = model.Parameters.Select(p => p.Name).ToList();
        Assert.Contains("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", names);
        Assert.Contains("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", names);
        Assert.Contains("lm_head.weight", names); // untied
        Assert.DoesNotContain("encoder.embed_tokens.weight", names); // a copy of shared.weight, not a second parameter
        var rng = new Random(5);
        int checkedCount = 0;
        foreach (var p in model.Parameters)
        {
            FiniteDifferences.AssertDirectional(output, p.Name, p.Value, p.Grad, Loss, rng, 1e-3f, 3e-2, floor: 0.05, changed: p.Touch);
            checkedCount++;
        }
        Assert.True(checkedCount >= 30, $"{checkedCount} tensors");
        Assert.Contains(model.Parameters, p => p.Name.EndsWith("relative_attention_bias.weight") && p.Grad.Any(g => MathF.Abs(g) > 1e-4f));
    }

    [Fact]
    public void TheTiedModelsGradientIsADescentDirection()
    {
        var model = Seq2SeqTrainable.Load(Golden("tiny-t5"), labelSmoothing: 0.1f);
        Assert.DoesNotContain(model.Parameters, p => p.Name == "lm_head.weight"); // tied: the head is shared.weight, scaled
        var batch = Batch.Of([new EncodedPair([7, 15, 22, 9, 31, 4, 18, 1], [13, 8, 25, 36]), new EncodedPair([12, 5, 40, 1], [19, 10, 21, 6, 30, 11])],
            model.DecoderStartId, model.EosId);
        model.ZeroGrad();
        var l0 = model.Forward(batch, 0f, 1);
        model.Backward(1f / l0.Tokens);
        double norm2 = model.Parameters.Sum(p => p.Grad.Sum(g => (double)g * g));
        const float step = 1e-3f;
        foreach (var p in model.Parameters) { for (int i = 0; i < p.Length; i++) p.Value[i] -= step * p.Grad[i]; p.Touch(); }
        var l1 = model.Forward(batch, 0f, 1);
        double drop = l0.Loss / l0.Tokens - l1.Loss / l1.Tokens;
        output.WriteLine($"loss drop {drop:G6}, first-order prediction {step * norm2:G6}");
        // a step along −∇ lowers the loss by about step·|∇|² (first order): a wrong or missing share of any tensor's gradient would not
        Assert.InRange(drop, 0.8 * step * norm2, 1.2 * step * norm2);
    }

    [Fact]
    public void AShortRunLowersTheLossAndWritesAT5FolderThatTranslatesWithItsPrefix()
    {
        using var dir = new TempDir();
        var corpus = dir.File("corpus.tsv");
        File.WriteAllLines(corpus, Lines);
        var outDir = dir.File("ft");
        var request = new FineTuneRequest
        {
            Init = Golden("tiny-t5-gated"), InitName = "tiny-t5-gated", Corpus = corpus, Out = outDir, Steps = 30, Dropout = 0f,
            Options = FineTuneRequest.Defaults with { LearningRate = 3e-3, WarmupSteps = 3, BatchTokens = 120, CheckpointEvery = 1000 },
        };
        var log = new StringWriter();
        var outcome = FineTune.Run(request, log, CancellationToken.None);
        Assert.Equal(30, outcome.Step);
        Assert.Contains("translate English to German: ", log.ToString());
        Assert.True(outcome.LastLoss < 0.7 * outcome.FirstLoss, $"loss {outcome.FirstLoss} → {outcome.LastLoss}");
        var state = FineTuneState.Load(outDir);
        Assert.Equal("translate English to German: ", state.SourcePrefix);
        foreach (var f in new[] { "config.json", "model.safetensors", "spiece.model", "tokenizer_config.json", "finetune.json", "optimizer.safetensors", "log.tsv" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        var init = SafetensorsWeights.Load(Path.Combine(Golden("tiny-t5-gated"), "model.safetensors"));
        var saved = SafetensorsWeights.Load(Path.Combine(outDir, "model.safetensors"));
        Assert.Equal(init.Names.Order(), saved.Names.Order()); // the same Hugging Face names, nothing added or lost
        Assert.Equal(saved.Get("shared.weight").Data, saved.Get("encoder.embed_tokens.weight").Data); // copies follow the trained table
        Assert.NotEqual(init.Get("shared.weight").Data, saved.Get("shared.weight").Data);
        const string bias = "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
        Assert.NotEqual(init.Get(bias).Data, saved.Get(bias).Data);

        // the folder is a T5 model: it loads, and its greedy translation of a training source (with the prefix) beats the start's
        var before = Seq2SeqTranslator.Load(Golden("tiny-t5-gated"));
        var after = Seq2SeqTranslator.Load(outDir);
        Assert.Equal("t5", after.Architecture);
        var tok = (T5Tokenizer)after.Tokenizer;
        var src = tok.EncodeSource("translate English to German: the dog sleeps in the house").Ids;
        var want = tok.EncodeTarget("der hund schläft im haus").Ids;
        int Hits(Seq2SeqTranslator t) => t.Model.Greedy(src, want.Length).Zip(want).Count(x => x.First == x.Second);
        output.WriteLine($"greedy tokens right: {Hits(before)} before, {Hits(after)} after, of {want.Length}");
        Assert.True(Hits(after) > Hits(before));

        // evaluate reads the prefix from finetune.json and scores the held-out pairs
        var (code, stdout, err) = CliTests.Run("evaluate", outDir);
        Assert.True(code == 0, err);
        Assert.Contains("held-out BLEU", stdout);
        Assert.Contains("translate English to German: ", err);
    }

    [Fact]
    public void ThePrefixDefaultsByFamilyAndLanguagesAndCanBeGiven()
    {
        Assert.Equal("translate English to French: ", FineTune.DefaultPrefix("t5", "en", "fr"));
        Assert.Equal("translate German to English: ", FineTune.DefaultPrefix("t5", "de", "en"));
        Assert.Equal("", FineTune.DefaultPrefix("t5", "en", "ja")); // not one of T5's pre-training pairs: give --prefix
        Assert.Equal("", FineTune.DefaultPrefix("marian", "en", "de"));
        using var dir = new TempDir();
        var corpus = dir.File("corpus.tsv");
        File.WriteAllLines(corpus, Lines);
        var (code, _, err) = CliTests.Run("train", "--init", Golden("tiny-t5"), "--corpus", corpus, "--out", dir.File("ft"), "--steps", "2",
            "--prefix", "en2de: ", "--no-evaluate", "--batch-tokens", "100");
        Assert.True(code == 0, err);
        Assert.Equal("en2de: ", FineTuneState.Load(dir.File("ft")).SourcePrefix);
        (code, _, err) = CliTests.Run("train", "--corpus", corpus, "--out", dir.File("x"), "--prefix", "a: ");
        CliTests.AssertOneLineError(code, err, "--prefix is for fine-tuning");
        // evaluate on a T5 folder without finetune.json: the default prefix for --src/--tgt, or the one given
        (code, var stdout, err) = CliTests.Run("evaluate", Golden("tiny-t5"), "--corpus", corpus, "--src", "en", "--tgt", "fr", "--limit", "2");
        Assert.True(code == 0, err);
        Assert.Contains("translate English to French: ", err);
        Assert.Contains("held-out BLEU", stdout);
        (code, _, err) = CliTests.Run("evaluate", Golden("tiny-t5"), "--corpus", corpus, "--prefix", "", "--limit", "2");
        Assert.True(code == 0, err);
        Assert.DoesNotContain("prefix", err);
    }
}
