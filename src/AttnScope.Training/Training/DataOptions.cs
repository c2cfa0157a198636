using System.Text.Json.Serialization;
using AttnScope.Capture;
using AttnScope.Training.Data;

namespace AttnScope.Training.Training;

/// <summary>
/// How a run's corpus is read and split: the filters (saved so a resumed run reads the same pairs), the
/// validation file if one was given, and how the held-out pairs were chosen. Saved as the "data" object of a run
/// folder's config.json; runs made before it existed have none and are read as they were (no deduplication, the last
/// lines held out).
/// </summary>
internal sealed record DataOptions
{
    /// <summary>Held-out pairs drawn at random (with <see cref="HeldOutSeed"/>) from the training corpus.</summary>
    public const string Random = "random";
    /// <summary>Held-out pairs read from <see cref="Valid"/>; nothing is held out of the training corpus.</summary>
    public const string ValidFile = "valid-file";

    [JsonPropertyName("max_words")] public int MaxWords { get; init; } = 100;
    [JsonPropertyName("max_chars")] public int MaxChars { get; init; } = 1000;
    [JsonPropertyName("max_ratio")] public double MaxRatio { get; init; } = 9;
    [JsonPropertyName("dedupe")] public bool Dedupe { get; init; } = true;
    /// <summary>The validation corpus (full path) given with --valid, or null.</summary>
    [JsonPropertyName("valid")] public string? Valid { get; init; }
    /// <summary><see cref="Random"/> or <see cref="ValidFile"/>.</summary>
    [JsonPropertyName("held_out")] public string HeldOut { get; init; } = Random;
    [JsonPropertyName("held_out_seed")] public int HeldOutSeed { get; init; } = 1;
    /// <summary>Held-out pairs: 2 % of the kept pairs, at least 1 and at most this many.</summary>
    [JsonPropertyName("held_out_max")] public int HeldOutMax { get; init; } = 1000;

    /// <summary>How many pairs the held-out set had when the run was made (for the record; not read back).</summary>
    [JsonPropertyName("held_out_pairs")] public int HeldOutPairs { get; init; }

    /// <summary>The reader's filters.</summary>
    public CorpusFilterOptions Filter => new() { MaxWords = MaxWords, MaxChars = MaxChars, MaxRatio = MaxRatio, Dedupe = Dedupe };

    /// <summary>Checks every field.</summary>
    public void Validate()
    {
        Filter.Validate();
        if (HeldOut is not (Random or ValidFile)) throw new AttnScopeException($"invalid data options: held_out '{HeldOut}' is not one of {Random}, {ValidFile}");
        if (HeldOut == ValidFile && string.IsNullOrEmpty(Valid)) throw new AttnScopeException("invalid data options: held_out is valid-file but no valid file is named");
        if (HeldOutMax is < 1 or > 1_000_000) throw new AttnScopeException($"invalid data options: held_out_max {HeldOutMax} is not in 1..1000000");
    }
}
