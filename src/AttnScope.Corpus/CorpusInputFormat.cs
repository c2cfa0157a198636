using AttnScope.Capture;

namespace AttnScope.Corpus;

/// <summary>How an input file holds its sentences.</summary>
internal enum CorpusInputFormat
{
    /// <summary>One sentence per line.</summary>
    Text,
    /// <summary>Tab-separated fields; one column is the text, another optionally sentence B.</summary>
    Tsv,
    /// <summary>One JSON object per line with a text field (and optionally a pair field).</summary>
    JsonLines,
}

/// <summary>Parses <c>--format</c> and guesses the format from a file's extension.</summary>
internal static class CorpusInputFormats
{
    /// <summary>The format a name gives (txt, tsv, jsonl), or the one the file's extension implies when the name is <c>auto</c>.</summary>
    public static CorpusInputFormat Parse(string name, string path) => name.Trim().ToLowerInvariant() switch
    {
        "txt" or "text" or "lines" => CorpusInputFormat.Text,
        "tsv" => CorpusInputFormat.Tsv,
        "jsonl" or "ndjson" or "json-lines" => CorpusInputFormat.JsonLines,
        "auto" => Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".tsv" or ".tab" => CorpusInputFormat.Tsv,
            ".jsonl" or ".ndjson" => CorpusInputFormat.JsonLines,
            _ => CorpusInputFormat.Text,
        },
        _ => throw new AttnScopeException($"unknown input format '{name}': use auto, txt, tsv or jsonl"),
    };
}
