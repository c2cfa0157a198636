using System.Net;
using System.Text.RegularExpressions;
using AttnScope.Capture;

namespace AttnScope.Training.Data.Formats;

/// <summary>
/// WMT test sets in SGML (<c>newstest2014-deen-src.de.sgm</c> + <c>newstest2014-deen-ref.en.sgm</c>): each file
/// holds <c>&lt;doc docid=".."&gt;</c> elements of <c>&lt;seg id=".."&gt;text&lt;/seg&gt;</c>; source and reference
/// segments are paired by (document, segment id), not by position. Test sets are small: each file is read whole,
/// after its size is checked against <see cref="MaxBytes"/>.
/// </summary>
internal static partial class SgmlFormat
{
    /// <summary>Largest .sgm file read.</summary>
    public const long MaxBytes = 256L << 20;

    [GeneratedRegex(@"<doc\b([^>]*)>", RegexOptions.IgnoreCase)]
    private static partial Regex Doc();

    [GeneratedRegex(@"<seg\b([^>]*)>(.*?)</seg\s*>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex Seg();

    [GeneratedRegex(@"\b(?:docid|id)\s*=\s*(?:""([^""]*)""|'([^']*)'|([^\s>]+))", RegexOptions.IgnoreCase)]
    private static partial Regex IdAttribute();

    [GeneratedRegex(@"^(?<stem>.*?)[-.](?<role>src|ref)\.(?<lang>[A-Za-z]{2,3})\.sgm$", RegexOptions.IgnoreCase)]
    private static partial Regex WmtName();

    /// <summary>The segments of one file, keyed "document/segment" in file order.</summary>
    public static List<(string Key, string Text)> Segments(string path)
    {
        var text = CorpusLines.ReadAllChecked(path, MaxBytes);
        var docs = Doc().Matches(text);
        var list = new List<(string, string)>();
        int d = 0;
        var segs = Seg().Matches(text);
        foreach (Match seg in segs)
        {
            while (d < docs.Count && docs[d].Index < seg.Index) d++;
            string doc = d == 0 ? "" : Id(docs[d - 1].Groups[1].Value) ?? $"#{d}";
            string id = Id(seg.Groups[1].Value) ?? $"#{list.Count + 1}";
            list.Add(($"{doc}/{id}", WebUtility.HtmlDecode(seg.Groups[2].Value)));
        }
        if (list.Count == 0)
            throw new AttnScopeException($"'{path}' has no <seg> elements: it is not a WMT SGML test set");
        return list;
    }

    private static string? Id(string attributes)
    {
        var m = IdAttribute().Match(attributes);
        if (!m.Success) return null;
        return m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value;
    }

    /// <summary>The other file of a WMT pair: for <c>X-src.de.sgm</c> with languages de and en, <c>X-ref.en.sgm</c>
    /// (and the other way round). Returns the (source, target) paths, or throws naming what was looked for.</summary>
    public static (string Source, string Target) Partner(string path, string src, string tgt)
    {
        var name = Path.GetFileName(path);
        var m = WmtName().Match(name);
        if (!m.Success)
            throw new AttnScopeException($"'{path}': an SGML test set comes in two files; give both as --corpus SOURCE.sgm,TARGET.sgm " +
                                         "(or name them like newstest2014-deen-src.de.sgm and newstest2014-deen-ref.en.sgm)");
        string lang = m.Groups["lang"].Value.ToLowerInvariant(), stem = m.Groups["stem"].Value;
        bool isSource = lang == src.ToLowerInvariant();
        if (!isSource && lang != tgt.ToLowerInvariant())
            throw new AttnScopeException($"'{path}' is a '{lang}' file, but --src is '{src}' and --tgt '{tgt}'");
        string other = isSource ? tgt : src;
        var dir = Path.GetDirectoryName(path) ?? "";
        var sep = name[stem.Length];
        var candidates = new[] { "ref", "src" }.Select(role => Path.Combine(dir, $"{stem}{sep}{role}.{other}.sgm")).ToList();
        var found = candidates.FirstOrDefault(File.Exists)
            ?? throw new AttnScopeException($"'{path}': its {(isSource ? "reference" : "source")} file was not found (looked for {string.Join(" and ", candidates.Select(p => $"'{p}'"))}); " +
                                            "give both as --corpus SOURCE.sgm,TARGET.sgm");
        return isSource ? (path, found) : (found, path);
    }

    public static IEnumerable<ParallelPair> Read(string srcPath, string tgtPath, CorpusCollector c)
    {
        var source = Segments(srcPath);
        var target = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, text) in Segments(tgtPath)) target.TryAdd(key, text);
        int matched = 0;
        foreach (var (key, text) in source)
        {
            if (!target.TryGetValue(key, out var reference))
            {
                c.Skip(CorpusSkipReason.Misaligned, $"segment {key}: in '{srcPath}' but not in '{tgtPath}'");
                continue;
            }
            matched++;
            if (c.Accept($"segment {key}", text, reference) is { } pair) yield return pair;
        }
        if (matched == 0)
            throw new AttnScopeException($"'{srcPath}' and '{tgtPath}' share no (document, segment) ids: they are not the two sides of one test set");
    }
}
