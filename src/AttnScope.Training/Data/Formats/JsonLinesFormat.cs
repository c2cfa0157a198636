using System.Text.Json;

namespace AttnScope.Training.Data.Formats;

/// <summary>JSON Lines: <c>{"translation": {"de": "...", "en": "..."}}</c> (the Hugging Face WMT layout) or flat
/// <c>{"de": "...", "en": "..."}</c>; other fields are ignored.</summary>
internal static class JsonLinesFormat
{
    public static IEnumerable<ParallelPair> Read(string path, CorpusCollector c)
    {
        string src = c.SourceLanguage, tgt = c.TargetLanguage;
        foreach (var (_, where, line) in CorpusLines.NonEmpty(path, c))
        {
            string? s = null, t = null, problem = null;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) problem = "not a JSON object";
                else
                {
                    var holder = root;
                    string inside = "";
                    if (root.TryGetProperty("translation", out var tr))
                    {
                        if (tr.ValueKind != JsonValueKind.Object) problem = "\"translation\" is not an object";
                        holder = tr;
                        inside = " in \"translation\"";
                    }
                    else if (!root.TryGetProperty(src, out _) && !root.TryGetProperty(tgt, out _))
                        problem = $"no \"translation\" object and no \"{src}\" / \"{tgt}\" fields";
                    if (problem is null)
                    {
                        if (!holder.TryGetProperty(src, out var se) || se.ValueKind != JsonValueKind.String) problem = $"no \"{src}\" string{inside}";
                        else if (!holder.TryGetProperty(tgt, out var te) || te.ValueKind != JsonValueKind.String) problem = $"no \"{tgt}\" string{inside}";
                        else
                        {
                            s = se.GetString();
                            t = te.GetString();
                        }
                    }
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                problem = $"not JSON ({e.Message.Split('.')[0]})";
            }
            if (problem is not null || s is null || t is null)
            {
                c.Skip(CorpusSkipReason.Malformed, $"{where}: {problem ?? "malformed"}");
                continue;
            }
            if (c.Accept(where, s, t) is { } pair) yield return pair;
        }
    }
}
