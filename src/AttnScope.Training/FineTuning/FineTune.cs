using System.Diagnostics;
using System.Globalization;
using AttnScope.Capture;
using AttnScope.Sources.Tokenization;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Training.Data;
using AttnScope.Training.Model;
using AttnScope.Training.Optim;
using AttnScope.Training.Training;

namespace AttnScope.Training.FineTuning;

/// <summary>What <c>attnscope train --init MARIAN|T5</c> asks for.</summary>
internal sealed record FineTuneRequest
{
    /// <summary>The Marian or T5 folder to start from (already resolved from hf:); unused with <see cref="Resume"/>.</summary>
    public string Init { get; init; } = "";
    /// <summary>How the start was named (a folder or hf:ID), for finetune.json.</summary>
    public string InitName { get; init; } = "";
    public string Corpus { get; init; } = CorpusLoader.Builtin;
    public string SourceLanguage { get; init; } = "en";
    public string TargetLanguage { get; init; } = "de";
    public required string Out { get; init; }
    public bool Resume { get; init; }
    public long Steps { get; init; }
    public double Minutes { get; init; }
    public DataOptions Data { get; init; } = new();
    public TrainingOptions Options { get; init; } = Defaults;
    /// <summary>Text put before every source (T5's task prefix); null: the family's default (<see cref="FineTune.DefaultPrefix"/>).</summary>
    public string? SourcePrefix { get; init; }
    /// <summary>Dropout rate; null: the config's <c>dropout</c>.</summary>
    public float? Dropout { get; init; }
    public bool Evaluate { get; init; } = true;
    public int? EvaluateLimit { get; init; }

    /// <summary>Fine-tuning defaults: a small peak rate, a short warm-up, a constant rate after it.</summary>
    public static TrainingOptions Defaults { get; } = new() { LearningRate = 5e-5, WarmupSteps = 50, Decay = "constant", BatchTokens = 1000, CheckpointEvery = 200 };
}

internal sealed record FineTuneOutcome(string Folder, long Step, bool Cancelled, double FirstLoss, double LastLoss, TranslatorEvaluationReport? Evaluation);

/// <summary>
/// Fine-tunes a Marian or T5 model on a parallel corpus with the core's backward pass (<see cref="Seq2SeqTrainable"/>):
/// label-smoothed cross entropy on the teacher-forced target (decoder start = pad), AdamW with warm-up and gradient
/// clipping, a step and/or time budget, length-bucketed batches under a token budget; T5 sources get the task prefix.
/// The output folder is a Hugging Face-style folder of the same family (config.json, model.safetensors, the tokenizer
/// files) that <see cref="Seq2SeqTranslator"/> loads unchanged, plus finetune.json, optimizer.safetensors (AdamW
/// moments, for --resume) and log.tsv.
/// </summary>
internal static class FineTune
{
    public const string OptimizerFile = "optimizer.safetensors";
    public const string LogFile = "log.tsv";
    private static readonly string[] TokenizerFiles = ["source.spm", "target.spm", "vocab.json", "spiece.model", "tokenizer_config.json"];

    private static readonly Dictionary<string, string> T5Languages = new(StringComparer.OrdinalIgnoreCase)
    {
        ["en"] = "English", ["de"] = "German", ["fr"] = "French", ["ro"] = "Romanian",
    };

    /// <summary>
    /// The source prefix a family expects by default: T5's "translate English to German: " for the language pairs its
    /// pre-training used (English to German, French or Romanian), else none (give --prefix); Marian none.
    /// </summary>
    public static string DefaultPrefix(string family, string source, string target) =>
        family == "t5" && T5Languages.TryGetValue(source, out var s) && T5Languages.TryGetValue(target, out var t) ? $"translate {s} to {t}: " : "";

