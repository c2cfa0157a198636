using AttnScope.Capture;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Tests.Tokenization;

/// <summary>Checks shared by the BPE tokenizer tests: offsets point into the text and, together, cover all of it.</summary>
internal static class OffsetChecks
{
    /// <summary>
    /// Every non-special token shows the substring its span covers; spans never go backwards; a span overlaps the
    /// previous one only by one character, whose bytes both hold; walking the spans rebuilds the text exactly.
    /// </summary>
    /// <param name="withoutSpecials">The text less the special tokens matched in it (they have no span); null when it has none.</param>
    public static void CoverTheText(EncodedInput e, string text, string? withoutSpecials = null)
    {
        var rebuilt = new System.Text.StringBuilder();
        int covered = 0, lastStart = 0;
        CaptureToken? previous = null;
        foreach (var t in e.Tokens.Where(t => !t.IsSpecial))
        {
            Assert.InRange(t.Start, lastStart, text.Length);
            Assert.InRange(t.End, t.Start, text.Length);
            if (t.End > t.Start) Assert.Equal(text[t.Start..t.End], t.Text);
            if (t.Start < covered && t.End > t.Start)
            {
                // Overlap only for one character split between tokens: both tokens hold that whole character.
                Assert.NotNull(previous);
                int charLength = char.IsHighSurrogate(text[t.Start]) ? 2 : 1;
                Assert.Equal(charLength, covered - t.Start);
            }
            if (t.End > covered)
            {
                if (withoutSpecials is null) Assert.Equal(covered, t.Start); // no gaps
                rebuilt.Append(text, t.Start, t.End - t.Start);
                covered = t.End;
            }
            lastStart = t.Start;
            previous = t;
        }
        Assert.Equal(withoutSpecials ?? text, rebuilt.ToString());
    }
}
