using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.FineTuning;
using AttnScope.Training.Fuzzy;
using AttnScope.Training.Training;

namespace AttnScope.Cli;

/// <summary><c>attnscope train --corpus builtin|PATH [--src en --tgt de] [--valid FILE] --out RUN [--minutes N | --steps N] [--resume]</c>.
/// Ctrl-C and SIGTERM both stop the run cleanly: a checkpoint, the stop line and how to resume.</summary>
internal static class TrainCommand
{
    public static Command Create(CliOutput output)
    {
        var d = TrainingDefaults.Model;
        var o = TrainingDefaults.Options;
        var corpus = new Option<string>("--corpus") { Description = "builtin (generated English→German with gold alignments), a .tsv/.jsonl/.parquet/.sgm/.xml file, a folder (train.SRC + train.TGT, train.tsv, train.jsonl or Parquet shards), a prefix PATH with PATH.SRC and PATH.TGT, or SOURCE,TARGET", DefaultValueFactory = _ => "builtin" };
        var valid = new Option<string?>("--valid") { Description = "held-out corpus to score at the end (any --corpus format); without it 2% of the corpus (at most 1,000 pairs) is held out at random with --seed" };
        var maxWords = new Option<int>("--max-words") { Description = "leave out pairs with more words on either side", DefaultValueFactory = _ => new DataOptions().MaxWords };
        var maxChars = new Option<int>("--max-chars") { Description = "leave out pairs with more characters on either side", DefaultValueFactory = _ => new DataOptions().MaxChars };
        var maxRatio = new Option<double>("--max-ratio") { Description = "leave out pairs whose longer side has more than this many times the words of the shorter (0: off)", DefaultValueFactory = _ => new DataOptions().MaxRatio };
        var noDedupe = new Option<bool>("--no-dedupe") { Description = "keep repeated (source, target) pairs (by default each exact pair is kept once)" };
        var src = new Option<string>("--src") { Description = "source language code", DefaultValueFactory = _ => "en" };
        var tgt = new Option<string>("--tgt") { Description = "target language code", DefaultValueFactory = _ => "de" };
        var outPath = new Option<string>("--out") { Description = "run folder for config, tokenizer, checkpoints and probe captures", Required = true };
        var minutes = new Option<double?>("--minutes") { Description = $"train for this many minutes (default {TrainingDefaults.Minutes} when --steps is not given); with --resume a new budget from now (--resume alone continues the run's remaining budget)" };
        var steps = new Option<long?>("--steps") { Description = "train until this many optimizer steps" };
        var resume = new Option<bool>("--resume") { Description = "continue the run in --out from its last checkpoint" };
        var layers = new Option<int>("--layers") { Description = "encoder and decoder layers", DefaultValueFactory = _ => d.EncoderLayers };
        var dim = new Option<int>("--d-model") { Description = "model width", DefaultValueFactory = _ => d.Dim };
        var heads = new Option<int>("--heads") { Description = "attention heads", DefaultValueFactory = _ => d.Heads };
        var ff = new Option<int>("--d-ff") { Description = "feed-forward width", DefaultValueFactory = _ => d.FeedForward };
        var postNorm = new Option<bool>("--post-norm") { Description = "layer norm after each residual sum (original Transformer) instead of before each sub-layer" };
        var learned = new Option<bool>("--learned-positions") { Description = "learned position table instead of sinusoids" };
        var separate = new Option<bool>("--separate-embeddings") { Description = "separate source, target and output embeddings instead of one shared table" };
        var dropout = new Option<float?>("--dropout") { Description = $"dropout rate (default {d.Dropout}; with --init the model config's dropout)" };
        var batchTokens = new Option<int?>("--batch-tokens") { Description = $"tokens per batch (padding included; default {o.BatchTokens}, with --init {FineTuneRequest.Defaults.BatchTokens})" };
        var lr = new Option<double?>("--lr") { Description = $"peak learning rate (default {o.LearningRate}, with --init {FineTuneRequest.Defaults.LearningRate})" };
        var warmup = new Option<int?>("--warmup") { Description = $"warm-up steps (default {o.WarmupSteps}, with --init {FineTuneRequest.Defaults.WarmupSteps})" };
        var decay = new Option<string?>("--decay") { Description = "learning rate after the warm-up: inverse-sqrt, constant, or a decay over the run's budget that reaches the floor " +
            $"(2% of --lr) when the budget ends: cosine, linear, or wsd (stable at the peak, then linear over the last --decay-fraction); the budget is --minutes " +
            $"(time used), --steps (steps used) or, with both, whichever runs out first (default {o.Decay}, with --init {FineTuneRequest.Defaults.Decay})" };
        var decayFraction = new Option<double?>("--decay-fraction") { Description = $"with --decay wsd: the share of the budget, at its end, over which the rate falls to the floor (default {o.DecayFraction})" };
        var average = new Option<int?>("--average") { Description = "at the end, make the model the element-wise mean of the last N checkpoints (--checkpoint-every apart; " +
            "saved as checkpoints/averaged.safetensors, which translate, evaluate and capture use; --resume continues from the raw weights); 0 or 1: off" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => o.Seed };
        var vocab = new Option<int>("--vocab-size") { Description = "sub-word vocabulary size", DefaultValueFactory = _ => o.VocabSize };
        var every = new Option<int?>("--checkpoint-every") { Description = $"steps between checkpoints (each also captures the probe sentence; default {o.CheckpointEvery}, with --init {FineTuneRequest.Defaults.CheckpointEvery})" };
        var trainPairs = new Option<int>("--builtin-pairs") { Description = "training pairs generated for --corpus builtin", DefaultValueFactory = _ => o.BuiltinTrainPairs };
        var testPairs = new Option<int>("--builtin-test-pairs") { Description = "held-out pairs generated for --corpus builtin", DefaultValueFactory = _ => o.BuiltinTestPairs };
        var animate = new Option<string?>("--animate") { Description = "also write the probe sentence's cross attention across checkpoints as an animated .gif" };
        var fuzzy = new Option<bool>("--fuzzy") { Description = "fuzzy repair: follow each source with the translation of its most similar training source (character-trigram TF-IDF), so the model learns to edit a retrieved translation; the run keeps its translation memory (memory.jsonl) for translate, evaluate and capture" };
        var fuzzyMin = new Option<double>("--fuzzy-min") { Description = "with --fuzzy: the least cosine similarity (0..1) for a match to be used", DefaultValueFactory = _ => new FuzzyOptions().MinScore };
        var noEval = new Option<bool>("--no-evaluate") { Description = "skip the held-out BLEU and AER at the end" };
        var bertVocab = new Option<string?>("--vocab") { Description = "train with a given BERT WordPiece vocab.txt (or minilm: the embedded all-MiniLM-L6-v2 vocabulary) instead of learning a sub-word vocabulary; [PAD] [UNK] [CLS] [SEP] become pad, unk, bos, eos" };
        var init = new Option<string?>("--init") { Description = "fine-tune a pretrained Marian (opus-mt) or T5 (t5, flan-t5, mt5) model: a Hugging Face folder or hf:ORG/NAME; --out becomes a folder of the same family that translate, capture and evaluate read" };
        var prefix = new Option<string?>("--prefix") { Description = "with --init: text put before every source (default for T5: \"translate English to German: \" and the like for en, de, fr, ro; none for Marian)" };
        var cmd = new Command("train", "Train an encoder-decoder translation Transformer and watch its attention align.")
        {
            corpus, src, tgt, valid, maxWords, maxChars, maxRatio, noDedupe, outPath, minutes, steps, resume, layers, dim, heads, ff, postNorm, learned, separate, dropout,
            batchTokens, lr, warmup, decay, decayFraction, average, seed, vocab, every, trainPairs, testPairs, animate, noEval, fuzzy, fuzzyMin, init, bertVocab, prefix,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            long stepLimit = r.GetValue(steps) ?? 0;
            // --resume without --minutes/--steps: 0 and 0, which continues the run's remaining budget (TrainingBudget).
            double minuteLimit = r.GetValue(minutes) ?? (stepLimit > 0 || r.GetValue(resume) ? 0 : TrainingDefaults.Minutes);
            if (stepLimit < 0 || minuteLimit < 0) throw new AttnScopeException("--steps and --minutes cannot be negative");
            if (!double.IsFinite(minuteLimit)) throw new AttnScopeException($"--minutes {minuteLimit} is not a number of minutes");
            if (r.GetValue(resume) && r.GetValue(fuzzy)) throw new AttnScopeException("--fuzzy is chosen when a run starts; a resumed run keeps its own setting");
            if (r.GetValue(bertVocab) is not null && r.GetValue(init) is not null) throw new AttnScopeException("--vocab is for training a new model; a fine-tuned pretrained model keeps its own tokenizer");
            if (r.GetValue(bertVocab) is not null && r.GetValue(resume)) throw new AttnScopeException("--vocab is for a new run; a resumed run keeps the vocabulary in its folder");
            if (r.GetValue(average) is not null && r.GetValue(init) is not null) throw new AttnScopeException("--average is for training a new model; a fine-tuned pretrained model keeps its last weights");
            if (r.GetValue(average) is not null && r.GetValue(resume)) throw new AttnScopeException("--average is chosen when a run starts; a resumed run keeps its own setting (average_checkpoints in config.json)");
            if (r.GetValue(decayFraction) is not null && r.GetValue(resume)) throw new AttnScopeException("--decay-fraction is chosen when a run starts; a resumed run keeps its own schedule");
            if (r.GetValue(fuzzy) && r.GetValue(init) is not null) throw new AttnScopeException("--fuzzy is for training a new model; fine-tuning a pretrained model reads plain sources");
            if (r.GetValue(prefix) is not null && r.GetValue(init) is null)
                throw new AttnScopeException(r.GetValue(resume) ? "--prefix is chosen when a fine-tuning starts; a resumed one keeps its own (finetune.json)" : "--prefix is for fine-tuning a pretrained model (--init)");
            if (r.GetValue(init) is not null || (r.GetValue(resume) && FineTuneState.Exists(r.GetValue(outPath)!)))
                return FineTuneCommand.Run(output, r.GetValue(init), r.GetValue(corpus)!, r.GetValue(src)!, r.GetValue(tgt)!, r.GetValue(outPath)!, r.GetValue(resume), r.GetValue(prefix),
                    r.GetValue(steps) ?? 0, r.GetValue(minutes) ?? 0, !r.GetValue(noEval), r.GetValue(dropout),
                    new DataOptions { MaxWords = r.GetValue(maxWords), MaxChars = r.GetValue(maxChars), MaxRatio = r.GetValue(maxRatio), Dedupe = !r.GetValue(noDedupe), Valid = r.GetValue(valid) },
                    FineTuneRequest.Defaults with
                    {
                        LearningRate = r.GetValue(lr) ?? FineTuneRequest.Defaults.LearningRate, WarmupSteps = r.GetValue(warmup) ?? FineTuneRequest.Defaults.WarmupSteps,
                        Decay = r.GetValue(decay) ?? FineTuneRequest.Defaults.Decay, DecayFraction = r.GetValue(decayFraction) ?? FineTuneRequest.Defaults.DecayFraction, BatchTokens = r.GetValue(batchTokens) ?? FineTuneRequest.Defaults.BatchTokens,
                        CheckpointEvery = r.GetValue(every) ?? FineTuneRequest.Defaults.CheckpointEvery, Seed = r.GetValue(seed),
                    });
            var request = new TrainRequest
            {
                Corpus = r.GetValue(corpus)!,
                SourceLanguage = r.GetValue(src)!,
                TargetLanguage = r.GetValue(tgt)!,
                Out = r.GetValue(outPath)!,
                Resume = r.GetValue(resume),
                Steps = stepLimit,
                Minutes = minuteLimit,
                Evaluate = !r.GetValue(noEval),
                Fuzzy = r.GetValue(fuzzy) ? new FuzzyOptions { MinScore = r.GetValue(fuzzyMin) } : null,
                Vocab = r.GetValue(bertVocab),
                Data = new DataOptions
                {
                    MaxWords = r.GetValue(maxWords), MaxChars = r.GetValue(maxChars), MaxRatio = r.GetValue(maxRatio), Dedupe = !r.GetValue(noDedupe),
                    Valid = r.GetValue(valid),
                },
                Model = d with
                {
                    EncoderLayers = r.GetValue(layers), DecoderLayers = r.GetValue(layers), Dim = r.GetValue(dim), Heads = r.GetValue(heads),
                    FeedForward = r.GetValue(ff), PreNorm = !r.GetValue(postNorm), LearnedPositions = r.GetValue(learned),
                    SharedEmbeddings = !r.GetValue(separate), Dropout = r.GetValue(dropout) ?? d.Dropout,
                },
                Options = o with
                {
                    BatchTokens = r.GetValue(batchTokens) ?? o.BatchTokens, LearningRate = r.GetValue(lr) ?? o.LearningRate, WarmupSteps = r.GetValue(warmup) ?? o.WarmupSteps,
                    Decay = r.GetValue(decay) ?? o.Decay, DecayFraction = r.GetValue(decayFraction) ?? o.DecayFraction, AverageCheckpoints = r.GetValue(average) ?? o.AverageCheckpoints, Seed = r.GetValue(seed), VocabSize = r.GetValue(vocab), CheckpointEvery = r.GetValue(every) ?? o.CheckpointEvery,
                    BuiltinTrainPairs = r.GetValue(trainPairs), BuiltinTestPairs = r.GetValue(testPairs),
                },
            };
            var animation = r.GetValue(animate);
            if (animation is not null && !animation.EndsWith(".gif", StringComparison.OrdinalIgnoreCase))
                throw new AttnScopeException($"cannot write animation '{animation}': only .gif is supported");
            if (animation is not null) AtomicFile.CheckWritable(animation); // not after a whole training run
            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true; // save a checkpoint and stop cleanly instead of dying mid-write
                cancel.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            // SIGTERM (kill, a job scheduler, a container stop) stops the run like Ctrl-C instead of killing it mid-step.
            using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                cancel.Cancel();
            });
            try
            {
                bool interactive = ReferenceEquals(output.Out, Console.Out) && !Console.IsOutputRedirected;
                var outcome = RunTrainer.Run(request, output.Out, interactive, cancel.Token);
                if (animation is not null)
                {
                    int layer = outcome.Run.BestAlignmentLayer() ?? outcome.Run.Config.Model.DecoderLayers - 1;
                    TranslationAnimation.Save(animation, TranslationAnimation.TrainingFrames(outcome.Run, layer), delayMs: 400);
                    output.Out.WriteLine($"wrote {animation}: the probe's cross attention (layer {layer}) at {outcome.Run.Probes().Count} checkpoints");
                }
                return outcome.Cancelled ? 130 : 0;
            }
            finally { Console.CancelKeyPress -= onCancel; }
        }));
        return cmd;
    }
}
