using System.Globalization;
using System.Text;

namespace AttnScope.Sources.Tokenization;

/// <summary>
/// A (normalised) string that remembers, for each of its UTF-16 chars, the span [start, end) of the original input
/// it came from. Characters a normaliser inserts (a prepended "▁" or space) have an empty span at their insertion point.
/// A surrogate pair's two chars both carry the span of the whole character.
/// </summary>
internal sealed class AlignedText
{
    private readonly StringBuilder _text = new();
    private readonly List<int> _starts = [];
    private readonly List<int> _ends = [];

    public int Length => _text.Length;
    public string Text => _text.ToString();
    public char this[int i] => _text[i];
    public int StartOf(int i) => _starts[i];
    public int EndOf(int i) => _ends[i];

    public void Append(char c, int start, int end) { _text.Append(c); _starts.Add(start); _ends.Add(end); }

    public void Append(string s, int start, int end) { foreach (var c in s) Append(c, start, end); }

    /// <summary>text[start..end) with each char aligned to itself (both halves of a surrogate pair to the pair).</summary>
    public static AlignedText FromOriginal(string text, int start, int end)
    {
        var a = new AlignedText();
        for (int i = start; i < end; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < end && char.IsLowSurrogate(text[i + 1]))
            {
                a.Append(text[i], i, i + 2);
                a.Append(text[i + 1], i, i + 2);
                i++;
            }
            else a.Append(text[i], i, i + 1);
        }
        return a;
    }

    public AlignedText Slice(int start, int end)
    {
        var a = new AlignedText();
        for (int i = start; i < end; i++) a.Append(_text[i], _starts[i], _ends[i]);
        return a;
    }

    /// <summary>
    /// The original span covered by chars [start, end): from the first real start to the last real end, ignoring
    /// inserted chars; an empty span at the insertion point when every char was inserted.
    /// </summary>
    public (int Start, int End) SpanOf(int start, int end)
    {
        int s = int.MaxValue, e = int.MinValue;
        for (int i = start; i < end; i++)
        {
            if (_ends[i] <= _starts[i]) continue;
            s = Math.Min(s, _starts[i]);
            e = Math.Max(e, _ends[i]);
        }
        return s == int.MaxValue ? (_starts[start], _starts[start]) : (s, e);
    }

    /// <summary>Length in UTF-16 chars of the character at i (2 for a well-formed surrogate pair).</summary>
    public int CharLength(int i) =>
        char.IsHighSurrogate(_text[i]) && i + 1 < _text.Length && char.IsLowSurrogate(_text[i + 1]) ? 2 : 1;

    /// <summary>Moves an index that falls between the halves of a surrogate pair past the pair.</summary>
    public int NotInsidePair(int i) =>
        i > 0 && i < _text.Length && char.IsHighSurrogate(_text[i - 1]) && char.IsLowSurrogate(_text[i]) ? i + 1 : i;

    /// <summary>
    /// Applies a Unicode normalisation form. The text is cut into clusters (a base character and the marks that follow
    /// it); a cluster already normalised is kept char for char, otherwise every char of its normalised form carries the
    /// span of the whole cluster.
    /// </summary>
    public AlignedText Normalize(NormalizationForm form)
    {
        var all = Text;
        if (all.IsNormalized(form)) return this;
        var result = new AlignedText();
        int i = 0;
        while (i < _text.Length)
        {
            int j = i + CharLength(i);
            while (j < _text.Length && ContinuesCluster(all, j)) j += CharLength(j);
            var cluster = all[i..j];
            if (cluster.IsNormalized(form))
                for (int k = i; k < j; k++) result.Append(_text[k], _starts[k], _ends[k]);
            else
            {
                var (s, e) = SpanOf(i, j);
                string normalized;
                try { normalized = cluster.Normalize(form); }
                catch (ArgumentException) { normalized = cluster; } // lone surrogates cannot be normalised
                result.Append(normalized, s, e);
            }
            i = j;
        }
        return result;
    }

    private static bool ContinuesCluster(string s, int i)
    {
        char c = s[i];
        if (c is >= '\u1160' and <= '\u11FF' or >= '\uD7B0' and <= '\uD7FF') return true; // Hangul vowel and final jamo
        var cat = char.IsHighSurrogate(c) && i + 1 < s.Length ? CharUnicodeInfo.GetUnicodeCategory(s, i) : CharUnicodeInfo.GetUnicodeCategory(c);
        return cat is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark;
    }

    /// <summary>Lower-cases character by character; each lower-case char keeps its character's span.</summary>
    public AlignedText Lowercase()
    {
        var result = new AlignedText();
        int i = 0;
        while (i < _text.Length)
        {
            int n = CharLength(i);
            var lower = Text.Substring(i, n).ToLowerInvariant();
            result.Append(lower, _starts[i], _ends[i + n - 1]);
            i += n;
        }
        return result;
    }

    /// <summary>Replaces every occurrence of a literal pattern; the replacement carries the span of what it replaced.</summary>
    public AlignedText Replace(string pattern, string content)
    {
        if (pattern.Length == 0) return this;
        var all = Text;
        var result = new AlignedText();
        int i = 0;
        while (i < all.Length)
        {
            if (string.CompareOrdinal(all, i, pattern, 0, pattern.Length) == 0)
            {
                var (s, e) = SpanOf(i, i + pattern.Length);
                result.Append(content, s, e);
                i += pattern.Length;
            }
            else { result.Append(all[i], _starts[i], _ends[i]); i++; }
        }
        return result;
    }

    /// <summary>Puts inserted chars (empty span) in front of non-empty text.</summary>
    public AlignedText Prepend(string prefix)
    {
        if (_text.Length == 0) return this;
        var result = new AlignedText();
        result.Append(prefix, _starts[0], _starts[0]);
        for (int i = 0; i < _text.Length; i++) result.Append(_text[i], _starts[i], _ends[i]);
        return result;
    }
}
