using System.Text.Json.Serialization;
using AttnScope.Capture;

namespace AttnScope.Training.Training;

/// <summary>How a model is trained. Saved as the "training" object of a run folder's config.json.</summary>
internal sealed record TrainingOptions
{
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 1.5e-3;
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; } = 150;
    /// <summary>inverse-sqrt, cosine, linear, wsd or constant (<see cref="Optim.LearningRateSchedule"/>); cosine, linear
    /// and wsd follow the run's budget (steps and/or minutes) and reach the floor when it ends.</summary>
    [JsonPropertyName("decay")] public string Decay { get; init; } = "inverse-sqrt";
    /// <summary>wsd: the share of the budget, at its end, over which the rate falls from the peak to the floor.</summary>
    [JsonPropertyName("decay_fraction")] public double DecayFraction { get; init; } = 0.2;
    [JsonPropertyName("batch_tokens")] public int BatchTokens { get; init; } = 1500;
    [JsonPropertyName("label_smoothing")] public float LabelSmoothing { get; init; } = 0.1f;
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.01;
    [JsonPropertyName("clip_norm")] public double ClipNorm { get; init; } = 1.0;
    [JsonPropertyName("seed")] public int Seed { get; init; } = 1;
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 1000;
    /// <summary>Pairs longer than this many sub-word pieces (either side) are left out of training.</summary>
    [JsonPropertyName("max_pieces")] public int MaxPieces { get; init; } = 100;
    [JsonPropertyName("checkpoint_every")] public int CheckpointEvery { get; init; } = 50;
    [JsonPropertyName("keep_checkpoints")] public int KeepCheckpoints { get; init; } = 2;
    /// <summary>At the end of training the model's weights are the element-wise mean of the last this many
    /// checkpoints (written to checkpoints/averaged.safetensors, which translate, evaluate and capture load); 0 or 1:
    /// the last checkpoint's own weights. Checkpoints keep the raw weights and optimizer moments for resuming.</summary>
    [JsonPropertyName("average_checkpoints")] public int AverageCheckpoints { get; init; }
    /// <summary>Stop after this many optimizer steps (0: no step limit).</summary>
    [JsonPropertyName("max_steps")] public long MaxSteps { get; init; }
    /// <summary>Stop after this many minutes of training (0: no time limit).</summary>
    [JsonPropertyName("max_minutes")] public double MaxMinutes { get; init; }
    /// <summary>Training pairs of the built-in corpus.</summary>
    [JsonPropertyName("builtin_train_pairs")] public int BuiltinTrainPairs { get; init; } = 40_000;
    [JsonPropertyName("builtin_test_pairs")] public int BuiltinTestPairs { get; init; } = 1_000;

    /// <summary>Largest batch_tokens.</summary>
    public const int MaxBatchTokens = 1_000_000;
    /// <summary>Most checkpoints averaged (each is kept on disk until the end of the run).</summary>
    public const int MaxAverageCheckpoints = 100;
    /// <summary>Most pairs generated from the built-in corpus, for training and for testing each.</summary>
    public const int MaxBuiltinPairs = 2_000_000;

    /// <summary>Checks every option, with an upper bound for each size.</summary>
    public void Validate()
    {
        static void Check(bool ok, string message) { if (!ok) throw new AttnScopeException($"invalid training options: {message}"); }
        Check(LearningRate > 0, "learning_rate must be positive");
        Check(Decay is not null && Optim.LearningRateSchedule.Decays.Contains(Decay), $"decay '{Decay}' is not one of {string.Join(", ", Optim.LearningRateSchedule.Decays)}");
        Check(double.IsFinite(DecayFraction) && DecayFraction > 0 && DecayFraction <= 1, $"decay_fraction {DecayFraction} must be in (0, 1]");
        Check(AverageCheckpoints >= 0 && AverageCheckpoints <= MaxAverageCheckpoints, $"average_checkpoints {AverageCheckpoints} must be in 0..{MaxAverageCheckpoints}");
        Check(WarmupSteps >= 1, "warmup_steps must be at least 1");
        Check(BatchTokens >= 8, "batch_tokens must be at least 8");
        Check(LabelSmoothing >= 0 && LabelSmoothing < 1, "label_smoothing must be in [0, 1)");
        Check(VocabSize >= 8, "vocab_size must be at least 8");
        Check(CheckpointEvery >= 1, "checkpoint_every must be at least 1");
        Check(KeepCheckpoints >= 1, "keep_checkpoints must be at least 1");
        Check(MaxSteps >= 0 && MaxMinutes >= 0, "step and time limits cannot be negative");
        Check(BuiltinTrainPairs >= 1, $"builtin_train_pairs {BuiltinTrainPairs} must be at least 1");
        Check(BuiltinTestPairs >= 0, $"builtin_test_pairs {BuiltinTestPairs} cannot be negative");
        // Upper bounds (docs/limits.md): a config.json read from disk must not ask for an allocation without bound.
        Check(double.IsFinite(LearningRate) && double.IsFinite(WeightDecay) && double.IsFinite(ClipNorm) && double.IsFinite(MaxMinutes),
            "learning_rate, weight_decay, clip_norm and max_minutes must be finite numbers");
        Check(BatchTokens <= MaxBatchTokens, $"batch_tokens {BatchTokens} is more than the {MaxBatchTokens} AttnScope supports");
        Check(VocabSize <= Model.TransformerConfig.MaxVocabSize, $"vocab_size {VocabSize} is more than the {Model.TransformerConfig.MaxVocabSize} AttnScope supports");
        Check(MaxPieces >= 1, $"max_pieces {MaxPieces} must be at least 1");
        Check(BuiltinTrainPairs <= MaxBuiltinPairs && BuiltinTestPairs <= MaxBuiltinPairs, $"the built-in corpus has at most {MaxBuiltinPairs} training and test pairs each");
    }
}
