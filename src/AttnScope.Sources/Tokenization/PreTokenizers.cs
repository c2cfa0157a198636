using System.Text.RegularExpressions;
using AttnScope.Capture;

namespace AttnScope.Sources.Tokenization;

/// <summary>How a split keeps the matches of its pattern (Hugging Face's SplitDelimiterBehavior).</summary>
internal enum SplitBehavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous }

/// <summary>Where SentencePiece's "▁" goes in front of a piece of text.</summary>
internal enum PrependScheme { Always, First, Never }

/// <summary>One pre-tokenization step: cuts pieces of normalised text into smaller pieces (BPE never merges across pieces).</summary>
internal abstract record PreTokenizerStep
{
    /// <param name="pieces">The pieces so far.</param>
    /// <param name="firstSegment">Whether this text is the start of the input (not text after an added token).</param>
    public abstract List<AlignedText> Apply(List<AlignedText> pieces, bool firstSegment);

    /// <summary>GPT-2's split: contractions, letters, digits, other symbols, each optionally after one space; runs of spaces.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Regexes from files run with this limit per piece, so a pathological pattern cannot hang a capture.</summary>
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Cuts each piece at the matches of a predicate-defined set of ranges, keeping matches as the behaviour says.</summary>
    protected static List<AlignedText> SplitPieces(List<AlignedText> pieces, Func<AlignedText, List<(int Start, int End)>> matches,
        SplitBehavior behavior, bool invert)
    {
        var result = new List<AlignedText>();
        foreach (var piece in pieces)
        {
            // Segments covering the piece, each flagged as a match or not; no boundary inside a surrogate pair.
            var segments = new List<(int Start, int End, bool Match)>();
            int at = 0;
            foreach (var (ms, me) in matches(piece))
            {
                int s = piece.NotInsidePair(Math.Max(ms, at)), e = piece.NotInsidePair(me);
                if (e <= s) continue;
                if (s > at) segments.Add((at, s, false));
                segments.Add((s, e, true));
                at = e;
            }
            if (at < piece.Length) segments.Add((at, piece.Length, false));
            if (invert) segments = segments.Select(x => (x.Start, x.End, !x.Match)).ToList();

            var cut = new List<(int Start, int End)>();
            for (int i = 0; i < segments.Count; i++)
            {
                var (s, e, m) = segments[i];
                if (!m) { cut.Add((s, e)); continue; }
                switch (behavior)
                {
                    case SplitBehavior.Removed: break;
                    case SplitBehavior.Isolated: cut.Add((s, e)); break;
                    case SplitBehavior.MergedWithPrevious:
                        if (cut.Count > 0 && cut[^1].End == s) cut[^1] = (cut[^1].Start, e); else cut.Add((s, e));
                        break;
                    case SplitBehavior.MergedWithNext:
                        if (i + 1 < segments.Count && !segments[i + 1].Match)
                        {
                            cut.Add((s, segments[i + 1].End));
                            i++;
                        }
                        else cut.Add((s, e));
                        break;
                    case SplitBehavior.Contiguous:
                        if (i > 0 && segments[i - 1].Match && cut.Count > 0 && cut[^1].End == s) cut[^1] = (cut[^1].Start, e);
                        else cut.Add((s, e));
                        break;
                }
            }
            foreach (var (s, e) in cut) if (e > s) result.Add(piece.Slice(s, e));
        }
        return result;
    }

    protected static List<(int, int)> RegexMatches(Regex regex, AlignedText piece)
    {
        try
        {
            return regex.Matches(piece.Text).Where(m => m.Length > 0).Select(m => (m.Index, m.Index + m.Length)).ToList();
        }
        catch (RegexMatchTimeoutException)
        {
            throw new AttnScopeException($"the tokenizer's split pattern took longer than {RegexTimeout.TotalSeconds:0} s on one piece of text; the pattern is too costly");
        }
    }
}

/// <summary>Hugging Face's Split: a regex or literal pattern, a behaviour, optionally inverted.</summary>
internal sealed record SplitStep(Regex Pattern, SplitBehavior Behavior, bool Invert) : PreTokenizerStep
{
    public override List<AlignedText> Apply(List<AlignedText> pieces, bool firstSegment) =>
        SplitPieces(pieces, p => RegexMatches(Pattern, p), Behavior, Invert);
}

/// <summary>Hugging Face's Digits: every digit alone, or runs of digits together.</summary>
internal sealed record DigitsStep(bool IndividualDigits) : PreTokenizerStep
{
    public override List<AlignedText> Apply(List<AlignedText> pieces, bool firstSegment) =>
        SplitPieces(pieces, p =>
        {
            var list = new List<(int, int)>();
            for (int i = 0; i < p.Length; i++) if (char.IsNumber(p[i])) list.Add((i, i + 1));
            return list;
        }, IndividualDigits ? SplitBehavior.Isolated : SplitBehavior.Contiguous, false);
}

/// <summary>
/// GPT-2's ByteLevel pre-tokenizer: optionally a space in front of each piece that lacks one (an inserted char with an
/// empty span), then the GPT-2 split. The byte mapping itself happens in the BPE step.
/// </summary>
internal sealed record ByteLevelStep(bool AddPrefixSpace, bool UseRegex) : PreTokenizerStep
{
    private static readonly Regex Gpt2 = new(Gpt2Pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled);

    public override List<AlignedText> Apply(List<AlignedText> pieces, bool firstSegment)
    {
        if (AddPrefixSpace) pieces = pieces.Select(p => p.Length > 0 && p[0] != ' ' ? p.Prepend(" ") : p).ToList();
        return UseRegex ? SplitPieces(pieces, p => RegexMatches(Gpt2, p), SplitBehavior.Isolated, false) : pieces;
    }
}

/// <summary>
/// SentencePiece's whitespace handling as a pre-tokenizer: spaces become the replacement char ("▁"), a "▁" goes in
/// front as the scheme says (First: only at the start of the input), and with Split each "▁" starts a new piece.
/// </summary>
internal sealed record MetaspaceStep(char Replacement, PrependScheme Scheme, bool Split) : PreTokenizerStep
{
    public override List<AlignedText> Apply(List<AlignedText> pieces, bool firstSegment)
    {
        var result = new List<AlignedText>();
        for (int i = 0; i < pieces.Count; i++)
        {
            var p = pieces[i].Replace(" ", Replacement.ToString());
            bool prepend = Scheme == PrependScheme.Always || (Scheme == PrependScheme.First && firstSegment && i == 0);
            if (prepend && p.Length > 0 && p[0] != Replacement) p = p.Prepend(Replacement.ToString());
            result.Add(p);
        }
        if (!Split) return result;
        return SplitPieces(result, p =>
        {
            var list = new List<(int, int)>();
            for (int i = 0; i < p.Length; i++) if (p[i] == Replacement) list.Add((i, i + 1));
            return list;
        }, SplitBehavior.MergedWithNext, false);
    }
}
