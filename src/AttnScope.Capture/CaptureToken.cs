namespace AttnScope.Capture;

/// <summary>Which input a token came from: A (first text) or B (second text of a pair).</summary>
public enum Segment
{
    /// <summary>The first text (or the only one).</summary>
    A = 0,
    /// <summary>The second text of a sentence pair.</summary>
    B = 1,
}

/// <summary>
/// One token of a capture. <see cref="Start"/>/<see cref="End"/> are character offsets (UTF-16 code units, end
/// exclusive) into the input text of <see cref="Segment"/>; special tokens ([CLS], [SEP], padding) have Start = End = -1.
/// </summary>
/// <param name="Text">The token's text as the tokenizer shows it (data, never markup).</param>
/// <param name="Id">The token's id in the model's vocabulary; -1 when unknown.</param>
/// <param name="Start">The first character of the token in its input text; -1 for special tokens.</param>
/// <param name="End">The character after the token's last one (exclusive); -1 for special tokens.</param>
/// <param name="Segment">Which input text the token came from.</param>
/// <param name="IsSpecial">True for special tokens ([CLS], [SEP], padding, BOS/EOS).</param>
public sealed record CaptureToken(string Text, int Id, int Start, int End, Segment Segment, bool IsSpecial);
