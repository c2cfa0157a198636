using System.Diagnostics;
using System.Globalization;
using AttnScope.Capture;
using AttnScope.Sources.Transformer;

namespace AttnScope.Training.CausalLm;

/// <summary>What an induction-head run trains and how often it looks.</summary>
internal sealed record InductionRunOptions
{
    public CausalLmOptions Training { get; init; } = new();
    /// <summary>Vocabulary including BOS (id 0).</summary>
    public int Vocab { get; init; } = 64;
    /// <summary>Tokens per training sequence, BOS included (also the model's positions).</summary>
    public int Length { get; init; } = 48;
    public int Layers { get; init; } = 2;
    public int Hidden { get; init; } = 64;
    public int Heads { get; init; } = 4;
    /// <summary>Steps between checkpoints (each also scores every head); the first is step 0, the last the final step.</summary>
    public int CheckpointEvery { get; init; } = 100;
    /// <summary>Steps between log rows.</summary>
    public int LogEvery { get; init; } = 25;
    /// <summary>Sequences of the repeated-token test (TransformerLens's tutorial uses 10).</summary>
    public int TestBatch { get; init; } = 10;

    /// <summary>S of the repeated-token test: the longest that fits twice after BOS into the model's positions.</summary>
    public int TestRepeat => (Length - 1) / 2;

    public void Validate()
    {
        Training.Validate();
        if (Layers is < 1 or > 64 || Hidden is < 2 or > 4096 || Heads is < 1 or > 256 || Hidden % Heads != 0)
            throw new AttnScopeException($"model {Layers} layers × {Heads} heads, width {Hidden}: need 1..64 layers, 1..256 heads dividing a width of 2..4096");
        if (Vocab is < 3 or > 65536) throw new AttnScopeException($"vocabulary {Vocab} must be 3..65536");
        if (Length is < 7 or > 4096) throw new AttnScopeException($"sequence length {Length} must be 7..4096");
        if (CheckpointEvery < 1) throw new AttnScopeException($"--checkpoint-every {CheckpointEvery} must be at least 1");
        if (LogEvery < 1) throw new AttnScopeException($"log interval {LogEvery} must be at least 1");
        if (TestBatch is < 1 or > 1000) throw new AttnScopeException($"test batch {TestBatch} must be 1..1000");
    }

    /// <summary>A 2-layer attention-only decoder (by default): pre-LayerNorm, learned positions, causal, untied head.</summary>
    public TransformerSpec Spec() => new()
    {
        Family = "attn-only", Layers = Layers, Hidden = Hidden, Heads = Heads, KvHeads = Heads, HeadDim = Hidden / Heads,
        Intermediate = 4 * Hidden, Vocab = Vocab, MaxPositions = Length, Norm = NormKind.LayerNorm, Placement = NormPlacement.Pre,
        FinalNorm = true, Positions = PositionKind.Learned, Causal = true, Mlp = false, LmHead = true, TiedHead = false,
        BosId = RepeatedSegmentCorpus.Bos,
    };
}

/// <summary>One scored checkpoint.</summary>
internal sealed record InductionCheckpoint(long Step, double Loss, double RepeatedLoss, double OtherLoss, HeadScores Scores, string Path);

/// <summary>What a run produced.</summary>
internal sealed record InductionRunResult(IReadOnlyList<InductionCheckpoint> Checkpoints, bool Cancelled, double Seconds, string CapturePath, AttentionCapture Capture);

/// <summary>
/// Trains a small attention-only decoder on <see cref="RepeatedSegmentCorpus"/> and watches induction heads form:
/// checkpoints every K steps, each scored on TransformerLens's repeated-token test (<see cref="TutorialHeadScores"/>);
/// <c>log.tsv</c> (written and flushed row by row), <c>scores.tsv</c> (every head at every checkpoint),
/// <c>config.json</c>, and at the end a capture of the final model on a repeated sequence.
/// </summary>
internal static class InductionTraining
{
    public const string LogFile = "log.tsv";
    public const string ScoresFile = "scores.tsv";
    public const string CaptureFile = "induction-capture.safetensors";

