using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttnScope.Analyses.Results;
using AttnScope.Capture;

namespace AttnScope.Views.Analyses;

/// <summary>A token as saliency views show it: printable text without its subword marker, and whether it continues the previous word.</summary>
internal sealed record SaliencyPiece(int Index, string Text, bool JoinsPrevious, bool Special, float Value);

/// <summary>One group of tokens with their saliency: the source (input) tokens, or the target prefix of a translation.</summary>
internal sealed record SaliencySection(string Name, IReadOnlyList<SaliencyPiece> Pieces);

/// <summary>What saliency views say in words: the sections, the explained output, and how tokens join into words.</summary>
internal static class SaliencyText
{
    /// <summary>
    /// Tokens as text: a WordPiece continuation ("##s") loses its marker and joins the previous token, and so does a
    /// token that starts where the previous one ended in the input text (punctuation, pieces without a marker); a
    /// leading "▁" (SentencePiece word start) is dropped. Special tokens never join.
    /// </summary>
    public static List<SaliencyPiece> Pieces(IReadOnlyList<CaptureToken> tokens, ReadOnlySpan<float> values)
    {
        if (values.Length != tokens.Count)
            throw new AttnScopeException($"the saliency has {values.Length} values but the capture has {tokens.Count} tokens");
        var list = new List<SaliencyPiece>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            var text = TokenText.Printable(t.Text);
            bool joins = false;
            if (!t.IsSpecial && i > 0 && !tokens[i - 1].IsSpecial)
            {
                var prev = tokens[i - 1];
                if (text.StartsWith("##", StringComparison.Ordinal) && text.Length > 2) { text = text[2..]; joins = true; }
                else if (t.Start >= 0 && prev.End >= 0 && t.Start == prev.End && t.Segment == prev.Segment) joins = true;
            }
            else if (!t.IsSpecial && text.StartsWith("##", StringComparison.Ordinal) && text.Length > 2) text = text[2..];
            if (!t.IsSpecial && text.StartsWith('▁') && text.Length > 1) { text = text[1..]; joins = false; }
            list.Add(new SaliencyPiece(i, text, joins, t.IsSpecial, values[i]));
        }
        return list;
    }

    /// <summary>The source section, and the target-prefix section when the result has target saliency.</summary>
    public static List<SaliencySection> Sections(AttentionCapture capture, SaliencyResult r)
    {
        var sections = new List<SaliencySection>();
        bool target = r.Target is not null;
        sections.Add(new SaliencySection(target ? "source" : "tokens", Pieces(capture.Tokens, r.Source.Data)));
        if (r.Target is { } t) sections.Add(new SaliencySection("target prefix", Pieces(capture.TargetTokens, t.Data)));
        return sections;
    }

    /// <summary>
    /// The range the colour scale spans: the values of the non-special tokens (special tokens such as [CLS] often
    /// collect relevance that would wash out the rest; they are drawn dimmed), from 0 or below.
    /// </summary>
    public static (float Min, float Max) ColourRange(IReadOnlyList<SaliencyPiece> pieces)
    {
        var scaled = pieces.Any(p => !p.Special) ? pieces.Where(p => !p.Special).ToList() : pieces;
        return (MathF.Min(0, scaled.Min(p => p.Value)), scaled.Max(p => p.Value));
    }

    /// <summary>
    /// The explained output in words: the cosine similarity with a compare text, or a target token's log-probability.
    /// </summary>
    public static string Target(JsonObject info)
    {
        string kind = Str(info, "target", 60) ?? "";
        if (kind == "cosine")
        {
            var text = Str(info, "compare_text", 120);
            var sim = Num(info, "similarity");
            var s = "explains the cosine similarity of the pooled embeddings" + (text is null ? "" : $" with “{text}”");
            return sim is null ? s : s + $" = {Format(sim.Value)}";
        }
        if (kind == "log_prob")
        {
            var token = Str(info, "target_token", 40);
            var index = Num(info, "target_index");
            var lp = Num(info, "log_prob");
            var s = "explains log P(" + (token is null ? "target token" : $"“{token}”") + (index is null ? "" : $" at target position {index:0}") + ")";
            return lp is null ? s : s + $" = {Format(lp.Value)}";
        }
        return kind.Length == 0 ? "explained output not recorded" : $"explains: {kind}";
    }

    public static string Title(AttentionCapture capture)
    {
        var model = capture.Metadata.ModelId;
        return (string.IsNullOrWhiteSpace(model) ? "" : model + " · ") + "token saliency (gradient-weighted relevance, Chefer et al. 2021)";
    }

    private static string Format(double v) => v.ToString("0.####", CultureInfo.InvariantCulture).Replace('-', '−');

    /// <summary>A string of the info, printable and cut to <paramref name="max"/> characters (it is a line of a figure's header).</summary>
    private static string? Str(JsonObject info, string key, int max) =>
        info[key] is JsonValue v && v.TryGetValue(out string? s) ? TokenText.Printable(s, max) : null;

    /// <summary>A number from the info, whether it was read from a file (a JSON element) or set in memory (int, float, double).</summary>
    private static double? Num(JsonObject info, string key)
    {
        if (info[key] is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return null;
        if (v.TryGetValue(out double d)) return d;
        if (v.TryGetValue(out float f)) return f;
        if (v.TryGetValue(out long l)) return l;
        if (v.TryGetValue(out int i)) return i;
        return double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d) ? d : null;
    }
}
