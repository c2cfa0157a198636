using System.Text;
using System.Text.RegularExpressions;

namespace AttnScope.Training.Metrics;

/// <summary>
/// The mteval-v13a tokenization that sacreBLEU applies by default before counting n-grams: drops "&lt;skipped&gt;",
/// joins hyphenated line breaks, unescapes four HTML entities, splits off punctuation and symbols, splits periods and
/// commas except between digits (so "3.5" and "1,000" stay whole), splits a dash after a digit, and collapses
/// whitespace. The rules run in the same order and with the same left-to-right, non-overlapping matching.
/// </summary>
internal static partial class Tokenizer13a
{
    // Symbols and ASCII punctuation: { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ /
    [GeneratedRegex(@"([\{-\~\[-\` -\&\(-\+\:-\@\/])", RegexOptions.CultureInvariant)]
    private static partial Regex Symbols();

    [GeneratedRegex(@"([^0-9])([\.,])", RegexOptions.CultureInvariant)]
    private static partial Regex PeriodCommaAfterNonDigit();

    [GeneratedRegex(@"([\.,])([^0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex PeriodCommaBeforeNonDigit();

    [GeneratedRegex(@"([0-9])(-)", RegexOptions.CultureInvariant)]
    private static partial Regex DashAfterDigit();

    /// <summary>The tokens of one segment (trailing whitespace is stripped first, as sacreBLEU does).</summary>
    public static string[] Tokenize(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        line = line.TrimEnd(PythonWhitespace);
        line = line.Replace("<skipped>", "").Replace("-\n", "").Replace("\n", " ");
        if (line.Contains('&'))
            line = line.Replace("&quot;", "\"").Replace("&amp;", "&").Replace("&lt;", "<").Replace("&gt;", ">");
        line = " " + line + " ";
        line = Symbols().Replace(line, " $1 ");
        line = PeriodCommaAfterNonDigit().Replace(line, "$1 $2 ");
        line = PeriodCommaBeforeNonDigit().Replace(line, " $1 $2");
        line = DashAfterDigit().Replace(line, "$1 $2 ");
        return line.Split(PythonWhitespace, StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The characters Python's str.split() and str.rstrip() treat as whitespace (str.isspace).</summary>
    private static readonly char[] PythonWhitespace = BuildWhitespace();

    private static char[] BuildWhitespace()
    {
        var list = new List<char>();
        for (int c = 0; c <= 0xFFFF; c++)
            if (char.IsWhiteSpace((char)c) || c is >= 0x1C and <= 0x1F) list.Add((char)c);
        return list.ToArray();
    }
}
