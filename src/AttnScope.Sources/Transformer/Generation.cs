using AttnScope.Capture;

namespace AttnScope.Sources.Transformer;

/// <summary>How the next token is chosen: greedy (temperature 0) or sampled from the softmax at a temperature,
/// optionally from the top k only, with a seed so a run can be repeated.</summary>
internal sealed record SamplingOptions
{
    public float Temperature { get; init; }
    public int TopK { get; init; }
    public int Seed { get; init; }
    /// <summary>Stop at the end-of-sequence token (it is kept as the last token).</summary>
    public bool StopAtEos { get; init; } = true;

    public string Describe() => Temperature <= 0 ? "greedy" : $"sampled (temperature {Temperature:G3}{(TopK > 0 ? $", top-{TopK}" : "")}, seed {Seed})";
}

/// <summary>
/// What a generation recorded: every id (prompt then new), the attention of the whole sequence
/// [layers, heads, N, N] assembled from the cached steps (row t computed when token t was fed), optionally Q/K/V and
/// scores, and the logits that chose each new token.
/// </summary>
internal sealed class GenerationResult
{
    public required int[] Ids { get; init; }
    public required int PromptLength { get; init; }
    public required FloatTensor Attention { get; init; }
    public FloatTensor? Query { get; init; }
    public FloatTensor? Key { get; init; }
    public FloatTensor? Value { get; init; }
    public FloatTensor? Scores { get; init; }
    /// <summary>[1, hidden]: the last hidden state of the last token fed.</summary>
    public required FloatTensor LastHidden { get; init; }
    /// <summary>[new tokens, vocab]: the logits each new token was chosen from.</summary>
    public required FloatTensor StepLogits { get; init; }
    /// <summary><c>eos</c>, <c>max_new</c> or <c>max_positions</c>.</summary>
    public required string StopReason { get; init; }
    public int NewTokens => Ids.Length - PromptLength;
}

/// <summary>
/// Generation with the key/value cache: the prompt runs once, then each new token alone; the last new token is
/// also fed, so the capture holds every row. Equals recomputing the full sequence at every step (tested).
/// </summary>
internal static class Generator
{
    public static GenerationResult Generate(TransformerModel model, int[] prompt, int maxNew, SamplingOptions? sampling = null,
        bool captureQkv = false, Action<int, int>? onToken = null, int? eosOverride = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        sampling ??= new SamplingOptions();
        var s = model.Spec;
        if (!s.LmHead) throw new AttnScopeException($"{s.Family} has no language-model head: it cannot generate");
        if (prompt.Length == 0) throw new AttnScopeException("the prompt has no tokens");
        if (maxNew < 0) throw new AttnScopeException($"--max-new {maxNew} must be at least 0");
        if (!(sampling.Temperature >= 0) || float.IsInfinity(sampling.Temperature)) throw new AttnScopeException($"temperature {sampling.Temperature} must be a number ≥ 0");
        if (sampling.TopK < 0) throw new AttnScopeException($"top-k {sampling.TopK} must be ≥ 0");
        if (prompt.Length > s.MaxPositions) throw new AttnScopeException($"the prompt has {prompt.Length} tokens; the model takes at most {s.MaxPositions}");
        int capacity = Math.Min(s.MaxPositions, prompt.Length + maxNew);
        int L = s.Layers, H = s.Heads, dh = s.HeadDim;
        var cache = model.NewCache(capacity);
        var random = new Random(sampling.Seed);
        var ids = new List<int>(prompt);
        var rows = new List<(int Start, ForwardResult R)>();
        var stepLogits = new List<float[]>();

        var first = model.Forward(new ForwardInput { Ids = prompt, Cache = cache, CaptureQkv = captureQkv, Logits = LogitRows.Last });
        rows.Add((0, first));
        var logits = first.Logits!.Data;
        string reason = "max_new";
        for (int step = 0; step < maxNew; step++)
        {
            if (ids.Count >= capacity) { reason = "max_positions"; break; }
            int next = Choose(logits, sampling, random);
            stepLogits.Add(logits.ToArray());
            ids.Add(next);
            onToken?.Invoke(step, next);
            bool eos = sampling.StopAtEos && (eosOverride ?? s.EosId) == next;
            var r = model.Forward(new ForwardInput { Ids = [next], Cache = cache, CaptureQkv = captureQkv, Logits = eos || step == maxNew - 1 ? LogitRows.None : LogitRows.Last });
            rows.Add((ids.Count - 1, r));
            if (eos) { reason = "eos"; break; }
            logits = r.Logits?.Data ?? logits;
        }
        if (maxNew > 0 && ids.Count - prompt.Length == 0) reason = "max_positions";

        int n = ids.Count;
        var attention = new FloatTensor([L, H, n, n]);
        FloatTensor? q = null, scores = null;
        if (captureQkv) { q = new FloatTensor([L, H, n, dh]); scores = new FloatTensor([L, H, n, n]); }
        foreach (var (start, r) in rows)
        {
            int m = r.Attention!.Shape[2], t = r.Attention.Shape[3];
            for (int l = 0; l < L; l++)
                for (int h = 0; h < H; h++)
                    for (int i = 0; i < m; i++)
                    {
                        long src = (((long)l * H + h) * m + i) * t, dst = (((long)l * H + h) * n + start + i) * n;
                        r.Attention.Data.AsSpan((int)src, t).CopyTo(attention.Data.AsSpan((int)dst, t));
                        if (captureQkv)
                        {
                            r.Scores!.Data.AsSpan((int)src, t).CopyTo(scores!.Data.AsSpan((int)dst, t));
                            r.Query!.Data.AsSpan((int)((((long)l * H + h) * m + i) * dh), dh).CopyTo(q!.Data.AsSpan((int)((((long)l * H + h) * n + start + i) * dh), dh));
                        }
                    }
        }
        var last = rows[^1].R;
        var vocab = s.Vocab;
        var logitsTensor = new FloatTensor([stepLogits.Count, vocab]);
        for (int i = 0; i < stepLogits.Count; i++) stepLogits[i].CopyTo(logitsTensor.Data, (long)i * vocab);
        return new GenerationResult
        {
            Ids = ids.ToArray(), PromptLength = prompt.Length, Attention = attention, Query = q,
            Key = captureQkv ? last.Key : null, Value = captureQkv ? last.Value : null, Scores = scores,
            StepLogits = logitsTensor, StopReason = reason,
            LastHidden = new FloatTensor([1, s.Hidden], last.Hidden.Data.AsSpan((last.Hidden.Shape[0] - 1) * s.Hidden, s.Hidden).ToArray()),
        };
    }

    /// <summary>Greedy argmax (first maximum), or a draw from softmax(logits/T) over the top k.</summary>
    public static int Choose(ReadOnlySpan<float> logits, SamplingOptions o, Random random)
    {
        if (o.Temperature <= 0)
        {
            int best = 0;
            for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
            return best;
        }
        int[] order = Enumerable.Range(0, logits.Length).ToArray();
        var copy = logits.ToArray();
        Array.Sort(copy.Select(v => -v).ToArray(), order);
        int k = o.TopK > 0 ? Math.Min(o.TopK, order.Length) : order.Length;
        double max = logits[order[0]], total = 0;
        var p = new double[k];
        for (int i = 0; i < k; i++) total += p[i] = Math.Exp((logits[order[i]] - max) / o.Temperature);
        double u = random.NextDouble() * total;
        for (int i = 0; i < k; i++) { u -= p[i]; if (u <= 0) return order[i]; }
        return order[k - 1];
    }
}