    private static string F(double v, string format = "0.0000") => double.IsNaN(v) ? "nan" : v.ToString(format, CultureInfo.InvariantCulture);

    public static InductionRunResult Run(InductionRunOptions options, string outDir, TextWriter? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var o = options.Training;
        var spec = options.Spec();
        var parameters = CausalLmParameters.Create(spec, o.Seed);
        var trainer = new CausalLmTrainer(parameters, o);
        var corpus = new RepeatedSegmentCorpus(options.Vocab, options.Length, o.Seed);
        var test = TutorialHeadScores.RepeatedTokens(options.Vocab, options.TestRepeat, options.TestBatch, seed: 12345);
        Directory.CreateDirectory(outDir);
        CausalLmCheckpoint.SaveConfig(outDir, spec, new
        {
            o.BatchSize, o.Steps, o.LearningRate, o.MinLearningRate, o.WarmupSteps, o.WeightDecay, o.Beta1, o.Beta2, o.Epsilon, o.ClipNorm, o.Seed, o.Shards,
            corpus = new { kind = "repeated-segment", options.Vocab, options.Length, corpus.MinRepeat, corpus.MaxRepeat, bos = RepeatedSegmentCorpus.Bos },
            test = new { kind = "transformerlens-repeated-tokens", repeat = options.TestRepeat, batch = options.TestBatch, score = "mean of diagonal at offset 1-S (induction), -1 (previous token)" },
        });

        var clock = Stopwatch.StartNew();
        var checkpoints = new List<InductionCheckpoint>();
        using var log = new StreamWriter(Path.Combine(outDir, LogFile)) { AutoFlush = true };
        using var scoresOut = new StreamWriter(Path.Combine(outDir, ScoresFile)) { AutoFlush = true };
        log.WriteLine("step\tlr\tloss\tloss_repeated\tloss_other\tmax_induction\tmax_prev_token\tseconds");
        scoresOut.WriteLine("step\tlayer\thead\tinduction\tprev_token");

        double sumLoss = 0, sumRep = 0;
        int nTok = 0, nRep = 0;
        double lastLr = 0;
        void Row(long step, CausalLmLoss loss, HeadScores scores, double lr) =>
            log.WriteLine(string.Join('\t', step.ToString(CultureInfo.InvariantCulture), F(lr, "0.000000"), F(loss.Loss), F(loss.RepeatedLoss), F(loss.OtherLoss),
                F(scores.MaxInduction), F(scores.MaxPreviousToken), F(clock.Elapsed.TotalSeconds, "0.0")));
        void Checkpoint(long step, CausalLmLoss loss, HeadScores scores)
        {
            var path = CausalLmCheckpoint.Save(outDir, parameters, step, new Dictionary<string, string>
            {
                ["loss"] = F(loss.Loss), ["loss_repeated"] = F(loss.RepeatedLoss), ["max_induction_score"] = F(scores.MaxInduction),
            });
            for (int l = 0; l < spec.Layers; l++)
                for (int h = 0; h < spec.Heads; h++)
                    scoresOut.WriteLine($"{step}\t{l}\t{h}\t{F(scores.Induction[l][h])}\t{F(scores.PreviousToken[l][h])}");
            checkpoints.Add(new InductionCheckpoint(step, loss.Loss, loss.RepeatedLoss, loss.OtherLoss, scores, path));
            var (bl, bh) = scores.BestInductionHead();
            progress?.WriteLine($"step {step}/{o.Steps}: loss {F(loss.Loss, "0.000")} (repeated {F(loss.RepeatedLoss, "0.000")}, other {F(loss.OtherLoss, "0.000")}), " +
                                $"max induction score {F(scores.MaxInduction, "0.00")} (L{bl}H{bh}), {clock.Elapsed.TotalSeconds:0}s");
        }

        // step 0: the untrained model on the first batch
        var first = trainer.Evaluate(corpus.Batch(0, o.BatchSize));
        var s0 = TutorialHeadScores.Measure(parameters.Model(), test);
        Row(0, first, s0, 0);
        Checkpoint(0, first, s0);
        bool cancelled = false;
        CausalLmLoss window = first;
        while (trainer.Step < o.Steps)
        {
            if (cancel.IsCancellationRequested) { cancelled = true; break; }
            var r = trainer.TrainStep(corpus.Batch(trainer.Step, o.BatchSize));
            if (!double.IsFinite(r.Loss.Loss)) throw new AttnScopeException($"training diverged at step {r.Step} (loss {r.Loss.Loss}); try a lower learning rate");
            sumLoss += r.Loss.Loss * r.Loss.Tokens; sumRep += r.Loss.RepeatedLoss * r.Loss.RepeatedTokens;
            nTok += r.Loss.Tokens; nRep += r.Loss.RepeatedTokens;
            lastLr = r.LearningRate;
            bool logRow = r.Step % options.LogEvery == 0, ckpt = r.Step % options.CheckpointEvery == 0 || r.Step == o.Steps;
            if (!logRow && !ckpt) continue;
            window = new CausalLmLoss(sumLoss / nTok, nRep == 0 ? double.NaN : sumRep / nRep, nTok == nRep ? double.NaN : (sumLoss - sumRep) / (nTok - nRep), nTok, nRep);
            sumLoss = sumRep = 0; nTok = nRep = 0;
            var scores = TutorialHeadScores.Measure(parameters.Model(), test);
            Row(r.Step, window, scores, r.LearningRate);
            if (ckpt) Checkpoint(r.Step, window, scores);
        }
        if (checkpoints[^1].Step != trainer.Step)
        {
            // cancelled between checkpoints: keep what was learnt
            if (nTok > 0) window = new CausalLmLoss(sumLoss / nTok, nRep == 0 ? double.NaN : sumRep / nRep, nTok == nRep ? double.NaN : (sumLoss - sumRep) / (nTok - nRep), nTok, nRep);
            var scores = TutorialHeadScores.Measure(parameters.Model(), test);
            Row(trainer.Step, window, scores, lastLr);
            Checkpoint(trainer.Step, window, scores);
        }
        var capture = Capture(parameters.Model(), test[0], options.TestRepeat, trainer.Step);
        var capturePath = Path.Combine(outDir, CaptureFile);
        capture.Save(capturePath);
        return new InductionRunResult(checkpoints, cancelled, clock.Elapsed.TotalSeconds, capturePath, capture);
    }

