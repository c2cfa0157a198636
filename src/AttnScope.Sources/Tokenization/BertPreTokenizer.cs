using System.Globalization;
using System.Text;

namespace AttnScope.Sources.Tokenization;

/// <summary>
/// BERT's "basic" tokenization (the normalisation and splitting that happens before WordPiece), written to keep
/// the character offsets of every piece in the original text:
/// drop NUL, U+FFFD and control characters; treat tab, newline and every Unicode space as a separator; put CJK
/// ideographs in words of their own; optionally lower-case and strip accents (NFD, then drop non-spacing marks);
/// split punctuation (ASCII symbol ranges and Unicode P* categories) into single-character words.
/// </summary>
internal static class BertPreTokenizer
{
    /// <summary>A normalised word with, for each of its UTF-16 chars, the [start, end) span it came from in the input.</summary>
    public sealed record Word(string Text, int[] Starts, int[] Ends)
    {
        public int OriginalStart => Starts[0];
        public int OriginalEnd => Ends[^1];
    }

    public static List<Word> Split(string text, bool lowerCase)
    {
        var words = new List<Word>();
        var sb = new StringBuilder();
        var starts = new List<int>();
        var ends = new List<int>();

        void Flush()
        {
            if (sb.Length == 0) return;
            words.Add(new Word(sb.ToString(), starts.ToArray(), ends.ToArray()));
            sb.Clear(); starts.Clear(); ends.Clear();
        }

        void AddWord(string piece, int s, int e)
        {
            Flush();
            foreach (var ch in piece) { sb.Append(ch); starts.Add(s); ends.Add(e); }
            Flush();
        }

        int i = 0;
        while (i < text.Length)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out int used) != System.Buffers.OperationStatus.Done)
            {
                // Lone surrogate: BERT would see U+FFFD and drop it.
                i += 1;
                continue;
            }
            int s = i, e = i + used;
            i = e;
            int cp = rune.Value;
            if (cp is > 32 and < 127)
            {
                // Printable ASCII, most of any input: no normalisation to do, lower-casing is arithmetic.
                char ch = (char)cp;
                if (IsAsciiPunctuation(cp)) { Flush(); sb.Append(ch); starts.Add(s); ends.Add(e); Flush(); continue; }
                if (lowerCase && ch is >= 'A' and <= 'Z') ch = (char)(ch + 32);
                sb.Append(ch); starts.Add(s); ends.Add(e);
                continue;
            }
            if (cp == 0 || cp == 0xFFFD || IsControl(rune)) continue;
            if (IsWhitespace(rune)) { Flush(); continue; }
            if (IsCjk(cp)) { AddWord(rune.ToString(), s, e); continue; }

            string piece = rune.ToString();
            if (lowerCase) piece = StripAccents(piece.ToLowerInvariant());
            if (piece.Length == 0) continue; // a bare combining mark
            if (IsPunctuation(rune)) { AddWord(piece, s, e); continue; }
            foreach (var ch in piece) { sb.Append(ch); starts.Add(s); ends.Add(e); }
        }
        Flush();
        return words;
    }

    private static string StripAccents(string s)
    {
        var d = s.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(d.Length);
        foreach (var ch in d)
            if (CharUnicodeInfo.GetUnicodeCategory(ch) != UnicodeCategory.NonSpacingMark) sb.Append(ch);
        return sb.ToString();
    }

    private static bool IsWhitespace(Rune r) =>
        r.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(r) == UnicodeCategory.SpaceSeparator;

    private static bool IsControl(Rune r)
    {
        if (r.Value is '\t' or '\n' or '\r') return false;
        var c = Rune.GetUnicodeCategory(r);
        return c is UnicodeCategory.Control or UnicodeCategory.Format;
    }

    private static bool IsAsciiPunctuation(int cp) =>
        (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);

    private static bool IsPunctuation(Rune r)
    {
        int cp = r.Value;
        if (IsAsciiPunctuation(cp)) return true;
        return Rune.GetUnicodeCategory(r) switch
        {
            UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
                or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation => true,
            _ => false,
        };
    }

    /// <summary>The CJK Unified Ideographs blocks BERT isolates (not Hiragana, Katakana or Hangul).</summary>
    private static bool IsCjk(int cp) =>
        (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
        (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
        (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}
