using System.Globalization;

namespace AttnScope.Capture;

/// <summary>
/// What a generation capture (a decoder language model's prompt followed by the tokens it generated, one
/// <c>decoder</c> stack over all of them) says about its generation, read from the metadata:
/// <c>generation.prompt_tokens</c> (P, present only for a generation), <c>generation.strategy</c> and
/// <c>generation.stop</c>. Generation step t (from 0) is the query row P − 1 + t: the row that read token P − 1 + t
/// and produced token P + t; the last row produced nothing (generation stopped after it).
/// </summary>
internal sealed record GenerationInfo(int PromptTokens, int Tokens, string? Strategy, string? Stop)
{
    public const string PromptTokensKey = "generation.prompt_tokens";
    public const string StrategyKey = "generation.strategy";
    public const string StopKey = "generation.stop";

    /// <summary>Generation steps: one per query row from the last prompt token to the last token.</summary>
    public int Steps => Tokens - PromptTokens + 1;

    /// <summary>The query row of step <paramref name="step"/> (from 0).</summary>
    public int Row(int step) => PromptTokens - 1 + step;

    /// <summary>
    /// The generation of a capture, or null when it records no generation; metadata that names one wrongly (not a
    /// whole number, out of range, or a capture that is not one decoder stack over its tokens) is a user error.
    /// </summary>
    public static GenerationInfo? Of(AttentionCapture capture)
    {
        var extra = capture.Metadata.Extra;
        if (!extra.TryGetValue(PromptTokensKey, out var text)) return null;
        int n = capture.Tokens.Count;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p < 1 || p > n)
            throw new AttnScopeException($"metadata {PromptTokensKey} is '{TokenText.Printable(text, 40)}', expected a whole number of prompt tokens from 1 to {n}");
        if (capture.TargetTokens.Count > 0 || !capture.Stacks.TryGetValue(AttentionStack.Decoder, out var d) || d.Queries != n)
            throw new AttnScopeException($"metadata {PromptTokensKey} belongs to a decoder language model's capture (one decoder stack over its tokens), not to this one");
        return new GenerationInfo(p, n, extra.GetValueOrDefault(StrategyKey), extra.GetValueOrDefault(StopKey));
    }

    /// <summary>Why generation stopped, in words ("end of sequence", "max new tokens"), or null when not recorded.</summary>
    public string? StopReason => Stop switch
    {
        null or "" => null,
        "eos" => "end of sequence",
        "max_new" => "max new tokens",
        _ => TokenText.Printable(Stop, 40),
    };

    /// <summary>
    /// The caption of step <paramref name="step"/> (from 0), numbered from 1 like the decoding steps of a
    /// translation: "step 3: produced ' cat'", and for the last row "step 6: read '.', generation stopped (end of sequence)".
    /// </summary>
    public string Caption(IReadOnlyList<CaptureToken> tokens, int step)
    {
        int row = Row(step);
        if (row + 1 < Tokens) return $"step {step + 1}: produced '{TokenText.Printable(tokens[row + 1].Text)}'";
        var why = StopReason is { } r ? $" ({r})" : "";
        return $"step {step + 1}: read '{TokenText.Printable(tokens[row].Text)}', generation stopped{why}";
    }

    /// <summary>The token step <paramref name="step"/> produced, or null for the last step.</summary>
    public CaptureToken? Produced(IReadOnlyList<CaptureToken> tokens, int step) => Row(step) + 1 < Tokens ? tokens[Row(step) + 1] : null;
}
