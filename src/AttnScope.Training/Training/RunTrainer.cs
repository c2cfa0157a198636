using System.Diagnostics;
using System.Globalization;
using AttnScope.Capture;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Decoding;
using AttnScope.Training.Evaluation;
using AttnScope.Training.Fuzzy;
using AttnScope.Training.Model;
using AttnScope.Training.Text;

namespace AttnScope.Training.Training;

/// <summary>What <c>attnscope train</c> asks for.</summary>
internal sealed record TrainRequest
{
    public string Corpus { get; init; } = CorpusLoader.Builtin;
    public string SourceLanguage { get; init; } = "en";
    public string TargetLanguage { get; init; } = "de";
    public required string Out { get; init; }
    public bool Resume { get; init; }
    /// <summary>Total optimizer steps to reach (0: no step limit).</summary>
    public long Steps { get; init; }
    /// <summary>Minutes to train: a new run's budget, or with <see cref="Resume"/> a new budget from now (0: no time
    /// limit). A resumed run with neither <see cref="Steps"/> nor <see cref="Minutes"/> continues with the remaining
    /// part of its saved budget (<see cref="TrainingBudget"/>).</summary>
    public double Minutes { get; init; }
    /// <summary>Corpus filters, the held-out choice and a validation file (--valid).</summary>
    public DataOptions Data { get; init; } = new();
    public TransformerConfig Model { get; init; } = TrainingDefaults.Model;
    public TrainingOptions Options { get; init; } = TrainingDefaults.Options;
    public bool Evaluate { get; init; } = true;
    /// <summary>Held-out sentences scored at the end (null: all).</summary>
    public int? EvaluateLimit { get; init; }
    /// <summary>Fuzzy repair (<c>--fuzzy</c>): each source followed by its best training match's translation.</summary>
    public FuzzyOptions? Fuzzy { get; init; }
    /// <summary>A BERT WordPiece vocab.txt to train with instead of learning a vocabulary ("minilm": the embedded
    /// all-MiniLM-L6-v2 vocabulary); null: learn one of <see cref="TrainingOptions.VocabSize"/> pieces.</summary>
    public string? Vocab { get; init; }
}

internal sealed record TrainOutcome(RunFolder Run, long Step, bool Cancelled, EvaluationReport? Evaluation, double TokensPerSecond, double Seconds, double GflopsPerSecond)
{
    /// <summary>The learning-rate schedule the session trained with (its budget is the run's, from the run's start).</summary>
    public Optim.LearningRateSchedule? Schedule { get; init; }
    /// <summary>The checkpoint steps the final weights are the mean of (--average); empty: the last checkpoint's own.</summary>
    public IReadOnlyList<long> AveragedSteps { get; init; } = [];
}

