namespace AttnScope.Capture;

/// <summary>Which input a token came from: A (first text) or B (second text of a pair).</summary>
public enum Segment { A = 0, B = 1 }

/// <summary>
/// One token of a capture. <see cref="Start"/>/<see cref="End"/> are character offsets (UTF-16 code units, end
/// exclusive) into the input text of <see cref="Segment"/>; special tokens ([CLS], [SEP], padding) have Start = End = -1.
/// </summary>
public sealed record CaptureToken(string Text, int Id, int Start, int End, Segment Segment, bool IsSpecial);
