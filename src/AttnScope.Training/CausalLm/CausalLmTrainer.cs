using AttnScope.Sources.Transformer;
using AttnScope.Training.Optim;

namespace AttnScope.Training.CausalLm;

/// <summary>Cross-entropy of one step or batch: over all predicted tokens, the repeated ones, and the rest.</summary>
internal sealed record CausalLmLoss(double Loss, double RepeatedLoss, double OtherLoss, int Tokens, int RepeatedTokens);

/// <summary>What one optimizer step did.</summary>
internal sealed record CausalLmStep(long Step, double LearningRate, double GradientNorm, CausalLmLoss Loss);

/// <summary>
/// Trains a decoder (causal) language model on the core <see cref="TransformerModel"/>: next-token cross-entropy
/// averaged over every predicted token of a batch (position i predicts token i + 1), gradients from the core's
/// backward pass accumulated sequence by sequence, global-norm clipping, AdamW (<see cref="AdamW"/>) with linear
/// warm-up then cosine decay. Weights are re-packed for the GEMM after every update.
/// </summary>
internal sealed class CausalLmTrainer
{
    public CausalLmParameters Parameters { get; }
    public CausalLmOptions Options { get; }
    public AdamW Optimizer { get; }
    public LearningRateSchedule Schedule { get; }
    /// <summary>Optimizer steps taken.</summary>
    public long Step { get; private set; }
    private readonly CoreGradients[] _shardGrads;

    public CausalLmTrainer(CausalLmParameters parameters, CausalLmOptions options)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        options.Validate();
        Parameters = parameters;
        Options = options;
        Optimizer = new AdamW(parameters.All)
        {
            Beta1 = options.Beta1, Beta2 = options.Beta2, Epsilon = options.Epsilon, WeightDecay = options.WeightDecay,
        };
        Schedule = new LearningRateSchedule(options.LearningRate, options.WarmupSteps, "cosine", (int)Math.Min(int.MaxValue, options.Steps), options.MinLearningRate);
        // shard 0 adds straight into the parameters' gradients; the others into their own, summed in order after
        _shardGrads = new CoreGradients[options.Shards];
        _shardGrads[0] = parameters.Gradients;
        for (int i = 1; i < options.Shards; i++) _shardGrads[i] = CoreGradients.For(parameters.Tensors);
    }

    /// <summary>
    /// Loss of one sequence and, when <paramref name="grads"/> is given, its gradient scaled by
    /// <paramref name="scale"/> (1 / tokens of the batch) added into them. Returns summed (not averaged) losses.
    /// </summary>
    public static (double Loss, double Repeated, int Tokens, int RepeatedTokens) Sequence(TransformerModel model, CausalLmSequence seq, float scale, CoreGradients? grads)
    {
        var ids = seq.Ids;
        int m = ids.Length, v = model.Spec.Vocab;
        var pass = model.Forward(new ForwardInput { Ids = ids, Logits = LogitRows.All, Record = grads is not null, SkipAttention = grads is null });
        var logits = pass.Logits!.Data;
        var dLogits = grads is null ? null : new float[m * v];
        double loss = 0, rep = 0;
        int nRep = 0;
        for (int i = 0; i < m - 1; i++)
        {
            var row = logits.AsSpan(i * v, v);
            float max = System.Numerics.Tensors.TensorPrimitives.Max(row);
            double sum = 0;
            for (int j = 0; j < v; j++) sum += Math.Exp(row[j] - max);
            int target = ids[i + 1];
            double nll = Math.Log(sum) - (row[target] - max);
            loss += nll;
            if (seq.Repeated[i]) { rep += nll; nRep++; }
            if (dLogits is null) continue;
            var d = dLogits.AsSpan(i * v, v);
            for (int j = 0; j < v; j++) d[j] = (float)(Math.Exp(row[j] - max) / sum) * scale;
            d[target] -= scale;
        }
        if (grads is not null) model.BackwardFromLogits(pass.Tape!, dLogits!, grads);
        return (loss, rep, m - 1, nRep);
    }

    private static CausalLmLoss Summarise(IEnumerable<(double Loss, double Repeated, int Tokens, int RepeatedTokens)> parts)
    {
        double loss = 0, rep = 0;
        int n = 0, nr = 0;
        foreach (var p in parts) { loss += p.Loss; rep += p.Repeated; n += p.Tokens; nr += p.RepeatedTokens; }
        return new CausalLmLoss(n == 0 ? 0 : loss / n, nr == 0 ? double.NaN : rep / nr, n - nr == 0 ? double.NaN : (loss - rep) / (n - nr), n, nr);
    }

    /// <summary>Loss of a batch without training (the current weights).</summary>
    public CausalLmLoss Evaluate(IReadOnlyList<CausalLmSequence> batch)
    {
        var model = Parameters.Model();
        return Summarise(batch.Select(s => Sequence(model, s, 0, null)).ToList());
    }

    /// <summary>
    /// Loss of <paramref name="batch"/> with its gradient (mean over every predicted token) left in the parameters'
    /// gradients. The batch is cut into fixed shards, each accumulated sequence by sequence (in parallel when cores
    /// allow), then summed in shard order, so the result does not depend on the number of cores.
    /// </summary>
    public CausalLmLoss ComputeGradients(IReadOnlyList<CausalLmSequence> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0) throw new ArgumentException("an empty batch", nameof(batch));
        int total = batch.Sum(s => s.Ids.Length - 1);
        float scale = 1f / Math.Max(1, total);
        int shards = Math.Min(Options.Shards, batch.Count);
        foreach (var g in _shardGrads) g.Clear();
        var results = new (double, double, int, int)[batch.Count];
        void Shard(int k)
        {
            var model = Parameters.Model();   // one per shard: a model's backward keeps scratch state
            int lo = batch.Count * k / shards, hi = batch.Count * (k + 1) / shards;
            for (int i = lo; i < hi; i++) results[i] = Sequence(model, batch[i], scale, _shardGrads[k]);
        }
        if (shards == 1 || Environment.ProcessorCount == 1) for (int k = 0; k < shards; k++) Shard(k);
        else Parallel.For(0, shards, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, Shard);
        for (int k = 1; k < shards; k++)
            foreach (var ((_, _, sum), (_, _, part)) in Parameters.Gradients.Pairs().Zip(_shardGrads[k].Pairs()))
                System.Numerics.Tensors.TensorPrimitives.Add(sum, part, sum);
        return Summarise(results);
    }

    /// <summary>One optimizer step on <paramref name="batch"/>: gradients, clipping, AdamW at the scheduled rate.</summary>
    public CausalLmStep TrainStep(IReadOnlyList<CausalLmSequence> batch)
    {
        var loss = ComputeGradients(batch);
        double norm = Optimizer.ClipGradients(Options.ClipNorm);
        double lr = Schedule.At(Step);
        Optimizer.Step(lr);
        Step++;
        return new CausalLmStep(Step, lr, norm, loss);
    }
}