    public static FineTuneOutcome Run(FineTuneRequest request, TextWriter log, CancellationToken cancel)
    {
        FineTuneState state;
        if (request.Resume)
        {
            state = FineTuneState.Load(request.Out);
            log.WriteLine($"resuming the fine-tuning in '{request.Out}' at step {state.Step}");
        }
        else
        {
            request.Options.Validate();
            if (FineTuneState.Exists(request.Out))
                throw new AttnScopeException($"'{request.Out}' already holds a fine-tuning run; add --resume to continue it, or give a new folder");
            string? type = Seq2SeqTranslator.TranslationModelType(request.Init);
            if (type is null)
                throw new AttnScopeException($"--init '{request.InitName}' is not a Marian or T5 model folder (config.json with model_type marian, t5 or mt5)");
            Seq2SeqTranslator.Load(request.Init); // tokenizer and model agree: a clear error before any work
            if (Path.GetFullPath(request.Out) == Path.GetFullPath(request.Init)) throw new AttnScopeException("--out must be a new folder, not the --init folder");
            if (Directory.Exists(request.Out) && Directory.EnumerateFileSystemEntries(request.Out).Any())
                throw new AttnScopeException($"'{request.Out}' is not empty: fine-tuning writes a new model folder, give a new or empty --out");
            var data = request.Data with
            {
                Valid = request.Data.Valid is { } v ? Path.GetFullPath(v) : null,
                HeldOut = request.Data.Valid is null ? DataOptions.Random : DataOptions.ValidFile,
                HeldOutSeed = request.Options.Seed,
            };
            data.Validate();
            state = new FineTuneState
            {
                Init = request.InitName.Length > 0 ? request.InitName : Path.GetFullPath(request.Init),
                Corpus = request.Corpus.Equals(CorpusLoader.Builtin, StringComparison.OrdinalIgnoreCase) ? CorpusLoader.Builtin : Path.GetFullPath(request.Corpus),
                SourceLanguage = request.SourceLanguage, TargetLanguage = request.TargetLanguage,
                Training = request.Options with { MaxSteps = request.Steps, MaxMinutes = request.Minutes },
                Data = data,
                Dropout = request.Dropout ?? -1,
                SourcePrefix = request.SourcePrefix ?? DefaultPrefix(T5Family.IsT5(type) ? "t5" : MarianFamily.ModelType, request.SourceLanguage, request.TargetLanguage),
            };
        }

        var corpus = CorpusLoader.Load(state.Corpus, state.SourceLanguage, state.TargetLanguage, state.Training, state.Data);
        foreach (var note in corpus.Notes) log.WriteLine(TokenText.Escaped(note));
        foreach (var warning in corpus.Warnings) log.WriteLine("warning: " + TokenText.Escaped(warning));
        log.WriteLine(TokenText.Escaped(corpus.HeldOut));
        string from = request.Resume ? request.Out : request.Init;
        var model = Seq2SeqTrainable.Load(from, state.Training.LabelSmoothing);
        var tokenizer = Seq2SeqTranslator.LoadTokenizer(from, model.DecoderSpec.Vocab);
        if (state.SourcePrefix.Length > 0) log.WriteLine($"every source starts with the prefix \"{TokenText.Escaped(state.SourcePrefix)}\"");
        if (state.Dropout < 0) state = state with { Dropout = model.Dropout, Data = state.Data with { HeldOutPairs = corpus.Test.Count } };
        var (examples, skipped) = Encode(tokenizer, corpus.Train, state.Training.MaxPieces, model.EncoderSpec.MaxPositions, state.SourcePrefix);
        log.WriteLine($"{examples.Count} training pairs encoded" + (skipped > 0 ? $", {skipped} left out (too long, or empty)" : ""));
        if (examples.Count == 0) throw new AttnScopeException("there are no training pairs left to fine-tune on");

        var optimizer = new AdamW(model.Parameters) { WeightDecay = state.Training.WeightDecay };
        if (request.Resume) AdamWStateFile.Load(Path.Combine(request.Out, OptimizerFile), optimizer);
        else
        {
            // Nothing is written before the corpus and the model have loaded: a failed start leaves no half folder.
            Directory.CreateDirectory(request.Out);
            foreach (var f in TokenizerFiles.Prepend("config.json"))
                if (File.Exists(Path.Combine(request.Init, f))) File.Copy(Path.Combine(request.Init, f), Path.Combine(request.Out, f), overwrite: true);
        }

        // The budget: a new run's; a resumed run continues to its saved total unless given --steps / --minutes.
        var saved = new TrainingBudget(state.Training.MaxSteps, state.Training.MaxMinutes);
        var budget = request.Resume ? TrainingBudget.ForResume(saved, request.Steps, request.Minutes, state.ElapsedSeconds) : saved;
        if (request.Resume && budget.IsUsedUp(state.Step, state.ElapsedSeconds))
            throw new AttnScopeException($"the fine-tuning budget ({budget.Describe()}) is used up at step {state.Step}; give --steps N (a later step) or --minutes N");
        var (stepLimit, minuteLimit) = budget.SessionLimits(state.ElapsedSeconds);
        if (stepLimit == 0 && minuteLimit == 0) minuteLimit = TrainingDefaults.Minutes;
        state = state with { Training = state.Training with { MaxSteps = budget.TotalSteps, MaxMinutes = budget.TotalMinutes } };
        log.WriteLine($"fine-tuning {model.ParameterCount:N0} parameters: lr {state.Training.LearningRate:G3} (warm-up {state.Training.WarmupSteps}, {state.Training.Decay}), " +
                      $"batch {state.Training.BatchTokens} tokens, dropout {state.Dropout:G3}, label smoothing {state.Training.LabelSmoothing:G3}, " +
                      (stepLimit > 0 ? $"until step {stepLimit}" : "") + (stepLimit > 0 && minuteLimit > 0 ? " or " : "") + (minuteLimit > 0 ? $"{TrainingBudget.Minutes(minuteLimit)} minutes" : ""));

        // The budget decays (cosine, linear, wsd) follow this session's budget counted from the run's start, like train's.
        var schedule = new LearningRateSchedule(state.Training.LearningRate, state.Training.WarmupSteps, state.Training.Decay,
            (int)Math.Min(int.MaxValue, Math.Max(stepLimit, 1)), 0, minuteLimit > 0 ? state.ElapsedSeconds + minuteLimit * 60 : 0, state.Training.DecayFraction);
        var plan = TrainingSession.BucketPlan(examples, state.Training.BatchTokens, state.Training.Seed);
        IReadOnlyList<int[]>? batches = null;
        int planEpoch = -1;
        var batch = new Batch();
        var clock = Stopwatch.StartNew();
        double startElapsed = state.ElapsedSeconds, firstLoss = double.NaN, lastLoss = state.LastLoss;
        long lastSaved = state.Step;
        bool cancelled = false;
        void Save()
        {
            state = state with { ElapsedSeconds = startElapsed + clock.Elapsed.TotalSeconds, LastLoss = lastLoss };
            model.SaveWeights(Path.Combine(request.Out, "model.safetensors"));
            AdamWStateFile.Save(Path.Combine(request.Out, OptimizerFile), optimizer);
            state.Save(request.Out);
            lastSaved = state.Step;
        }
        if (!request.Resume) Save(); // step 0: a complete folder (resumable) from the start
        using (var logFile = new StreamWriter(Path.Combine(request.Out, LogFile), append: true) { AutoFlush = true })
        {
            if (logFile.BaseStream.Length == 0) logFile.WriteLine("step\tloss\tnll\tlearning_rate\tgrad_norm\ttokens\tseconds");
            while (true)
            {
                if (stepLimit > 0 && state.Step >= stepLimit) break;
                if (minuteLimit > 0 && clock.Elapsed.TotalMinutes >= minuteLimit) break;
                if (cancel.IsCancellationRequested) { cancelled = true; break; }
                if (planEpoch != state.Epoch) { batches = plan(state.Epoch); planEpoch = state.Epoch; }
                batch.Fill(examples, batches![state.BatchInEpoch], model.DecoderStartId, model.EosId);
                model.ZeroGrad();
                var loss = model.Forward(batch, state.Dropout, unchecked((ulong)state.Training.Seed * 1_000_003UL + (ulong)state.Step));
                if (!double.IsFinite(loss.Loss))
                    throw new AttnScopeException($"the loss became {loss.Loss} at step {state.Step + 1}; lower --lr (the last saved state is kept)");
                model.Backward(loss.Tokens == 0 ? 0f : 1f / loss.Tokens);
                double norm = optimizer.ClipGradients(state.Training.ClipNorm);
                double lr = schedule.At(state.Step, startElapsed + clock.Elapsed.TotalSeconds);
                optimizer.Step(lr);
                int next = state.BatchInEpoch + 1, epoch = state.Epoch;
                if (next >= batches!.Count) { next = 0; epoch++; }
                state = state with { Step = state.Step + 1, Epoch = epoch, BatchInEpoch = next, TokensSeen = state.TokensSeen + loss.Tokens };
                if (double.IsNaN(firstLoss)) firstLoss = loss.MeanLoss;
                lastLoss = loss.MeanLoss;
                double seconds = startElapsed + clock.Elapsed.TotalSeconds;
                logFile.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{state.Step}\t{loss.MeanLoss:F4}\t{loss.MeanNll:F4}\t{lr:G4}\t{norm:F3}\t{loss.Tokens}\t{seconds:F1}"));
                if (state.Step % 10 == 0 || state.Step == 1)
                    log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {state.Step}: loss {loss.MeanLoss:F4} (nll {loss.MeanNll:F4}), lr {lr:G3}, grad norm {norm:F2}, {seconds:F0} s"));
                if (state.Step % state.Training.CheckpointEvery == 0) Save();
            }
        }
        if (state.Step != lastSaved || !File.Exists(Path.Combine(request.Out, OptimizerFile))) Save();
        else state.Save(request.Out);
        log.WriteLine($"stopped at step {state.Step}{(cancelled ? " (interrupted)" : "")}; wrote {request.Out} (model.safetensors, {OptimizerFile}, {FineTuneState.FileName}, {LogFile})");
        TranslatorEvaluationReport? report = null;
        if (!cancelled && request.Evaluate && corpus.Test.Count > 0)
        {
            var translator = new Seq2SeqTranslator { Model = model.AsEncoderDecoder(), Tokenizer = tokenizer, Architecture = model.Family };
            report = TranslatorEvaluation.Evaluate(translator, corpus.Test, beam: 1, request.EvaluateLimit, state.SourcePrefix);
            log.WriteLine(report.Line());
            report.Save(request.Out);
        }
        return new FineTuneOutcome(request.Out, state.Step, cancelled, firstLoss, lastLoss, report);
    }

