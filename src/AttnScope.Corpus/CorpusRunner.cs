using System.Diagnostics;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Corpus;

/// <summary>
/// Captures every sentence of an input file with an encoder model and stores per-head statistics (and the queries,
/// keys and attention of chosen heads) in a corpus database, a batch per transaction. Lines already in the database
/// are skipped, so a run stopped by Ctrl-C or a crash continues where it stopped. Memory is bounded by the batch:
/// captures are reduced to statistics and dropped as soon as their batch is written.
/// </summary>
internal static class CorpusRunner
{
    /// <summary>Runs the corpus; <paramref name="progress"/> hears after each committed batch; cancellation stops between batches.</summary>
    public static CorpusRunResult Run(ModelSession session, CorpusRunOptions options, Action<CorpusProgress>? progress = null,
        CancellationToken cancel = default)
    {
        if (options.BatchSize is < 1 or > CorpusRunOptions.MaxBatchSize)
            throw new AttnScopeException($"--batch must be 1..{CorpusRunOptions.MaxBatchSize}, not {options.BatchSize}");
        if (options.QkTokens is < 1 or > CorpusRunOptions.MaxQkTokens)
            throw new AttnScopeException($"--qk-tokens must be 1..{CorpusRunOptions.MaxQkTokens}, not {options.QkTokens}");
        if (options.Limit is < 1) throw new AttnScopeException("--limit must be at least 1");
        int layers = session.Config.NumLayers, heads = session.Config.NumHeads;
        foreach (var h in options.QkHeads) h.Check(layers, heads);

        // A first pass validates every line (a malformed one is reported before any work) and counts them.
        long total = 0;
        long all = 0;
        foreach (var line in CorpusInput.Read(options.InputPath, options.Input)) { all++; if (options.Shard.Holds(line.Line)) total++; }
        if (all == 0) throw new AttnScopeException($"'{options.InputPath}' holds no sentences (it is empty or every line is blank)");
        if (total == 0) throw new AttnScopeException($"shard {options.Shard} of '{options.InputPath}' holds no sentences ({all} in the file)");

        var settings = new CorpusSettings(session.Files.Id, layers, heads, options.QkHeads, options.QkTokens);
        using var db = CorpusDatabase.Open(options.DatabasePath, create: true);
        db.Prepare(settings);
        var done = db.FinishedLines();
        done.RemoveWhere(l => !options.Shard.Holds(l));
        long skipped = 0, written = 0, tokens = 0;
        var clock = Stopwatch.StartNew();
        bool qkv = options.QkHeads.Count > 0;
        var batch = new List<(CorpusLine Line, EncodedInput Input)>();
        long batchFloats = 0;
        long floatsPerToken2 = (long)layers * heads;

        void Flush()
        {
            if (batch.Count == 0) return;
            var results = session.Source.Run(batch.Select(b => b.Input).ToList(), qkv);
            var records = new List<SentenceRecord>(batch.Count);
            var extra = new Dictionary<string, string> { ["config"] = session.Config.Origin };
            for (int i = 0; i < batch.Count; i++)
            {
                OutputCheck.Verify(results[i], session.Files.Id);
                var (line, input) = batch[i];
                var cap = CaptureBuilder.Build(session.Files.Id, session.Config.ModelType, session.Source.Name, input, results[i], line.Text, line.Pair, extra);
                records.Add(Record(line, cap, options));
                tokens += input.Length;
            }
            db.Write(records, layers, heads);
            written += batch.Count;
            batch.Clear();
            batchFloats = 0;
            progress?.Invoke(new CorpusProgress(done.Count + written, total, written, tokens, clock.Elapsed));
        }

        progress?.Invoke(new CorpusProgress(done.Count, total, 0, 0, clock.Elapsed));
        foreach (var line in CorpusInput.Read(options.InputPath, options.Input))
        {
            if (!options.Shard.Holds(line.Line)) continue;
            if (done.Contains(line.Line)) { skipped++; continue; }
            if (options.Limit is { } limit && written + batch.Count >= limit) break;
            if (cancel.IsCancellationRequested) break;
            var input = session.Encode(line.Text, line.Pair);
            long floats = floatsPerToken2 * input.Length * input.Length;
            if (batch.Count > 0 && batchFloats + floats > CorpusRunOptions.MaxBatchFloats) Flush();
            batch.Add((line, input));
            batchFloats += floats;
            if (batch.Count >= options.BatchSize) { Flush(); if (cancel.IsCancellationRequested) break; }
        }
        if (!cancel.IsCancellationRequested) Flush();
        else batch.Clear();
        return new CorpusRunResult(total, skipped, written, tokens, clock.Elapsed, cancel.IsCancellationRequested);
    }

    /// <summary>What is stored for one captured sentence.</summary>
    internal static SentenceRecord Record(CorpusLine line, AttentionCapture cap, CorpusRunOptions options)
    {
        var s = cap.Stack(AttentionStack.Encoder);
        var stats = SentenceStats.Compute(cap);
        var vectors = new List<TokenVectors>();
        var weights = new List<HeadWeights>();
        if (options.QkHeads.Count > 0)
        {
            if (s.Query is null || s.Key is null) throw new AttnScopeException("the engine returned no queries and keys");
            int n = s.Queries, d = s.Query.Shape[3];
            var positions = TokenSample.Positions(line.Line, cap.Tokens.Select(t => t.IsSpecial).ToList(), options.QkTokens);
            foreach (var h in options.QkHeads)
            {
                var q = s.Query.Slice(h.Layer, h.Head);
                var k = s.Key.Slice(h.Layer, h.Head);
                foreach (int t in positions)
                    vectors.Add(new TokenVectors(h, t, q.Slice(t * d, d).ToArray(), k.Slice(t * d, d).ToArray()));
                weights.Add(new HeadWeights(h, s.Attention.Slice(h.Layer, h.Head)[..(n * n)].ToArray()));
            }
        }
        var warnings = cap.Metadata.Warnings.Count == 0 ? null : string.Join("; ", cap.Metadata.Warnings);
        return new SentenceRecord(line.Line, line.Text, line.Pair, cap.Tokens.Select(t => t.Text).ToList(), warnings, stats, vectors, weights);
    }
}
