using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;
using AttnScope.Capture;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Core;
using AttnScope.Tests.Support;
using AttnScope.Training.Data;
using AttnScope.Training.FineTuning;
using AttnScope.Training.Model;

namespace AttnScope.Tests.Training;

/// <summary>
/// Fine-tuning a Marian folder (tiny-marian's weights, tiny-marian-spm's tokenizer cut to its 40 ids): a few steps
/// lower the loss on the corpus, the output folder is a Marian folder that loads, translates and evaluates, and
/// --resume continues the step count exactly where a straight run would be.
/// </summary>
public class MarianFineTuneTests
{
    private static readonly string[] Lines =
    [
        "the cat sat on the mat\tthe mat sat on the cat",
        "the dog sleeps\tthe dog sleeps at night",
        "the river at night\tat night the river",
        "the cat sleeps\tthe cat sleeps",
        "the mat at night\tat night the mat",
        "the dog sat on the cat\tthe cat sat on the dog",
        "the river sleeps\tthe river sleeps at night",
        "a cat on a mat\ton a mat a cat",
    ];

    private static string Corpus(TempDir dir)
    {
        var path = dir.File("corpus.tsv");
        File.WriteAllLines(path, Lines);
        return path;
    }

    private static FineTuneRequest Request(string init, string corpus, string outDir, long steps, bool resume = false) => new()
    {
        Init = init, InitName = init, Corpus = corpus, Out = outDir, Steps = steps, Resume = resume, Evaluate = !resume,
        Options = FineTuneRequest.Defaults with { LearningRate = 3e-3, WarmupSteps = 3, BatchTokens = 40, CheckpointEvery = 1000 },
    };

    /// <summary>Mean loss (no dropout, no smoothing) of every pair of the corpus under the weights of a folder.</summary>
    private static double CorpusLoss(string folder, string corpus)
    {
        var model = Seq2SeqTrainable.Load(folder, labelSmoothing: 0f);
        var pairs = ParallelCorpusReader.Read(corpus, "en", "de", new CorpusFilterOptions { MaxRatio = 0, Dedupe = false });
        var (examples, _) = FineTune.Encode(MarianTokenizer.Load(folder), pairs.Pairs, 100, 64);
        var loss = model.Forward(Batch.Of(examples, model.DecoderStartId, model.EosId), 0f, 1);
        return loss.MeanNll;
    }

    [Fact]
    public void A_few_steps_lower_the_loss_and_the_folder_reloads_and_translates()
    {
        using var dir = new TempDir();
        var init = MarianTranslatorTests.MakeFolder(MarianTranslatorTests.Fit40);
        try
        {
            var corpus = Corpus(dir);
            var outDir = dir.File("ft");
            var outcome = FineTune.Run(Request(init, corpus, outDir, 25), TextWriter.Null, CancellationToken.None);
            Assert.Equal(25, outcome.Step);
            double before = CorpusLoss(init, corpus), after = CorpusLoss(outDir, corpus);
            Assert.True(after < 0.8 * before, $"corpus loss {before} → {after}");
            // a Hugging Face-style Marian folder: the tokenizer files, HF weight names, and the loaders read it unchanged
            foreach (var f in new[] { "config.json", "model.safetensors", "source.spm", "target.spm", "vocab.json", "finetune.json", "optimizer.safetensors", "log.tsv" })
                Assert.True(File.Exists(Path.Combine(outDir, f)), f);
            using (var st = SafeTensorsFile.Open(Path.Combine(outDir, "model.safetensors")))
                foreach (var n in new[] { "model.shared.weight", "lm_head.weight", "model.encoder.embed_tokens.weight", "final_logits_bias", "model.decoder.layers.1.encoder_attn.out_proj.bias" })
                    Assert.True(st.Contains(n), n);
            var translator = Seq2SeqTranslator.Load(outDir);
            var t = translator.Translate("the cat sat on the mat");
            Assert.NotEmpty(t.TargetIds);
            var saved = SafetensorsWeights.Load(Path.Combine(outDir, "model.safetensors"));
            var first = SafetensorsWeights.Load(Path.Combine(init, "model.safetensors"));
            Assert.Equal(saved.Get("model.shared.weight").Data, saved.Get("lm_head.weight").Data); // the tied aliases follow the trained table
            Assert.NotEqual(first.Get("model.shared.weight").Data, saved.Get("model.shared.weight").Data);
            Assert.Equal(first.Get("final_logits_bias").Data, saved.Get("final_logits_bias").Data); // a buffer: not trained
            var log = File.ReadAllLines(Path.Combine(outDir, "log.tsv"));
            Assert.Equal(26, log.Length); // header + one line a step
            Assert.NotNull(outcome.Evaluation);
            Assert.True(File.Exists(Path.Combine(outDir, "evaluation.json")));
        }
        finally { Directory.Delete(init, true); }
    }

