namespace AttnScope.Corpus;

/// <summary>What <see cref="CorpusRunner"/> runs.</summary>
internal sealed record CorpusRunOptions
{
    /// <summary>The input file.</summary>
    public required string InputPath { get; init; }
    /// <summary>How the input file holds its sentences.</summary>
    public CorpusInputOptions Input { get; init; } = new();
    /// <summary>The database file (created when absent, resumed when present).</summary>
    public required string DatabasePath { get; init; }
    /// <summary>Sentences per batch: one transaction each, so at most this many are redone after a crash.</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>Heads whose queries, keys and attention matrices are stored.</summary>
    public IReadOnlyList<HeadRef> QkHeads { get; init; } = [];
    /// <summary>Tokens per sentence whose queries and keys are stored (see <see cref="TokenSample"/>).</summary>
    public int QkTokens { get; init; } = 8;
    /// <summary>The shard of the input this run covers (default: all lines).</summary>
    public ShardSpec Shard { get; init; } = ShardSpec.All;
    /// <summary>Stop after this many new sentences (null: all).</summary>
    public long? Limit { get; init; }

    /// <summary>Largest batch accepted.</summary>
    public const int MaxBatchSize = 4096;
    /// <summary>Most query/key tokens per sentence.</summary>
    public const int MaxQkTokens = 512;
    /// <summary>Attention floats a batch may hold before it is run early (bounds memory with long sentences): 64 Mi floats, 256 MiB.</summary>
    public const long MaxBatchFloats = 64L << 20;
}

/// <summary>Where a run stands, reported after every committed batch.</summary>
internal sealed record CorpusProgress(long Done, long Total, long NewThisRun, long Tokens, TimeSpan Elapsed)
{
    /// <summary>New sentences per second in this run.</summary>
    public double Rate => Elapsed.TotalSeconds > 0 ? NewThisRun / Elapsed.TotalSeconds : 0;

    /// <summary>Estimated time to finish at the current rate (null before the first batch).</summary>
    public TimeSpan? Left => Rate > 0 ? TimeSpan.FromSeconds((Total - Done) / Rate) : null;
}

/// <summary>What a run did.</summary>
internal sealed record CorpusRunResult(long Total, long Skipped, long Written, long Tokens, TimeSpan Elapsed, bool Cancelled);