    /// <summary>Token name in captures: <c>&lt;bos&gt;</c> for BOS, otherwise "t" and the id (<c>t17</c>).</summary>
    public static string TokenName(int id) => id == RepeatedSegmentCorpus.Bos ? "<bos>" : "t" + id.ToString(CultureInfo.InvariantCulture);

    /// <summary>The decoder attention of <paramref name="model"/> on one repeated-token sequence, as a capture.</summary>
    public static AttentionCapture Capture(TransformerModel model, int[] ids, int repeat, long step)
    {
        var r = model.Forward(new ForwardInput { Ids = ids });
        var tokens = new List<CaptureToken>(ids.Length);
        var text = new System.Text.StringBuilder();
        foreach (var id in ids)
        {
            if (id == RepeatedSegmentCorpus.Bos) { tokens.Add(new CaptureToken(TokenName(id), id, -1, -1, Segment.A, true)); continue; }
            if (text.Length > 0) text.Append(' ');
            int start = text.Length;
            text.Append(TokenName(id));
            tokens.Add(new CaptureToken(TokenName(id), id, start, text.Length, Segment.A, false));
        }
        var meta = new CaptureMetadata
        {
            ModelId = $"induction attn-only {model.Spec.Layers}L{model.Spec.Heads}H step {step}", Architecture = model.Spec.Family, Source = "managed",
            Texts = [text.ToString()],
            Extra = new Dictionary<string, string> { ["repeat_length"] = repeat.ToString(CultureInfo.InvariantCulture), ["step"] = step.ToString(CultureInfo.InvariantCulture) },
        };
        return new AttentionCapture(meta, tokens, [new AttentionStack(AttentionStack.Decoder, r.Attention!)]);
    }
}
