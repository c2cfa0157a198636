using System.Text.Json.Nodes;
using AttnScope.Analyses.Results;
using AttnScope.Capture;

namespace AttnScope.Analyses.Heads;

/// <summary>
/// Statistics of every head of a stack (entropy, distance, sink share, neighbour and positional scores, induction for
/// decoders) and a role per head (<see cref="HeadRoles"/>). Rows are the query tokens; masked keys of causal stacks
/// are zero in the capture and count as invisible (a row of a causal stack sees keys 0..i).
/// </summary>
internal static class HeadStatistics
{
    public static HeadStatsResult Compute(AttentionCapture capture, string stack = AttentionStack.Encoder)
    {
        var s = capture.Stack(stack);
        var (queryTokens, keyTokens) = capture.AxisTokens(stack);
        bool self = s.Name != AttentionStack.Cross && s.Queries == s.Keys;
        bool causal = self && IsCausal(s);
        bool induction = self && s.Name == AttentionStack.Decoder;
        var names = new List<string>
        {
            HeadStatNames.Entropy, HeadStatNames.EntropyNorm, HeadStatNames.MaxWeight,
            HeadStatNames.SpecialShare, HeadStatNames.PunctuationShare, HeadStatNames.SinkShare, HeadStatNames.FirstTokenShare,
        };
        if (self)
            names.AddRange([HeadStatNames.MeanDistance, HeadStatNames.PreviousToken, HeadStatNames.NextToken, HeadStatNames.Diagonal,
                HeadStatNames.PositionalOffset, HeadStatNames.PositionalScore]);
        if (induction) names.Add(HeadStatNames.Induction);

        int q = s.Queries, k = s.Keys, stats = names.Count;
        var special = keyTokens.Select(t => t.IsSpecial).ToArray();
        var punct = keyTokens.Select(t => IsPunctuation(t.Text)).ToArray();
        var inductionTargets = induction ? InductionTargets(queryTokens) : [];
        int inductionRows = inductionTargets.Count(t => t.Length > 0);
        var sinks = SinkStatistics.Compute(capture, stack);

        var data = new float[s.Layers * s.Heads * stats];
        var roles = new List<IReadOnlyList<string>>();
        var offsetCounts = new int[2 * Math.Max(q, k) + 1];
        for (int l = 0; l < s.Layers; l++)
        {
            var layerRoles = new string[s.Heads];
            for (int h = 0; h < s.Heads; h++)
            {
                var a = s.Attention.Slice(l, h);
                double ent = 0, entNorm = 0, maxW = 0, spec = 0, pun = 0, sink = 0, dist = 0, prev = 0, next = 0, diag = 0, ind = 0;
                Array.Clear(offsetCounts);
                for (int i = 0; i < q; i++)
                {
                    var row = a.Slice(i * k, k);
                    int visible = causal ? i + 1 : k;
                    double e = 0, m = 0;
                    int argmax = 0;
                    for (int j = 0; j < visible; j++)
                    {
                        double v = row[j];
                        if (v > 0) e -= v * Math.Log(v);
                        if (v > m) { m = v; argmax = j; }
                        if (special[j]) spec += v;
                        if (punct[j]) pun += v;
                        if (special[j] || punct[j]) sink += v;
                        if (self) dist += v * Math.Abs(i - j);
                    }
                    ent += e;
                    entNorm += visible > 1 ? e / Math.Log(visible) : 0;
                    maxW += m;
                    if (!self) continue;
                    if (i >= 1) prev += row[i - 1];
                    if (i + 1 < k) next += row[i + 1];
                    diag += row[i];
                    offsetCounts[argmax - i + q]++;
                    if (induction) foreach (var t in inductionTargets[i]) ind += row[t];
                }
                var values = new List<float>
                {
                    (float)(ent / q), (float)(entNorm / q), (float)(maxW / q), (float)(spec / q), (float)(pun / q), (float)(sink / q),
                    sinks.FirstTokenShare(l, h),
                };
                if (self)
                {
                    var (offset, score) = BestOffset(offsetCounts, q);
                    values.AddRange([(float)(dist / q), q > 1 ? (float)(prev / (q - 1)) : 0f, q > 1 ? (float)(next / (q - 1)) : 0f,
                        (float)(diag / q), offset, score]);
                }
                if (induction) values.Add(inductionRows > 0 ? (float)(ind / inductionRows) : 0f);
                values.CopyTo(data, (l * s.Heads + h) * stats);
                layerRoles[h] = HeadRoles.Assign(name => { int x = names.IndexOf(name); return x < 0 ? null : values[x]; }, inductionRows);
            }
            roles.Add(layerRoles);
        }
        var result = new HeadStatsResult(stack, names, new FloatTensor([s.Layers, s.Heads, stats], data), roles);
        return result;
    }

