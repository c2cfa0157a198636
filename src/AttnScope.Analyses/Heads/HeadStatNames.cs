namespace AttnScope.Analyses.Heads;

/// <summary>Names of the per-head statistics (docs/analyses.md defines each). Every value is a mean over query rows.</summary>
internal static class HeadStatNames
{
    /// <summary>Shannon entropy of a row in nats.</summary>
    public const string Entropy = "entropy";
    /// <summary>Entropy divided by ln(visible keys): 0 = one key, 1 = uniform.</summary>
    public const string EntropyNorm = "entropy_norm";
    /// <summary>Σ_j a_ij |i − j|, in tokens (self-attention stacks only).</summary>
    public const string MeanDistance = "mean_distance";
    /// <summary>The largest weight of a row.</summary>
    public const string MaxWeight = "max_weight";
    /// <summary>Weight on special tokens ([CLS], [SEP], &lt;bos&gt; …).</summary>
    public const string SpecialShare = "special_share";
    /// <summary>Weight on punctuation tokens.</summary>
    public const string PunctuationShare = "punctuation_share";
    /// <summary>Weight on special or punctuation tokens: the attention-sink share.</summary>
    public const string SinkShare = "sink_share";
    /// <summary>Weight on the first token (key 0): the first-token sink; rows that see more than one key (causal: i ≥ 1).</summary>
    public const string FirstTokenShare = "first_token_share";
    /// <summary>a_(i, i−1), rows i ≥ 1.</summary>
    public const string PreviousToken = "previous_token";
    /// <summary>a_(i, i+1), rows i ≤ n − 2 (zero in causal stacks).</summary>
    public const string NextToken = "next_token";
    /// <summary>a_(i, i).</summary>
    public const string Diagonal = "diagonal";
    /// <summary>The relative offset d at which rows most often put their largest weight (key i + d).</summary>
    public const string PositionalOffset = "positional_offset";
    /// <summary>The share of rows whose largest weight is at offset <see cref="PositionalOffset"/>.</summary>
    public const string PositionalScore = "positional_score";
    /// <summary>Decoders: weight a query on a repeated token puts on the token after the earlier occurrence(s).</summary>
    public const string Induction = "induction";
}
