using AttnScope.Capture;

namespace AttnScope.Views.Static;

/// <summary>
/// Row labels of a translation's cross attention that say both what the decoder read and what it produced:
/// row t of a translation capture is the step that read decoder input t (BOS, then each produced piece) and produced
/// piece t+1 (the last row produced the end of sentence), labelled <c>input→produced</c>, e.g. <c>&lt;bos&gt;→Der</c>,
/// <c>Der→Hund</c>, <c>.→&lt;eos&gt;</c>. Static views and animations use the same labels.
/// </summary>
internal static class TranslationRows
{
    /// <summary>The arrow between the decoder input and the produced piece.</summary>
    public const string Arrow = "→";

    /// <summary>What the rows mean, for titles.</summary>
    public const string Caption = "rows: decoder input → produced piece";

    /// <summary>One label per target token; the capture's own target tokens when it has none or is not a translation.</summary>
    public static IReadOnlyList<CaptureToken> Labels(AttentionCapture capture)
    {
        var targets = capture.TargetTokens;
        if (targets.Count == 0) return targets;
        string end = capture.Tokens.Count > 0 && capture.Tokens[^1].IsSpecial ? capture.Tokens[^1].Text : "end";
        var labels = new List<CaptureToken>(targets.Count);
        for (int t = 0; t < targets.Count; t++)
        {
            string produced = t + 1 < targets.Count ? targets[t + 1].Text : end;
            labels.Add(targets[t] with { Text = targets[t].Text + Arrow + produced });
        }
        return labels;
    }
}