    /// <summary>Extra info kept with the statistics: the thresholds used and, for decoders, how many queries could show induction.</summary>
    public static JsonObject Thresholds(HeadStatsResult r, AttentionCapture capture)
    {
        var o = new JsonObject
        {
            ["neighbour"] = HeadRoles.NeighbourThreshold,
            ["positional"] = HeadRoles.PositionalThreshold,
            ["sink"] = HeadRoles.SinkThreshold,
            ["broad"] = HeadRoles.BroadThreshold,
            ["induction"] = HeadRoles.InductionThreshold,
        };
        if (r.StatNames.Contains(HeadStatNames.Induction))
            o["induction_rows"] = InductionTargets(capture.AxisTokens(r.Stack).Queries).Count(t => t.Length > 0);
        return o;
    }

    /// <summary>
    /// The offset d at which the most rows put their largest weight, and the share of the rows that have a key at
    /// i + d which do so. Only offsets that exist for at least half of the rows compete, so that a head looking at the
    /// first token (offset −i, a different offset on each row) is not mistaken for a positional one.
    /// </summary>
    private static (int Offset, float Score) BestOffset(int[] counts, int n)
    {
        int best = 0, bestCount = -1;
        for (int d = -(n - 1); d <= n - 1; d++)
        {
            int valid = n - Math.Abs(d);
            if (2 * valid < n) continue;
            if (counts[d + n] > bestCount) { best = d; bestCount = counts[d + n]; }
        }
        return (best, bestCount <= 0 ? 0f : (float)bestCount / (n - Math.Abs(best)));
    }

    /// <summary>A stack is causal when every weight above the diagonal is zero (decoder self-attention).</summary>
    internal static bool IsCausal(AttentionStack s)
    {
        int n = s.Queries;
        if (n < 2) return s.Name == AttentionStack.Decoder;
        for (int l = 0; l < s.Layers; l++)
            for (int h = 0; h < s.Heads; h++)
            {
                var a = s.Attention.Slice(l, h);
                for (int i = 0; i < n; i++)
                    for (int j = i + 1; j < n; j++)
                        if (a[i * n + j] != 0f) return false;
            }
        return true;
    }

    /// <summary>
    /// For each query i: the positions p + 1 (≤ i) that follow an earlier occurrence p &lt; i of the same token —
    /// where an induction head looks. Tokens are compared by id (by text when ids are unknown).
    /// </summary>
    internal static int[][] InductionTargets(IReadOnlyList<CaptureToken> tokens)
    {
        var result = new int[tokens.Count][];
        for (int i = 0; i < tokens.Count; i++)
        {
            var list = new List<int>();
            if (!tokens[i].IsSpecial)
                for (int p = 0; p < i - 1; p++)
                    if (Same(tokens[p], tokens[i])) list.Add(p + 1);
            result[i] = [.. list];
        }
        return result;
    }

    private static bool Same(CaptureToken a, CaptureToken b) =>
        a.Id >= 0 && b.Id >= 0 ? a.Id == b.Id : a.Text == b.Text;

    /// <summary>A token made only of punctuation or symbol characters (a WordPiece "##" prefix is ignored).</summary>
    public static bool IsPunctuation(string text)
    {
        var t = text.StartsWith("##", StringComparison.Ordinal) && text.Length > 2 ? text[2..] : text;
        t = t.TrimStart('\u0120', '\u2581'); // byte-level BPE and SentencePiece space markers
        if (t.Length == 0) return false;
        foreach (var c in t) if (!char.IsPunctuation(c) && !char.IsSymbol(c)) return false;
        return true;
    }
}
