using AttnScope.Training.Checkpoints;
using AttnScope.Training.Model;
using AttnScope.Training.Optim;
using AttnScope.Training.Text;

namespace AttnScope.Training.Training;

/// <summary>What one optimizer step did.</summary>
internal readonly record struct StepReport(long Step, StepLoss Loss, double LearningRate, double GradientNorm, int SourceTokens);

/// <summary>
/// The training loop's core, independent of files: a model, AdamW, the schedule, encoded examples and a batch
/// plan per epoch. Every step's randomness comes from (seed, step) and every epoch's batch order from
/// (seed, epoch), so a session restored from <see cref="State"/> continues bit for bit.
/// </summary>
internal sealed class TrainingSession
{
    public Transformer Model { get; }
    public AdamW Optimizer { get; }
    /// <summary>The learning-rate schedule; its budget is the run's (<see cref="UseBudget"/>).</summary>
    public LearningRateSchedule Schedule { get; private set; }
    public TrainingOptions Options { get; }
    public IReadOnlyList<EncodedPair> Examples { get; }
    public TrainingState State { get; private set; }

    private readonly Func<int, IReadOnlyList<int[]>> _plan;
    private IReadOnlyList<int[]>? _epochBatches;
    private int _planEpoch = -1;
    private readonly Batch _batch = new();

    /// <summary>The batch of the last step (for throughput accounting).</summary>
    public Batch LastBatch => _batch;

    /// <param name="plan">Batches (indices into <paramref name="examples"/>) for an epoch number; must be deterministic.</param>
    public TrainingSession(Transformer model, TrainingOptions options, IReadOnlyList<EncodedPair> examples,
        Func<int, IReadOnlyList<int[]>> plan, TrainingState? state = null)
    {
        if (examples.Count == 0) throw new Capture.AttnScopeException("there are no training pairs left to train on");
        Model = model;
        Options = options;
        Examples = examples;
        _plan = plan;
        Optimizer = new AdamW(model.Parameters) { WeightDecay = options.WeightDecay };
        State = state ?? new TrainingState(0, 0, 0, 0, 0);
        Schedule = ScheduleFor(options, options.MaxSteps, options.MaxMinutes > 0 ? State.ElapsedSeconds + options.MaxMinutes * 60 : 0);
        model.SetLabelSmoothing(options.LabelSmoothing);
    }

    public void Restore(TrainingState state) => State = state;

    /// <summary>The schedule of <paramref name="options"/> for a run that ends at step <paramref name="totalSteps"/>
    /// and/or after <paramref name="totalSeconds"/> of training counted from the run's start (0: no such limit);
    /// the floor is <see cref="LearningRateSchedule.FloorShare"/> of the peak.</summary>
    public static LearningRateSchedule ScheduleFor(TrainingOptions options, long totalSteps, double totalSeconds) =>
        new(options.LearningRate, options.WarmupSteps, options.Decay, (int)Math.Min(int.MaxValue, totalSteps),
            options.LearningRate * LearningRateSchedule.FloorShare, totalSeconds, options.DecayFraction);

    /// <summary>
    /// Sets the budget the schedule decays over: step <paramref name="totalSteps"/> and/or
    /// <paramref name="totalSeconds"/> of training since the run's start (the elapsed seconds of
    /// <see cref="TrainingState"/>, which carry over a resume); 0 for none. A resumed run calls it once the
    /// checkpoint says how much time was spent, with the total of the budget it actually has.
    /// </summary>
    public void UseBudget(long totalSteps, double totalSeconds) => Schedule = ScheduleFor(Options, totalSteps, totalSeconds);

    /// <summary>The batch plan of the default data path: length-bucketed batches under the token budget.</summary>
    public static Func<int, IReadOnlyList<int[]>> BucketPlan(IReadOnlyList<EncodedPair> examples, int batchTokens, int seed)
    {
        var lengths = examples.Select(e => e.Length).ToArray();
        return epoch => Data.LengthBuckets.Batches(lengths, batchTokens, new Random(unchecked(seed * 7919 + epoch)));
    }

    /// <summary>Runs one optimizer step on the next batch of the plan.</summary>
    /// <param name="elapsedSeconds">The run's training time as the step starts, counted from the run's start (it carries
    /// over a resume): the budget decays read it, and the state records it.</param>
    public StepReport Step(double elapsedSeconds)
    {
        var s = State;
        if (_planEpoch != s.Epoch)
        {
            _epochBatches = _plan(s.Epoch);
            _planEpoch = s.Epoch;
            if (_epochBatches.Count == 0) throw new Capture.AttnScopeException("the batch plan is empty");
        }
        var indices = _epochBatches![s.BatchInEpoch];
        _batch.Fill(Examples, indices, SubwordVocabulary.BosId, SubwordVocabulary.EosId);
        Model.ZeroGrad();
        var random = FastRandom.ForStep(Options.Seed, s.Step);
        var loss = Model.Forward(_batch, ref random, training: true);
        Model.Backward(loss.Tokens == 0 ? 0f : 1f / loss.Tokens);
        double norm = Optimizer.ClipGradients(Options.ClipNorm);
        double lr = Schedule.At(s.Step, elapsedSeconds);
        Optimizer.Step(lr);
        int next = s.BatchInEpoch + 1;
        int epoch = s.Epoch;
        if (next >= _epochBatches.Count) { next = 0; epoch++; }
        State = new TrainingState(s.Step + 1, epoch, next, s.TokensSeen + loss.Tokens, elapsedSeconds);
        int sourceTokens = 0;
        for (int b = 0; b < _batch.Size; b++) sourceTokens += _batch.SourceLengths[b];
        return new StepReport(s.Step + 1, loss, lr, norm, sourceTokens);
    }

    public void SaveCheckpoint(string path) => Checkpoint.Save(path, Model, Optimizer, State);

    public void LoadCheckpoint(string path) => State = Checkpoint.Load(path, Model, Optimizer);
}
