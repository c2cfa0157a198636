using System.Globalization;
using System.Text;

namespace AttnScope.Capture;

/// <summary>
/// Turns token text (data, never markup) into a printable label: control characters and line breaks become
/// visible escapes (<c>\n</c>, <c>\u001b</c>), blank tokens become "␣", lone surrogates become U+FFFD. Used by every view
/// and by the CLI, so token text can never drive a terminal or a renderer.
/// </summary>
internal static class TokenText
{
    /// <summary>The printable form, cut to <paramref name="max"/> characters with "…" when longer.</summary>
    public static string Printable(string text, int max)
    {
        var p = Printable(text);
        return p.Length <= max ? p : p[..max] + "…";
    }

    public static string Printable(string text)
    {
        if (text.Length == 0) return "∅";
        if (string.IsNullOrWhiteSpace(text) && text.All(c => c == ' ')) return new string('␣', Math.Min(text.Length, 4));
        return Escaped(text);
    }

    /// <summary>
    /// Text read from a file or typed by a user, made safe for one line of a terminal: the same escapes as
    /// <see cref="Printable(string)"/> (control characters, line breaks, escape sequences, lone surrogates), but
    /// empty and blank text stay as they are. For messages, warnings, model names and other strings that quote data.
    /// </summary>
    public static string Escaped(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
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
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