    [Fact]
    public void Resume_continues_the_step_count_as_a_straight_run()
    {
        using var dir = new TempDir();
        var init = MarianTranslatorTests.MakeFolder(MarianTranslatorTests.Fit40);
        try
        {
            var corpus = Corpus(dir);
            string straight = dir.File("straight"), split = dir.File("split");
            FineTune.Run(Request(init, corpus, straight, 12) with { Evaluate = false }, TextWriter.Null, CancellationToken.None);
            FineTune.Run(Request(init, corpus, split, 7) with { Evaluate = false }, TextWriter.Null, CancellationToken.None);
            Assert.Equal(7, FineTuneState.Load(split).Step);
            var resumed = FineTune.Run(Request("", corpus, split, 12, resume: true), TextWriter.Null, CancellationToken.None);
            Assert.Equal(12, resumed.Step);
            Assert.Equal(12, FineTuneState.Load(split).Step);
            Assert.Equal(13, File.ReadAllLines(Path.Combine(split, "log.tsv")).Length);
            var a = Seq2SeqTrainable.Load(straight);
            var b = Seq2SeqTrainable.Load(split);
            foreach (var p in a.Parameters) Assert.Equal(p.Value, b[p.Name].Value); // same batches, same moments: the same weights
            var e = Assert.Throws<AttnScopeException>(() => FineTune.Run(Request("", corpus, split, 0, resume: true), TextWriter.Null, CancellationToken.None));
            Assert.Contains("used up", e.Message);
        }
        finally { Directory.Delete(init, true); }
    }

    [Fact]
    public void A_cancelled_run_stops_with_a_complete_folder_that_resumes()
    {
        using var dir = new TempDir();
        var init = MarianTranslatorTests.MakeFolder(MarianTranslatorTests.Fit40);
        try
        {
            var corpus = Corpus(dir);
            var outDir = dir.File("ft");
            using var cancel = new CancellationTokenSource();
            cancel.Cancel(); // Ctrl-C before the first step
            var stopped = FineTune.Run(Request(init, corpus, outDir, 10), TextWriter.Null, cancel.Token);
            Assert.True(stopped.Cancelled);
            Assert.Null(stopped.Evaluation);
            Assert.Equal(0, FineTuneState.Load(outDir).Step);
            Assert.NotEmpty(Seq2SeqTranslator.Load(outDir).Translate("the cat sleeps").TargetIds);
            var resumed = FineTune.Run(Request("", corpus, outDir, 0, resume: true), TextWriter.Null, CancellationToken.None);
            Assert.Equal(10, resumed.Step); // the saved budget: step 10
        }
        finally { Directory.Delete(init, true); }
    }

