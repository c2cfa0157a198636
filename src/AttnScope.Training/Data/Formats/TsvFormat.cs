using System.Text.RegularExpressions;
using AttnScope.Capture;

namespace AttnScope.Training.Data.Formats;

/// <summary>
/// One pair a line, two tab-separated columns. A first line that names languages (<c>en&lt;TAB&gt;de</c>,
/// <c>de_DE&lt;TAB&gt;en-US</c>, <c>English&lt;TAB&gt;German</c>) is a header: it is not a training pair, and it
/// says which column is the source, so <c>--src de --tgt en</c> on an English-first file reads the second column as
/// the source. A header naming other languages than --src/--tgt is an error; <c>source&lt;TAB&gt;target</c> is a
/// header that keeps the column order. Without a header the first column is the source.
/// </summary>
internal static partial class TsvFormat
{
    private static readonly Dictionary<string, string> LanguageNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["english"] = "en", ["german"] = "de", ["deutsch"] = "de", ["french"] = "fr", ["français"] = "fr", ["spanish"] = "es",
        ["italian"] = "it", ["dutch"] = "nl", ["portuguese"] = "pt", ["czech"] = "cs", ["russian"] = "ru", ["chinese"] = "zh",
    };

    [GeneratedRegex(@"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")]
    private static partial Regex LanguageCode();

    /// <summary>The language a header cell names (lower-case base code), or null.</summary>
    public static string? HeaderLanguage(string cell)
    {
        cell = cell.Trim();
        if (LanguageNames.TryGetValue(cell, out var code)) return code;
        if (!LanguageCode().IsMatch(cell)) return null;
        int cut = cell.IndexOfAny(['-', '_']);
        return (cut < 0 ? cell : cell[..cut]).ToLowerInvariant();
    }

    private static bool IsGenericHeader(string a, string b) =>
        (a.Trim().ToLowerInvariant(), b.Trim().ToLowerInvariant()) is ("source", "target") or ("src", "tgt") or ("src", "trg") or ("src", "ref");

    public static IEnumerable<ParallelPair> Read(string path, CorpusCollector c)
    {
        string src = c.SourceLanguage, tgt = c.TargetLanguage;
        bool swapped = false, first = true;
        foreach (var (_, where, line) in CorpusLines.NonEmpty(path, c))
        {
            var cols = line.Split('\t');
            bool isFirst = first;
            first = false;
            if (cols.Length != 2)
            {
                c.Skip(CorpusSkipReason.Misaligned, $"{where}: {cols.Length} tab-separated column(s); a TSV corpus line is source<TAB>target");
                continue;
            }
            if (isFirst)
            {
                if (IsGenericHeader(cols[0], cols[1]))
                {
                    c.Note($"{where}: header '{cols[0].Trim()}<TAB>{cols[1].Trim()}' skipped; the first column is read as the source ({src})");
                    continue;
                }
                string? a = HeaderLanguage(cols[0]), b = HeaderLanguage(cols[1]);
                if (a is not null && b is not null && a != b)
                {
                    if (a == src.ToLowerInvariant() && b == tgt.ToLowerInvariant())
                        c.Note($"{where}: header '{cols[0].Trim()}<TAB>{cols[1].Trim()}' skipped; column 1 is the source ({src}), column 2 the target ({tgt})");
                    else if (a == tgt.ToLowerInvariant() && b == src.ToLowerInvariant())
                    {
                        swapped = true;
                        c.Note($"{where}: header '{cols[0].Trim()}<TAB>{cols[1].Trim()}' skipped; column 2 is the source ({src}), column 1 the target ({tgt})");
                    }
                    else
                        throw new AttnScopeException($"'{path}': its header names the languages '{cols[0].Trim()}' and '{cols[1].Trim()}', " +
                                                     $"but --src is '{src}' and --tgt '{tgt}'; give --src and --tgt from the header");
                    continue;
                }
            }
            var pair = swapped ? c.Accept(where, cols[1], cols[0]) : c.Accept(where, cols[0], cols[1]);
            if (pair is not null) yield return pair;
        }
    }
}
