using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Sources.Transformer;

namespace AttnScope.Analyses.Circuits;

/// <summary>
/// The plain logit lens ("full final norm" variant): the residual stream entering block 0 and after every block is
/// put through the model's own final norm — its statistics taken from that residual, its gain and bias — and the
/// unembedding, as if the model stopped there. Differs from TransformerLens's <c>accumulated_resid</c> +
/// <c>apply_ln_to_stack</c>, which by default divides every layer by the final residual's cached scale; at the
/// last layer both equal the model's own logits. Rows: <c>embed</c>, then layer 0 … L−1 (after that block).
/// </summary>
internal static class LogitLens
{
    /// <summary>Name of the variant written into results and titles.</summary>
    public const string Variant = "plain logit lens (final norm applied to each residual)";

    /// <param name="topK">Tokens kept per row and position (1 … 100).</param>
    /// <param name="token">A token whose probability and rank are tracked at every row and position, or null.</param>
    /// <exception cref="AttnScopeException">Not a decoder LM, bad ids, bad k, or more logits than one pass can hold.</exception>
    public static LogitLensResult Run(TransformerModel model, int[] ids, int topK = 5, int? token = null)
    {
        CircuitRuns.RequireDecoder(model, "the logit lens");
        CircuitRuns.RequireIds(ids);
        var s = model.Spec;
        if (topK is < 1 or > 100) throw new AttnScopeException($"top-k {topK} must be from 1 to 100");
        topK = Math.Min(topK, s.Vocab);
        if (token is { } t && (uint)t >= (uint)s.Vocab) throw new AttnScopeException($"token id {t} is out of range for vocabulary size {s.Vocab}");
        int m = ids.Length, d = s.Hidden, rows = s.Layers + 1;
        if ((long)m * s.Vocab > Array.MaxLength)
            throw new AttnScopeException($"{m} positions × {s.Vocab} vocabulary logits do not fit one array; use fewer tokens");

        var names = new List<string> { HookPoints.ResidPre(0) };
        for (int l = 0; l < s.Layers; l++) names.Add(HookPoints.ResidPost(l));
        var hooks = CircuitRuns.Recording(names);
        model.Forward(new ForwardInput { Ids = ids, Hooks = hooks, SkipAttention = true });

        var topIds = new int[rows * m * topK];
        var topProbs = new float[rows * m * topK];
        var chosenProb = token is null ? null : new float[rows * m];
        var chosenRank = token is null ? null : new int[rows * m];
        for (int r = 0; r < rows; r++)
        {
            var resid = hooks.Recorded[names[r]].Data.ToArray();
            model.ApplyFinalNorm(resid);
            var logits = model.Unembed(resid, m);
            for (int p = 0; p < m; p++)
            {
                var row = logits.AsSpan(p * s.Vocab, s.Vocab);
                var probs = Softmax(row);
                int at = (r * m + p) * topK;
                Top(probs, topIds.AsSpan(at, topK), topProbs.AsSpan(at, topK));
                if (token is { } tok)
                {
                    chosenProb![r * m + p] = (float)probs[tok];
                    chosenRank![r * m + p] = Rank(row, tok);
                }
            }
        }
        return new LogitLensResult
        {
            Ids = ids, TopK = topK, Token = token, Layers = s.Layers,
            TopIds = topIds, TopProbs = topProbs, TokenProbs = chosenProb, TokenRanks = chosenRank,
        };
    }

    /// <summary>Softmax in double (max subtracted).</summary>
    internal static double[] Softmax(ReadOnlySpan<float> logits)
    {
        double max = double.NegativeInfinity;
        foreach (var v in logits) max = Math.Max(max, v);
        var p = new double[logits.Length];
        double sum = 0;
        for (int i = 0; i < p.Length; i++) sum += p[i] = Math.Exp(logits[i] - max);
        for (int i = 0; i < p.Length; i++) p[i] /= sum;
        return p;
    }

    /// <summary>1 + the number of tokens with a strictly higher logit (1 = the top token; ties share the better rank).</summary>
    internal static int Rank(ReadOnlySpan<float> logits, int token)
    {
        float v = logits[token];
        int higher = 0;
        foreach (var x in logits) if (x > v) higher++;
        return higher + 1;
    }

    /// <summary>The k most probable tokens, most probable first (lower id first on ties).</summary>
    private static void Top(double[] probs, Span<int> ids, Span<float> values)
    {
        int k = ids.Length, filled = 0;
        for (int i = 0; i < probs.Length; i++)
        {
            double v = probs[i];
            if (filled == k && v <= values[k - 1]) continue;
            int at = Math.Min(filled, k - 1);
            while (at > 0 && values[at - 1] < v) { values[at] = values[at - 1]; ids[at] = ids[at - 1]; at--; }
            values[at] = (float)v; ids[at] = i;
            if (filled < k) filled++;
        }
    }
}

