using System.Text;
using System.Text.Json;
using AttnScope.Capture;

namespace AttnScope.Corpus;

/// <summary>
/// Streams the sentences of an input file (plain lines, TSV or JSON Lines) without reading it whole: blank lines are
/// skipped, a line longer than <see cref="CorpusInputOptions.MaxLineCharacters"/> or one that does not parse is an
/// error naming its line number, and line numbers (1-based, of the file) identify sentences across runs.
/// </summary>
internal static class CorpusInput
{
    /// <summary>Lines longer than this many characters are refused (the model reads at most 512 tokens).</summary>
    public const int DefaultMaxLineCharacters = 1_000_000;

    /// <summary>The sentences of <paramref name="path"/> in file order.</summary>
    public static IEnumerable<CorpusLine> Read(string path, CorpusInputOptions options)
    {
        if (!File.Exists(path)) throw new AttnScopeException($"input file not found: '{path}'");
        if (options.TextColumn < 1 || options.PairColumn is < 1) throw new AttnScopeException("TSV columns are numbered from 1");
        return ReadLines(path, options);
    }

    private static IEnumerable<CorpusLine> ReadLines(string path, CorpusInputOptions options)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: true);
        var buffer = new StringBuilder();
        long line = 0;
        while (true)
        {
            line++;
            bool any = ReadLine(reader, buffer, options.MaxLineCharacters, line, path);
            if (!any) yield break;
            if (line == 1 && options.Header && options.Format == CorpusInputFormat.Tsv) continue;
            var text = buffer.ToString();
            if (string.IsNullOrWhiteSpace(text)) continue;
            var parsed = Parse(text, line, options);
            if (parsed is not null) yield return parsed;
        }
    }

    /// <summary>Reads one line into <paramref name="buffer"/> (without its end); false at the end of the file.</summary>
    private static bool ReadLine(StreamReader reader, StringBuilder buffer, int max, long line, string path)
    {
        buffer.Clear();
        bool any = false;
        try
        {
            while (true)
            {
                int c = reader.Read();
                if (c < 0) return any;
                any = true;
                if (c == '\n') break;
                if (c == '\r')
                {
                    if (reader.Peek() == '\n') reader.Read();
                    break;
                }
                if (buffer.Length >= max)
                    throw new AttnScopeException($"'{path}' line {line} is longer than {max:N0} characters (one sentence per line is expected)");
                buffer.Append((char)c);
            }
        }
        catch (DecoderFallbackException)
        {
            throw new AttnScopeException($"'{path}' line {line} is not valid UTF-8 text");
        }
        return true;
    }

    private static CorpusLine? Parse(string text, long line, CorpusInputOptions options)
    {
        switch (options.Format)
        {
            case CorpusInputFormat.Text:
                return new CorpusLine(line, text.Trim(), null);
            case CorpusInputFormat.Tsv:
            {
                var fields = text.Split('\t');
                int need = Math.Max(options.TextColumn, options.PairColumn ?? 0);
                if (fields.Length < need)
                    throw new AttnScopeException($"line {line} has {fields.Length} tab-separated field(s); column {need} was asked for");
                var t = fields[options.TextColumn - 1].Trim();
                var p = options.PairColumn is { } pc ? fields[pc - 1].Trim() : null;
                if (t.Length == 0) return null;
                return new CorpusLine(line, t, string.IsNullOrEmpty(p) ? null : p);
            }
            default:
                return ParseJson(text, line, options);
        }
    }

    private static CorpusLine ParseJson(string text, long line, CorpusInputOptions options)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 64 }); }
        catch (JsonException e) { throw new AttnScopeException($"line {line} is not valid JSON: {e.Message}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new AttnScopeException($"line {line} is JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object with a \"{options.TextField}\" field");
            if (!doc.RootElement.TryGetProperty(options.TextField, out var t) || t.ValueKind != JsonValueKind.String)
                throw new AttnScopeException($"line {line} has no string field \"{options.TextField}\"");
            string? pair = null;
            if (options.PairField is { } pf && doc.RootElement.TryGetProperty(pf, out var p))
            {
                if (p.ValueKind == JsonValueKind.String) pair = p.GetString();
                else if (p.ValueKind != JsonValueKind.Null) throw new AttnScopeException($"line {line}: field \"{pf}\" is not a string");
            }
            var textValue = t.GetString()!.Trim();
            if (textValue.Length == 0) throw new AttnScopeException($"line {line}: field \"{options.TextField}\" is empty");
            return new CorpusLine(line, textValue, string.IsNullOrWhiteSpace(pair) ? null : pair);
        }
    }
}
