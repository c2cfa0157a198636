using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Sources.Transformer;

namespace AttnScope.Analyses.Circuits;

/// <summary>The head types TransformerLens's <c>detect_head</c> knows by name.</summary>
internal enum DetectedHead { PreviousToken, DuplicateToken, Induction }

/// <summary>How an attention pattern is compared with a detection pattern (TransformerLens's <c>error_measure</c>).</summary>
internal enum DetectionMeasure
{
    /// <summary>Σ A⊙P / Σ A: the share of the head's attention that falls where the detection pattern is 1 (TransformerLens's default).</summary>
    Mul,
    /// <summary>1 − Σ|A − P| / n: 1 for a perfect match, down to −1.</summary>
    Abs,
}

/// <summary>
/// Head detector scores as TransformerLens's <c>detect_head</c> defines them (see docs/analyses.md, "Head
/// detector"). Detection patterns over the tokens t of the prompt, n × n, lower triangular:
/// previous-token P[i, i−1] = 1; duplicate-token P[i, j] = 1 for j &lt; i with t_j = t_i; induction
/// P[i, j] = 1 for 1 ≤ j ≤ i with t_{j−1} = t_i and j − 1 ≠ i (the duplicate pattern shifted one key to the right,
/// key 0 never set). Options: exclude the BOS column (key 0) and/or the current token (the diagonal) from the
/// head's attention before comparing. Unlike TransformerLens, the "abs" score is not rounded to three decimals.
/// </summary>
internal static class HeadDetector
{
    public static string Name(DetectedHead kind) => kind switch
    {
        DetectedHead.PreviousToken => "previous_token_head",
        DetectedHead.DuplicateToken => "duplicate_token_head",
        DetectedHead.Induction => "induction_head",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The detection pattern [n, n] (row = query, column = key) of a head type over these tokens.</summary>
    public static float[] Pattern(DetectedHead kind, ReadOnlySpan<int> tokens)
    {
        int n = tokens.Length;
        var p = new float[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                bool on = kind switch
                {
                    DetectedHead.PreviousToken => j == i - 1,
                    DetectedHead.DuplicateToken => j < i && tokens[j] == tokens[i],
                    DetectedHead.Induction => j >= 1 && j - 1 < i && tokens[j - 1] == tokens[i],
                    _ => throw new ArgumentOutOfRangeException(nameof(kind)),
                };
                if (on) p[i * n + j] = 1;
            }
        return p;
    }

    /// <summary>
    /// The similarity of one head's attention [n, n] to a detection pattern [n, n]. "mul": with the excluded
    /// entries of A set to 0, Σ A⊙P / Σ A (0 when nothing is left). "abs": with the excluded entries of |A − P| set
    /// to 0, 1 − Σ|A − P| / n.
    /// </summary>
    public static float Score(ReadOnlySpan<float> attention, ReadOnlySpan<float> pattern, int n,
        DetectionMeasure measure = DetectionMeasure.Mul, bool excludeBos = false, bool excludeCurrent = false)
    {
        if (attention.Length != n * n || pattern.Length != n * n)
            throw new AttnScopeException($"head detection needs {n} × {n} attention and detection patterns (got {attention.Length} and {pattern.Length} values)");
        bool Excluded(int i, int j) => (excludeBos && j == 0) || (excludeCurrent && i == j);
        double num = 0, den = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                if (Excluded(i, j)) continue;
                double a = attention[i * n + j], pv = pattern[i * n + j];
                if (measure == DetectionMeasure.Mul) { num += a * pv; den += a; }
                else num += Math.Abs(a - pv);
            }
        if (measure == DetectionMeasure.Abs) return (float)(1 - num / n);
        return den > 0 ? (float)(num / den) : 0f;
    }