/// <summary>
/// The logit lens over a prompt: rows are <c>embed</c> (the residual entering block 0) and layers 0 … L−1 (the
/// residual after that block), each at every position. Flat arrays: top tokens [rows, m, k] most probable first,
/// and for a chosen token its probability and rank (1 = top) [rows, m].
/// </summary>
internal sealed record LogitLensResult
{
    public required int[] Ids { get; init; }
    public required int TopK { get; init; }
    public required int Layers { get; init; }
    public int? Token { get; init; }
    public required int[] TopIds { get; init; }
    public required float[] TopProbs { get; init; }
    public float[]? TokenProbs { get; init; }
    public int[]? TokenRanks { get; init; }

    public int Rows => Layers + 1;
    public int Positions => Ids.Length;

    /// <summary>Row r's label: <c>embed</c> or the layer number.</summary>
    public string RowLabel(int r) => r == 0 ? "embed" : (r - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The i-th most probable token at a row and position, with its probability.</summary>
    public (int Id, float Probability) Top(int row, int position, int i = 0)
    {
        int at = (row * Positions + position) * TopK + i;
        return (TopIds[at], TopProbs[at]);
    }

    /// <summary>
    /// Rows × positions: the chosen token's probability when one was tracked, otherwise the top token's; each cell
    /// titled with the top token's text when <paramref name="tokenText"/> is given.
    /// </summary>
    public CircuitMap ToMap(Func<int, string>? tokenText = null)
    {
        int rows = Rows, m = Positions;
        var values = new float[rows * m];
        for (int r = 0; r < rows; r++)
            for (int p = 0; p < m; p++)
                values[r * m + p] = TokenProbs is { } tp ? tp[r * m + p] : Top(r, p).Probability;
        string what = Token is { } t ? $"probability of token {(tokenText is null ? t.ToString() : $"'{TokenText.Printable(tokenText(t))}'")}" : "probability of the top token";
        var info = new JsonObject
        {
            ["variant"] = LogitLens.Variant, ["top_k"] = TopK,
            ["ids"] = new JsonArray([.. Ids.Select(i => (JsonNode)i)]),
        };
        if (Token is { } tok) info["token"] = tok;
        return new CircuitMap
        {
            Kind = "logit_lens", Metric = $"{LogitLens.Variant}: {what} (cell text: top token)",
            Values = new FloatTensor([rows, m], values),
            RowAxis = "residual after layer", ColumnAxis = "position",
            RowLabels = [.. Enumerable.Range(0, rows).Select(RowLabel)],
            ColumnLabels = [.. Enumerable.Range(0, m).Select(p => tokenText is null ? $"{p}" : $"{p} {TokenText.Printable(tokenText(Ids[p]))}")],
            ColorMax = 1,
            CellTexts = tokenText is null ? null : [.. Enumerable.Range(0, rows * m).Select(i => TokenText.Printable(tokenText(Top(i / m, i % m).Id)))],
            Info = info,
        };
    }

    /// <summary>
    /// The whole result for a capture: <c>circuits.logit_lens</c> (the map) and <c>circuits.logit_lens_top</c>
    /// [rows, m, k, 2] (token id, probability) — plus, with a tracked token, its rank as <c>circuits.logit_lens_rank</c>.
    /// </summary>
    public IReadOnlyList<CaptureAnalysis> ToAnalyses(Func<int, string>? tokenText = null)
    {
        var list = new List<CaptureAnalysis> { ToMap(tokenText).ToAnalysis() };
        var top = new float[TopIds.Length * 2];
        for (int i = 0; i < TopIds.Length; i++) { top[2 * i] = TopIds[i]; top[2 * i + 1] = TopProbs[i]; }
        list.Add(new CaptureAnalysis(CircuitMap.Prefix + "logit_lens_top", new FloatTensor([Rows, Positions, TopK, 2], top),
            new JsonObject { ["variant"] = LogitLens.Variant, ["values"] = "token id, probability" }));
        if (TokenRanks is { } ranks)
            list.Add(new CircuitMap
            {
                Kind = "logit_lens_rank", Metric = $"{LogitLens.Variant}: rank of token {Token} (1 = top)",
                Values = new FloatTensor([Rows, Positions], [.. ranks.Select(x => (float)x)]),
                RowAxis = "residual after layer", ColumnAxis = "position",
                RowLabels = [.. Enumerable.Range(0, Rows).Select(RowLabel)], ColumnLabels = CircuitMap.Numbers(Positions),
                Info = new JsonObject { ["token"] = Token },
            }.ToAnalysis());
        return list;
    }
}
