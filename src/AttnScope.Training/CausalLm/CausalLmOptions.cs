using AttnScope.Capture;

namespace AttnScope.Training.CausalLm;

/// <summary>How <see cref="CausalLmTrainer"/> optimises: batch, AdamW, warm-up then cosine decay, clipping.</summary>
internal sealed record CausalLmOptions
{
    /// <summary>Sequences per optimizer step.</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>Total optimizer steps (the cosine decay reaches <see cref="MinLearningRate"/> there).</summary>
    public long Steps { get; init; } = 3000;
    public double LearningRate { get; init; } = 3e-3;
    public double MinLearningRate { get; init; } = 1e-4;
    public int WarmupSteps { get; init; } = 100;
    public double WeightDecay { get; init; } = 0.01;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.99;
    public double Epsilon { get; init; } = 1e-8;
    /// <summary>Global gradient-norm limit (0: no clipping).</summary>
    public double ClipNorm { get; init; } = 1.0;
    /// <summary>Seeds the initial weights and the data.</summary>
    public int Seed { get; init; }
    /// <summary>
    /// The batch is split into this many fixed shards whose gradients are summed in order; shards run in parallel
    /// when cores allow. The result depends on the shard count, never on the number of cores. 1 by default: on a
    /// loaded 2-core machine two shards (each also using the engine's threads) ran about 1.5× slower than one.
    /// </summary>
    public int Shards { get; init; } = 1;

    public void Validate()
    {
        void Check(bool ok, string what) { if (!ok) throw new AttnScopeException(what); }
        Check(BatchSize is >= 1 and <= 1_000_000, $"batch size {BatchSize} must be 1..1000000");
        Check(Steps is >= 0 and <= 100_000_000, $"steps {Steps} must be 0..100000000");
        Check(double.IsFinite(LearningRate) && LearningRate > 0, $"learning rate {LearningRate} must be positive");
        Check(double.IsFinite(MinLearningRate) && MinLearningRate >= 0 && MinLearningRate <= LearningRate, $"minimum learning rate {MinLearningRate} must be 0..{LearningRate}");
        Check(WarmupSteps >= 0, $"warm-up steps {WarmupSteps} cannot be negative");
        Check(double.IsFinite(WeightDecay) && WeightDecay >= 0, $"weight decay {WeightDecay} cannot be negative");
        Check(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1, "Adam betas must be in [0, 1)");
        Check(double.IsFinite(Epsilon) && Epsilon > 0, "Adam epsilon must be positive");
        Check(double.IsFinite(ClipNorm) && ClipNorm >= 0, $"clip norm {ClipNorm} cannot be negative");
        Check(Shards is >= 1 and <= 64, $"shards {Shards} must be 1..64");
    }
}