    /// <summary>Scores of every head [layers, heads] on one prompt (one forward pass), or averaged over several prompts.</summary>
    /// <exception cref="AttnScopeException">Not a causal model, fewer than 2 tokens, or prompts of different lengths.</exception>
    public static DetectorResult Detect(TransformerModel model, IReadOnlyList<int[]> prompts, DetectedHead kind,
        DetectionMeasure measure = DetectionMeasure.Mul, bool excludeBos = false, bool excludeCurrent = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (prompts is null || prompts.Count == 0) throw new AttnScopeException("head detection needs at least one prompt");
        if (!model.Spec.Causal) throw new AttnScopeException($"head detection needs a causal model; {model.Origin} ({model.Spec.Family}) is not one");
        var s = model.Spec;
        int L = s.Layers, H = s.Heads;
        var sum = new double[L * H];
        foreach (var ids in prompts)
        {
            CircuitRuns.RequireIds(ids);
            int n = ids.Length;
            if (n < 2) throw new AttnScopeException("head detection needs a prompt of at least 2 tokens");
            var pattern = Pattern(kind, ids);
            var att = model.Forward(new ForwardInput { Ids = ids }).Attention!;
            for (int l = 0; l < L; l++)
                for (int h = 0; h < H; h++)
                    sum[l * H + h] += Score(att.Slice(l, h), pattern, n, measure, excludeBos, excludeCurrent);
        }
        return new DetectorResult
        {
            Kind = kind, Measure = measure, ExcludeBos = excludeBos, ExcludeCurrent = excludeCurrent, Prompts = prompts.Count,
            Scores = new FloatTensor([L, H], [.. sum.Select(x => (float)(x / prompts.Count))]),
        };
    }

    /// <summary>
    /// The standard repeated-random-token test: <paramref name="batch"/> prompts, each [BOS] + r + r with r a
    /// sequence of <paramref name="length"/> distinct random token ids (never the BOS or EOS id), drawn from a
    /// fixed-seed generator so every run and machine gets the same prompts. BOS is prepended when the family names
    /// one (GPT-2's &lt;|endoftext|&gt;, Llama's &lt;s&gt;), as TransformerLens's <c>to_tokens</c> does.
    /// </summary>
    public static IReadOnlyList<int[]> RepeatedTokens(TransformerSpec spec, int length, int batch = 1, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int bos = spec.BosId is { } b ? 1 : 0;
        var reserved = new HashSet<int>();
        if (spec.BosId is { } bi) reserved.Add(bi);
        if (spec.EosId is { } ei) reserved.Add(ei);
        int usable = spec.Vocab - reserved.Count(x => x < spec.Vocab);
        if (length < 1 || length > usable) throw new AttnScopeException($"a repeated sequence of {length} distinct tokens needs 1 … {usable} (the vocabulary's ordinary tokens)");
        if (bos + 2L * length > spec.MaxPositions) throw new AttnScopeException($"{bos + 2 * length} tokens exceed the model's {spec.MaxPositions} positions");
        if (batch is < 1 or > 1024) throw new AttnScopeException($"batch {batch} must be from 1 to 1024");
        var rng = new Random(seed);
        var prompts = new List<int[]>(batch);
        for (int k = 0; k < batch; k++)
        {
            var ids = new int[bos + 2 * length];
            if (bos == 1) ids[0] = spec.BosId!.Value;
            var used = new HashSet<int>();
            for (int i = 0; i < length; i++)
            {
                int t;
                do t = rng.Next(spec.Vocab); while (reserved.Contains(t) || !used.Add(t));
                ids[bos + i] = ids[bos + length + i] = t;
            }
            prompts.Add(ids);
        }
        return prompts;
    }
}

/// <summary>Head detector scores [layers, heads] for one head type, averaged over <see cref="Prompts"/> prompts.</summary>
internal sealed record DetectorResult
{
    public required DetectedHead Kind { get; init; }
    public required DetectionMeasure Measure { get; init; }
    public required bool ExcludeBos { get; init; }
    public required bool ExcludeCurrent { get; init; }
    public required int Prompts { get; init; }
    public required FloatTensor Scores { get; init; }

    public float Score(int layer, int head) => Scores.Data[layer * Scores.Shape[1] + head];

    public CircuitMap ToMap()
    {
        string name = HeadDetector.Name(Kind);
        var opts = new List<string> { $"measure {Measure.ToString().ToLowerInvariant()}" };
        if (ExcludeBos) opts.Add("BOS excluded");
        if (ExcludeCurrent) opts.Add("current token excluded");
        return new CircuitMap
        {
            Kind = name, Metric = $"{name} score (TransformerLens detect_head, {string.Join(", ", opts)}; mean of {Prompts} prompt{(Prompts == 1 ? "" : "s")})",
            Values = Scores, RowAxis = "layer", ColumnAxis = "head",
            RowLabels = CircuitMap.Numbers(Scores.Shape[0]), ColumnLabels = CircuitMap.Numbers(Scores.Shape[1]),
            Signed = Measure == DetectionMeasure.Abs, ColorMax = 1,
            Info = new JsonObject
            {
                ["head"] = name, ["measure"] = Measure.ToString().ToLowerInvariant(), ["exclude_bos"] = ExcludeBos,
                ["exclude_current_token"] = ExcludeCurrent, ["prompts"] = Prompts,
            },
        };
    }
}
