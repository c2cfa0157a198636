using AttnScope.Training.Model;

namespace AttnScope.Training.Training;

/// <summary>
/// The default model and training settings: chosen so that the built-in corpus reaches held-out BLEU ≥ 80 and a
/// cross-attention layer with AER ≤ 0.25 in at most 15 minutes on 2 cores (see docs/benchmarks.md).
/// </summary>
internal static class TrainingDefaults
{
    public static TransformerConfig Model => new()
    {
        Dim = 128, Heads = 4, FeedForward = 512, EncoderLayers = 2, DecoderLayers = 2, PreNorm = true,
        LearnedPositions = false, SharedEmbeddings = true, Dropout = 0.1f, MaxLength = 128,
    };

    public static TrainingOptions Options => new();

    /// <summary>Training time when neither --steps nor --minutes is given.</summary>
    public const double Minutes = 12;
}
