using System.Xml;
using AttnScope.Capture;

namespace AttnScope.Training.Data.Formats;

/// <summary>
/// WMT test sets in XML (one file, both sides): <c>&lt;doc id=".."&gt;&lt;src lang="en"&gt;&lt;p&gt;&lt;seg id="1"&gt;..
/// &lt;/seg&gt;..&lt;/src&gt;&lt;ref lang="de" translator="A"&gt;..&lt;/ref&gt;&lt;/doc&gt;</c>. Segments are paired within
/// each document by id, the side chosen by its <c>lang</c> attribute (the first reference when there are several).
/// Streamed document by document; DTDs are refused.
/// </summary>
internal static class XmlTestSetFormat
{
    public static IEnumerable<ParallelPair> Read(string path, CorpusCollector c)
    {
        string src = c.SourceLanguage.ToLowerInvariant(), tgt = c.TargetLanguage.ToLowerInvariant();
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreComments = true, CloseInput = true };
        using var stream = CorpusLines.Open(path);
        using var reader = XmlReader.Create(stream, settings);
        var languages = new SortedSet<string>(StringComparer.Ordinal);
        var sourceSegs = new List<(string Id, string Text)>();
        var targetSegs = new Dictionary<string, string>(StringComparer.Ordinal);
        string doc = "";
        string? sideLang = null;
        int docs = 0, segments = 0, matched = 0;
        var pending = new List<ParallelPair>();
        bool advance = true; // false right after reading a segment's text, which leaves the reader on the next node
        while (true)
        {
            bool more;
            try { more = advance ? reader.Read() : !reader.EOF; }
            catch (XmlException e) { throw new AttnScopeException($"'{path}' is not well-formed XML: {e.Message}"); }
            if (!more) break;
            advance = true;
            if (reader.NodeType == XmlNodeType.Element)
            {
                switch (reader.LocalName)
                {
                    case "doc":
                        docs++;
                        doc = reader.GetAttribute("id") ?? reader.GetAttribute("docid") ?? $"#{docs}";
                        sourceSegs.Clear();
                        targetSegs.Clear();
                        break;
                    case "src" or "ref" or "hyp":
                        sideLang = reader.LocalName == "hyp" ? null : reader.GetAttribute("lang")?.ToLowerInvariant();
                        if (sideLang is not null) languages.Add(sideLang);
                        break;
                    case "seg" when sideLang is not null:
                        var id = reader.GetAttribute("id") ?? $"#{segments + 1}";
                        string text;
                        try { text = reader.ReadElementContentAsString(); }
                        catch (XmlException e) { throw new AttnScopeException($"'{path}' is not well-formed XML: {e.Message}"); }
                        segments++;
                        advance = false;
                        if (sideLang == src && !sourceSegs.Exists(s => s.Id == id)) sourceSegs.Add((id, text));
                        else if (sideLang == tgt) targetSegs.TryAdd(id, text);
                        break;
                }
            }
            else if (reader.NodeType == XmlNodeType.EndElement)
            {
                if (reader.LocalName is "src" or "ref" or "hyp") sideLang = null;
                else if (reader.LocalName == "doc")
                {
                    foreach (var (id, text) in sourceSegs)
                    {
                        if (!targetSegs.TryGetValue(id, out var reference))
                        {
                            c.Skip(CorpusSkipReason.Misaligned, $"document {doc}, segment {id}: no '{tgt}' segment with this id");
                            continue;
                        }
                        matched++;
                        if (c.Accept($"document {doc}, segment {id}", text, reference) is { } pair) pending.Add(pair);
                    }
                    foreach (var p in pending) yield return p;
                    pending.Clear();
                }
            }
        }
        if (segments == 0)
            throw new AttnScopeException($"'{path}' has no <seg> elements inside <src>/<ref> elements with a lang attribute: it is not a WMT XML test set");
        if (matched == 0)
            throw new AttnScopeException($"'{path}' holds segments in {string.Join(", ", languages.Select(l => $"'{l}'"))} but no pairs of '{src}' and '{tgt}'; check --src and --tgt");
    }
}
