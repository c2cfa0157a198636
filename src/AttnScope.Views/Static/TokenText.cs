using System.Globalization;
using System.Text;

namespace AttnScope.Views.Static;

/// <summary>
/// Turns token text (data, never markup) into a printable label: control characters and line breaks become
/// visible escapes, blank tokens become "␣", lone surrogates become U+FFFD.
/// </summary>
public static class TokenText
{
    public static string Printable(string text)
    {
        if (text.Length == 0) return "∅";
        if (string.IsNullOrWhiteSpace(text) && text.All(c => c == ' ')) return new string('␣', Math.Min(text.Length, 4));
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]);
                continue;
            }
            if (char.IsSurrogate(c)) { sb.Append('\uFFFD'); continue; }
            switch (c)
            {
                case '\n': sb.Append("\\n"); continue;
                case '\r': sb.Append("\\r"); continue;
                case '\t': sb.Append("\\t"); continue;
            }
            var cat = char.GetUnicodeCategory(c);
            if (cat is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned)
                sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