    /// <summary>Source ids (the prefix's and the source's pieces, &lt;/s&gt;) and target ids (pieces; the batch appends
    /// &lt;/s&gt;) of every pair that fits: at most <paramref name="maxPieces"/> pieces (the prefix not counted) and the
    /// model's positions.</summary>
    public static (List<EncodedPair> Pairs, int Skipped) Encode(ISeq2SeqTokenizer tokenizer, IReadOnlyList<ParallelPair> pairs, int maxPieces, int maxPositions, string prefix = "")
    {
        int prefixPieces = prefix.Length == 0 ? 0 : tokenizer.EncodeSource(prefix).Ids.Length - 1;
        var list = new List<EncodedPair>(pairs.Count);
        int skipped = 0, limit = Math.Min(maxPieces + 1, maxPositions);
        foreach (var p in pairs)
        {
            if (string.IsNullOrWhiteSpace(p.Source)) { skipped++; continue; }
            var s = tokenizer.EncodeSource(prefix + p.Source).Ids;
            var t = tokenizer.EncodeTarget(p.Target).Ids;
            if (s.Length < 2 || t.Length < 2 || s.Length > Math.Min(limit + prefixPieces, maxPositions) || t.Length > limit) { skipped++; continue; }
            list.Add(new EncodedPair(s, t[..^1]));
        }
        return (list, skipped);
    }
}
