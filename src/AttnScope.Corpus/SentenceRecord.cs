namespace AttnScope.Corpus;

/// <summary>The query and key of one sampled token at one head.</summary>
internal sealed record TokenVectors(HeadRef Head, int Token, float[] Query, float[] Key);

/// <summary>The attention matrix [n, n] of one head for one sentence, kept for the heads whose queries and keys are stored.</summary>
internal sealed record HeadWeights(HeadRef Head, float[] Weights);

/// <summary>Everything stored for one finished sentence.</summary>
internal sealed record SentenceRecord(long Line, string Text, string? Pair, IReadOnlyList<string> Tokens, string? Warnings,
    float[] Stats, IReadOnlyList<TokenVectors> Vectors, IReadOnlyList<HeadWeights> HeadWeights);