/// <summary>
/// A training run from start to finish: corpus, vocabulary, run folder, the loop with progress, checkpoints and
/// a probe capture at each checkpoint, a clean stop on cancellation (Ctrl-C), and held-out BLEU and AER at the end.
/// </summary>
internal static class RunTrainer
{
    public static TrainOutcome Run(TrainRequest request, TextWriter log, bool interactive, CancellationToken cancel)
    {
        RunFolder run;
        SubwordVocabulary vocab;
        LoadedCorpus corpus;
        if (request.Resume)
        {
            run = RunFolder.Open(request.Out);
            run.LatestCheckpoint(); // a clear error before any work if there is nothing to resume
            long freed = run.CleanTemporaries();
            if (freed > 0) log.WriteLine($"removed temporary files of an interrupted write ({freed / 1e6:0.0} MB)");
            vocab = run.LoadVocabulary();
            corpus = CorpusLoader.Load(run.Config.Corpus, run.Config.SourceLanguage, run.Config.TargetLanguage, run.Config.Training, run.Config.Data);
            foreach (var warning in corpus.Warnings) log.WriteLine("warning: " + TokenText.Escaped(warning));
            log.WriteLine(TokenText.Escaped(corpus.HeldOut));
            run = RunFolder.Open(request.Out);
        }
        else
        {
            (request.Model with { VocabSize = request.Options.VocabSize }).Validate();
            request.Options.Validate();
            if (File.Exists(Path.Combine(request.Out, RunFolder.ConfigFile)) && !RunFolder.IsUnfinished(request.Out))
                throw new AttnScopeException($"'{request.Out}' already holds a run; add --resume to continue it, or give a new folder");
            if (RunFolder.IsUnfinished(request.Out))
                log.WriteLine($"'{request.Out}' holds an unfinished run (no checkpoint): it is replaced by this one");
            var data = request.Data with
            {
                Valid = request.Data.Valid is { } v ? Path.GetFullPath(v) : null,
                HeldOut = request.Data.Valid is null ? DataOptions.Random : DataOptions.ValidFile,
                HeldOutSeed = request.Options.Seed,
            };
            data.Validate();
            corpus = CorpusLoader.Load(request.Corpus, request.SourceLanguage, request.TargetLanguage, request.Options, data);
            foreach (var note in corpus.Notes) log.WriteLine(TokenText.Escaped(note)); // notes quote corpus lines: never raw
            foreach (var warning in corpus.Warnings) log.WriteLine("warning: " + TokenText.Escaped(warning));
            log.WriteLine(TokenText.Escaped(corpus.HeldOut));
            var sw = Stopwatch.StartNew();
            request.Fuzzy?.Validate();
            IReadOnlyList<string>? extra = request.Fuzzy is null ? null : [FuzzyMemory.Separator];
            if (request.Vocab is { } given)
            {
                vocab = SubwordVocabulary.FromBertVocab(BertVocabPath(given), extra);
                log.WriteLine($"using the BERT WordPiece vocabulary {(IsMiniLm(given) ? "of all-MiniLM-L6-v2 (embedded)" : $"'{given}'")}: {vocab.Size} pieces, " +
                              $"[PAD] [UNK] [CLS] [SEP] as pad, unk, bos, eos{(vocab.LowerCase ? "; uncased: text is lower-cased and accents stripped" : "")}");
            }
            else
            {
                vocab = SubwordVocabulary.Learn(corpus.Train.SelectMany(p => new[] { p.Source, p.Target }), request.Options.VocabSize, extra);
                log.WriteLine($"learned a sub-word vocabulary of {vocab.Size} pieces ({sw.Elapsed.TotalSeconds:F1} s)");
            }
            var probe = corpus.Test.Count > 0 ? corpus.Test[0] : corpus.Train[0];
            var config = new RunConfig
            {
                Model = request.Model with { VocabSize = vocab.Size },
                Training = request.Options with { MaxSteps = request.Steps, MaxMinutes = request.Minutes }, // the run's budget
                Data = data with { HeldOutPairs = corpus.Test.Count },
                SourceLanguage = request.SourceLanguage,
                TargetLanguage = request.TargetLanguage,
                Corpus = request.Corpus.Equals(CorpusLoader.Builtin, StringComparison.OrdinalIgnoreCase) ? CorpusLoader.Builtin : Path.GetFullPath(request.Corpus),
                Probe = probe.Source,
                ProbeTarget = probe.Target,
                Fuzzy = request.Fuzzy,
                Vocab = request.Vocab is { } v2 ? (IsMiniLm(v2) ? EmbeddedMiniLmName : Path.GetFullPath(v2)) : null,
            };
            run = RunFolder.Create(request.Out, config);
            vocab.Save(run.TokenizerPath);
            if (request.Fuzzy is { } fuzzy) new FuzzyMemory(corpus.Train, fuzzy).Save(run.Path);
        }
        FuzzyMemory? memory = null;
        if (run.Config.Fuzzy is { } fz)
        {
            var sw = Stopwatch.StartNew();
            memory = FuzzyMemory.Load(run.Path, fz);
            FuzzyMemory.SeparatorId(vocab);
            log.WriteLine($"fuzzy repair: a translation memory of {memory.Pairs.Count} pairs; sources get the translation of their best match " +
                          $"(cosine ≥ {fz.MinScore:0.##}, at most {fz.MaxMatchPieces} pieces) ({sw.Elapsed.TotalSeconds:F1} s)");
        }

        // A resumed run continues to its saved step target unless given a new budget; the minutes are settled below,
        // once the checkpoint says how much training time was spent.
        var saved = run.Config.Data is null && run.Config.Training is { MaxSteps: 0, MaxMinutes: 0 }
            ? new TrainingBudget(0, TrainingDefaults.Minutes) // a run made before budgets were saved: the default, from now
            : new TrainingBudget(run.Config.Training.MaxSteps, run.Config.Training.MaxMinutes);
        var options = run.Config.Training with
        {
            MaxSteps = request.Resume && request.Steps == 0 && request.Minutes == 0 ? saved.TotalSteps : request.Steps,
            MaxMinutes = request.Minutes,
        };
        var encodeClock = Stopwatch.StartNew();
        var (examples, skipped) = CorpusLoader.Encode(vocab, corpus.Train, options.MaxPieces, run.Config.Model.MaxLength, memory);
        log.WriteLine($"{examples.Count} training pairs encoded" + (skipped > 0 ? $", {skipped} left out as longer than {Math.Min(options.MaxPieces, run.Config.Model.MaxLength - 1)} pieces" : "") +
                      (memory is null ? "" : $"; {examples.Count(e => Array.IndexOf(e.Source, FuzzyMemory.SeparatorId(vocab)) >= 0)} with a fuzzy match ({encodeClock.Elapsed.TotalSeconds:F1} s)"));
        var model = new Transformer(run.Config.Model, options.LabelSmoothing);
        model.Initialize(options.Seed);
        var session = new TrainingSession(model, options, examples, TrainingSession.BucketPlan(examples, options.BatchTokens, options.Seed));
        if (request.Resume)
        {
            var latest = run.LatestCheckpoint();
            session.LoadCheckpoint(latest);
            log.WriteLine($"resuming from {Path.GetFileName(latest)} (step {session.State.Step}, epoch {session.State.Epoch}, " +
                          $"{ProgressReporter.Clock(session.State.ElapsedSeconds)} of training so far)");
            double spent = run.Config.Data is null && run.Config.Training is { MaxSteps: 0, MaxMinutes: 0 } ? 0 : session.State.ElapsedSeconds;
            var budget = TrainingBudget.ForResume(saved, request.Steps, request.Minutes, spent);
            if (budget.IsUsedUp(session.State.Step, spent))
                throw new AttnScopeException($"the run's budget ({budget.Describe()}) is used up at step {session.State.Step}; " +
                                             $"give --minutes N for a new budget of N minutes from now, or --steps N to train until step N");
            var (stepLimit, minuteLimit) = budget.SessionLimits(spent);
            options = options with { MaxSteps = stepLimit, MaxMinutes = minuteLimit };
            log.WriteLine(ReferenceEquals(budget, saved)
                ? $"continuing the run's budget ({budget.Describe()}): {(minuteLimit > 0 ? $"{ProgressReporter.Clock(minuteLimit * 60)} left" : $"until step {stepLimit}")} " +
                  "(give --minutes N for a new budget of N minutes from now)"
                : $"new budget for this run: {(minuteLimit > 0 ? $"{TrainingBudget.Minutes(minuteLimit)} minutes from now" : "")}{(minuteLimit > 0 && stepLimit > 0 ? ", " : "")}{(stepLimit > 0 ? $"until step {stepLimit}" : "")}");
            if (!ReferenceEquals(budget, saved) || run.Config.Data is null) // saved, so that a later --resume alone continues this budget
                run = run.WithConfig(run.Config with
                {
                    Training = run.Config.Training with { MaxSteps = stepLimit, MaxMinutes = minuteLimit > 0 ? session.State.ElapsedSeconds / 60 + minuteLimit : 0 },
                });
        }
        // The schedule decays over the budget this run actually has, counted from the run's start: a new run's; on
        // --resume alone the run's saved total (so the rates go on as if never stopped); on --resume --minutes N the
        // time spent plus N (the budget decays recompute over the longer run from where it stands).
        session.UseBudget(options.MaxSteps, options.MaxMinutes > 0 ? session.State.ElapsedSeconds + options.MaxMinutes * 60 : 0);
        log.WriteLine(session.Schedule.Describe());
        if (options.AverageCheckpoints >= 2)
            log.WriteLine($"weight averaging: at the end the weights become the mean of the last {options.AverageCheckpoints} checkpoints " +
                          $"(one every {options.CheckpointEvery} steps and the final one); checkpoints keep the raw weights for resuming");
        log.WriteLine($"model: {model.ParameterCount:N0} parameters; d_model {run.Config.Model.Dim}, {run.Config.Model.Heads} heads, " +
                      $"{run.Config.Model.EncoderLayers}+{run.Config.Model.DecoderLayers} layers, d_ff {run.Config.Model.FeedForward}, " +
                      $"{(run.Config.Model.PreNorm ? "pre" : "post")}-LN; {AttnScope.Sources.Engine.Gemm.Threads} threads");

        var translator = new Translator(model, vocab, run.Path) { Memory = memory };
        long lastSaved = -1;
        void Save()
        {
            long step = session.State.Step;
            if (step == lastSaved) return;
            session.SaveCheckpoint(run.CheckpointPath(step));
            run.PruneCheckpoints(Math.Max(options.KeepCheckpoints, options.AverageCheckpoints)); // --average N keeps the last N
            if (run.Config.Probe.Length > 0)
                translator.CaptureReference(run.Config.Probe, run.Config.ProbeTarget).Save(run.ProbePath(step));
            lastSaved = step;
        }
        if (!request.Resume) Save(); // step 0: the probe before any training

        var progress = new ProgressReporter(log, interactive, options.MaxSteps, options.MaxMinutes * 60);
        var clock = Stopwatch.StartNew();
        double startElapsed = session.State.ElapsedSeconds;
        double flops = 0;
        bool cancelled = false;
        using (var logFile = new StreamWriter(run.LogPath, append: true) { AutoFlush = true }) // each line reaches the file as it is logged
        {
            if (logFile.BaseStream.Length == 0) logFile.WriteLine("step\tloss\tnll\tlearning_rate\tgrad_norm\ttokens\tseconds");
            while (true)
            {
                if (options.MaxSteps > 0 && session.State.Step >= options.MaxSteps) break;
                if (options.MaxMinutes > 0 && clock.Elapsed.TotalMinutes >= options.MaxMinutes) break;
                if (cancel.IsCancellationRequested) { cancelled = true; break; }
                var r = session.Step(startElapsed + clock.Elapsed.TotalSeconds);
                if (!double.IsFinite(r.Loss.Loss))
                    throw new AttnScopeException($"the loss became {r.Loss.Loss} at step {r.Step}; lower the learning rate (the last good checkpoint is kept)");
                flops += StepFlops(model.Config, session);
                progress.Update(r);
                if (r.Step % 50 == 0 || r.Step == 1)
                    logFile.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{r.Step}\t{r.Loss.MeanLoss:F4}\t{r.Loss.MeanNll:F4}\t{r.LearningRate:G4}\t{r.GradientNorm:F3}\t{r.Loss.Tokens}\t{startElapsed + clock.Elapsed.TotalSeconds:F1}"));
                if (r.Step % options.CheckpointEvery == 0) Save();
            }
        }
        double seconds = clock.Elapsed.TotalSeconds;
        progress.Finish();
        Save();
        double tokensPerSecond = progress.Tokens / Math.Max(1e-9, seconds);
        log.WriteLine($"stopped at step {session.State.Step}{(cancelled ? " (interrupted)" : "")} after {ProgressReporter.Clock(seconds)}: " +
                      $"{tokensPerSecond:N0} target tokens/s, {flops / seconds / 1e9:F1} GFLOP/s; checkpoint {Path.GetFileName(run.CheckpointPath(session.State.Step))}");
        IReadOnlyList<long> averagedSteps = [];
        if (options.AverageCheckpoints >= 2)
        {
            // After the last raw checkpoint is saved: the model in memory (evaluated below) becomes the average.
            var averaged = averagedSteps = CheckpointAverage.AverageRun(run, model, options.AverageCheckpoints, session.State);
            log.WriteLine(averaged.Count == 0
                ? "weight averaging: fewer than two trained checkpoints, so the final weights are the last checkpoint's own"
                : $"weight averaging: the final weights are {CheckpointAverage.Describe(averaged)}, saved as {RunFolder.CheckpointFolder}/{RunFolder.AveragedFile} " +
                  "(translate, evaluate and capture use it; --resume continues from the raw checkpoint)");
        }
        EvaluationReport? report = null;
        if (!cancelled && request.Evaluate)
        {
            report = Evaluator.Evaluate(translator, corpus.Test, beam: 1, limit: request.EvaluateLimit);
            foreach (var line in report.Lines()) log.WriteLine(line);
            run.SaveEvaluation(report.ToJson());
        }
        var total = new TrainingBudget(run.Config.Training.MaxSteps, run.Config.Training.MaxMinutes);
        if (cancelled || total.IsUsedUp(session.State.Step, session.State.ElapsedSeconds))
            foreach (var hint in total.ResumeHints(run.Path, session.State.Step, session.State.ElapsedSeconds)) log.WriteLine(hint);
        return new TrainOutcome(run, session.State.Step, cancelled, report, tokensPerSecond, seconds, flops / seconds / 1e9)
        {
            Schedule = session.Schedule, AveragedSteps = averagedSteps,
        };
    }

    private const string EmbeddedMiniLmName = "minilm";

    private static bool IsMiniLm(string name) => name.Equals(EmbeddedMiniLmName, StringComparison.OrdinalIgnoreCase);

    /// <summary>The file of --vocab: the embedded all-MiniLM-L6-v2 vocab.txt for "minilm", else the path given.</summary>
    public static string BertVocabPath(string name) => IsMiniLm(name) ? AttnScope.Sources.Models.EmbeddedMiniLm.ExtractVocab() : name;

    /// <summary>Floating-point operations of the last step: forward plus backward (about twice the forward).</summary>
    private static double StepFlops(TransformerConfig config, TrainingSession session) =>
        3 * Transformer.ForwardFlops(config, session.LastBatch.Size, session.LastBatch.SourceLength, session.LastBatch.TargetLength);
}