    [Fact]
    public void Wrong_starts_are_one_line_errors_and_write_nothing()
    {
        using var dir = new TempDir();
        var init = MarianTranslatorTests.MakeFolder(MarianTranslatorTests.Fit40);
        try
        {
            var corpus = Corpus(dir);
            var outDir = dir.File("ft");
            var (code, _, err) = CliTests.Run("train", "--init", init, "--vocab", "minilm", "--corpus", corpus, "--out", outDir, "--steps", "1");
            CliTests.AssertOneLineError(code, err, "--vocab");
            (code, _, err) = CliTests.Run("train", "--init", dir.Path, "--corpus", corpus, "--out", outDir, "--steps", "1");
            CliTests.AssertOneLineError(code, err, "not a Marian or T5 model folder");
            (code, _, err) = CliTests.Run("train", "--init", init, "--corpus", dir.File("missing.tsv"), "--out", outDir, "--steps", "1");
            Assert.Equal(1, code);
            Assert.False(Directory.Exists(outDir), "a failed start leaves no folder");
            (code, _, err) = CliTests.Run("train", "--init", init, "--corpus", corpus, "--out", dir.Path, "--steps", "1");
            CliTests.AssertOneLineError(code, err, "not empty");
            (code, _, err) = CliTests.Run("train", "--init", init, "--corpus", corpus, "--out", outDir, "--steps", "1", "--dropout", "1.5");
            CliTests.AssertOneLineError(code, err, "--dropout");
        }
        finally { Directory.Delete(init, true); }
    }

    [Fact]
    public void A_dropout_rate_is_recorded_and_training_with_it_still_learns()
    {
        using var dir = new TempDir();
        var init = MarianTranslatorTests.MakeFolder(MarianTranslatorTests.Fit40);
        try
        {
            var corpus = Corpus(dir);
            var outDir = dir.File("ft");
            var outcome = FineTune.Run(Request(init, corpus, outDir, 25) with { Dropout = 0.1f, Evaluate = false }, TextWriter.Null, CancellationToken.None);
            Assert.Equal(0.1f, FineTuneState.Load(outDir).Dropout);
            Assert.True(CorpusLoss(outDir, corpus) < 0.8 * CorpusLoss(init, corpus));
            Assert.True(outcome.LastLoss < outcome.FirstLoss);
        }
        finally { Directory.Delete(init, true); }
    }

    [Fact]
    public void Train_init_evaluate_and_translate_through_the_command_line()
    {
        using var dir = new TempDir();
        var init = MarianTranslatorTests.MakeFolder(MarianTranslatorTests.Fit40);
        try
        {
            var corpus = Corpus(dir);
            var outDir = dir.File("ft");
            var (code, stdout, err) = CliTests.Run("train", "--init", init, "--corpus", corpus, "--out", outDir, "--steps", "3", "--batch-tokens", "40", "--no-evaluate");
            Assert.True(code == 0, err + stdout);
            Assert.Contains("stopped at step 3", stdout);
            (code, stdout, err) = CliTests.Run("evaluate", outDir);
            Assert.True(code == 0, err + stdout);
            Assert.Contains("held-out BLEU", stdout);
            (code, stdout, err) = CliTests.Run("train", "--out", outDir, "--resume", "--steps", "5", "--no-evaluate");
            Assert.True(code == 0, err + stdout);
            Assert.Equal(5, FineTuneState.Load(outDir).Step);
            (code, stdout, err) = CliTests.Run("translate", outDir, "--text", "the cat sat on the mat", "--beam", "1");
            Assert.True(code == 0, err + stdout);
            Assert.Equal(Seq2SeqTranslator.Load(outDir).Translate("the cat sat on the mat").Text, stdout.TrimEnd('\r', '\n'));
            var capture = Path.Combine(dir.Path, "c.safetensors");
            (code, stdout, err) = CliTests.Run("capture", "--model", outDir, "--text", "the cat sat on the mat", "--output", capture);
            Assert.True(code == 0, err + stdout);
            var cap = AttentionCapture.Load(capture);
            Assert.Equal(MarianTokenizer.Load(outDir).EncodeSource("the cat sat on the mat").Pieces, cap.Tokens.Select(t => t.Text).ToArray());
            Assert.Equal(2, cap.Stack(AttentionStack.Cross).Attention.Shape[0]); // tiny-marian's two decoder layers
            (code, _, err) = CliTests.Run("evaluate", init);
            CliTests.AssertOneLineError(code, err, "--corpus");
        }
        finally { Directory.Delete(init, true); }
    }
}
