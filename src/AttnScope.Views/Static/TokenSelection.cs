using System.Globalization;
using AttnScope.Capture;

namespace AttnScope.Views.Static;

/// <summary>Which query → key sentence pairs a view shows: A→A, B→B, A→B, B→A or all.</summary>
internal enum PairFilter { All, AA, BB, AB, BA }

/// <summary>A window of token positions [Start, End) for long inputs, as in <c>--range 100:200</c>.</summary>
internal readonly record struct TokenWindow(int Start, int End)
{
    /// <summary>Parses "100:200" (end exclusive), ":200" (from 0) or "100:" (to the end).</summary>
    public static TokenWindow Parse(string text)
    {
        var parts = text.Split(':');
        if (parts.Length == 2 && TryIndex(parts[0], 0, out int a) && TryIndex(parts[1], int.MaxValue, out int b) && b > a)
            return new TokenWindow(a, b);
        throw new AttnScopeException($"token range '{text}' is not valid: expected START:END with START < END, e.g. 100:200 (END exclusive)");
    }

    private static bool TryIndex(string s, int empty, out int v)
    {
        if (s.Trim().Length == 0) { v = empty; return true; }
        return int.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out v);
    }

    public override string ToString() => End == int.MaxValue ? $"{Start}:" : $"{Start}:{End}";
}

/// <summary>
/// The token positions a view keeps on each axis after the token window, the sentence-pair filter and hiding of
/// special tokens. Rows and columns are only dropped, never rescaled: the values shown are the model's own.
/// </summary>
internal sealed record TokenSelection(int[] Rows, int[] Columns, IReadOnlyList<string> Description)
{
    public static PairFilter ParsePairs(string text) => text.Trim().Replace("→", "").Replace("->", "").ToUpperInvariant() switch
    {
        "ALL" => PairFilter.All,
        "AA" => PairFilter.AA,
        "BB" => PairFilter.BB,
        "AB" => PairFilter.AB,
        "BA" => PairFilter.BA,
        _ => throw new AttnScopeException($"pair filter '{text}' is not valid: expected all, AA, BB, AB or BA (query sentence → key sentence)"),
    };

    public static string PairText(PairFilter p) => p switch
    {
        PairFilter.AA => "A→A",
        PairFilter.BB => "B→B",
        PairFilter.AB => "A→B",
        PairFilter.BA => "B→A",
        _ => "all",
    };

    /// <summary>Applies the options to the query and key tokens of a stack; an empty result is a user error.</summary>
    private static int[] Indices(int count)
    {
        var all = new int[count];
        for (int i = 0; i < count; i++) all[i] = i;
        return all;
    }

    public static TokenSelection For(IReadOnlyList<CaptureToken> queries, IReadOnlyList<CaptureToken> keys, HeatmapOptions o)
    {
        var notes = new List<string>();
        if (o.Window is null && o.Pairs == PairFilter.All && !o.HideSpecial && queries.Count > 0 && keys.Count > 0)
            return new TokenSelection(Indices(queries.Count), Indices(keys.Count), notes); // every token, the usual case
        IEnumerable<int> rows = Enumerable.Range(0, queries.Count), cols = Enumerable.Range(0, keys.Count);
        if (o.Window is { } w)
        {
            if (w.Start >= queries.Count && w.Start >= keys.Count)
                throw new AttnScopeException($"token range {w} starts after the last token (there are {Math.Max(queries.Count, keys.Count)} tokens)");
            rows = rows.Where(i => i >= w.Start && i < w.End);
            cols = cols.Where(i => i >= w.Start && i < w.End);
            int last = Math.Min(w.End, Math.Max(queries.Count, keys.Count)) - 1;
            notes.Add($"tokens {w.Start}–{last}");
        }
        if (o.Pairs != PairFilter.All)
        {
            if (!queries.Concat(keys).Any(t => t.Segment == Segment.B))
                throw new AttnScopeException($"pair filter {PairText(o.Pairs)} needs a sentence pair, but the capture has only sentence A (capture with --text-pair)");
            var (qs, ks) = o.Pairs switch
            {
                PairFilter.AA => (Segment.A, Segment.A),
                PairFilter.BB => (Segment.B, Segment.B),
                PairFilter.AB => (Segment.A, Segment.B),
                _ => (Segment.B, Segment.A),
            };
            rows = rows.Where(i => queries[i].Segment == qs);
            cols = cols.Where(i => keys[i].Segment == ks);
            notes.Add(PairText(o.Pairs));
        }
        if (o.HideSpecial)
        {
            rows = rows.Where(i => !queries[i].IsSpecial);
            cols = cols.Where(i => !keys[i].IsSpecial);
            notes.Add("special tokens hidden, not renormalised");
        }
        var r = rows.ToArray();
        var c = cols.ToArray();
        if (r.Length == 0 || c.Length == 0)
            throw new AttnScopeException($"no {(r.Length == 0 ? "query" : "key")} tokens are left to draw after {string.Join(", ", notes)}");
        return new TokenSelection(r, c, notes);
    }

    /// <summary>True when every token of both axes is kept.</summary>
    public bool IsAll(int queries, int keys) => Rows.Length == queries && Columns.Length == keys;
}
