using System.Text.Json.Serialization;
using AttnScope.Capture;

namespace AttnScope.Training.Fuzzy;

/// <summary>
/// Neural fuzzy repair (Bulte and Tezcan, 2019): the source is followed by a separator and the translation of the most
/// similar training source, so the model learns when to copy from that match and what to change. Saved as the
/// "fuzzy" object of a run's config.json; a run with it keeps its translation memory (memory.jsonl) beside the model.
/// </summary>
internal sealed record FuzzyOptions
{
    /// <summary>A match is used when the cosine of its character-trigram TF-IDF vector with the source's is at least
    /// this (0..1); otherwise the source goes alone.</summary>
    [JsonPropertyName("min_score")] public double MinScore { get; init; } = 0.3;

    /// <summary>The match's translation is cut to this many pieces (and to what the model's length leaves).</summary>
    [JsonPropertyName("max_match_pieces")] public int MaxMatchPieces { get; init; } = 60;

    public void Validate()
    {
        if (!(MinScore >= 0 && MinScore <= 1)) throw new AttnScopeException($"fuzzy min_score {MinScore} must be between 0 and 1");
        if (MaxMatchPieces < 1 || MaxMatchPieces > 4096) throw new AttnScopeException($"fuzzy max_match_pieces {MaxMatchPieces} must be between 1 and 4096");
    }
}
