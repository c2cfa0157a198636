using System.Collections;
using AttnScope.Capture;
using AttnScope.Training.Data.Formats;

namespace AttnScope.Training.Data;

/// <summary>
/// A corpus opened for streaming: enumerating it reads the files once, pair by pair, through the filters; after
/// (or during) the enumeration <see cref="Report"/> counts what was kept and skipped. Enumerate it once.
/// </summary>
internal sealed class CorpusStream : IEnumerable<ParallelPair>
{
    private readonly CorpusCollector _collector;
    private readonly IEnumerable<ParallelPair> _pairs;
    private bool _started;

    internal CorpusStream(string description, CorpusCollector collector, IEnumerable<ParallelPair> pairs)
    {
        Description = description;
        _collector = collector;
        _pairs = pairs;
    }

    /// <summary>The format and files being read, e.g. "TSV 'data/corpus.tsv'".</summary>
    public string Description { get; }

    /// <summary>What has been kept and skipped so far (complete once the enumeration ended).</summary>
    public CorpusReadReport Report => _collector.Report();

    public IEnumerator<ParallelPair> GetEnumerator()
    {
        if (_started) throw new InvalidOperationException("a corpus stream is read once; open the corpus again");
        _started = true;
        return _pairs.GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// Reads parallel corpora in the formats WMT users have: two aligned plain-text files (train.en / train.de), TSV,
/// JSON Lines (<c>{"translation": {"en": "...", "de": "..."}}</c> or <c>{"en": "...", "de": "..."}</c>), the
/// Hugging Face datasets layout (Parquet shards), and WMT test sets in SGML (.sgm source + reference) and XML.
/// Bad lines are skipped and counted, never fatal; a file that is not in its format at all is one clear error.
/// </summary>
/// <remarks>Files are UTF-8 (a byte-order mark is ignored), one example a line, "\n" or "\r\n". Text is trimmed;
/// inner whitespace is kept. Corpora are streamed (<see cref="Open"/>): filters and deduplication run as the pairs are
/// read, so a corpus of millions of pairs is never held whole before filtering.</remarks>
internal static class ParallelCorpusReader
{
    /// <summary>Longest line read (docs/limits.md): a longer one is skipped as over-long without being held.</summary>
    public const int MaxLineBytes = 1 << 20;

    /// <summary>Reads a whole corpus into memory with the default filters, except <paramref name="maxWords"/>.</summary>
    public static CorpusReadResult Read(string path, string sourceLanguage = "en", string targetLanguage = "de", int maxWords = 100)
        => Read(path, sourceLanguage, targetLanguage, CorpusFilterOptions.Default with { MaxWords = maxWords });

    /// <summary>Reads a whole corpus into memory (streamed through the filters; only kept pairs are held).</summary>
    public static CorpusReadResult Read(string path, string sourceLanguage, string targetLanguage, CorpusFilterOptions filter)
    {
        var stream = Open(path, sourceLanguage, targetLanguage, filter);
        var pairs = stream.ToList();
        return new CorpusReadResult(pairs, stream.Report);
    }

    /// <summary>
    /// Opens a corpus for streaming. <paramref name="path"/> is one of: a .tsv, .jsonl/.json, .parquet, .sgm or .xml
    /// file; a folder (its train.{src} + train.{tgt}, train.tsv, train.jsonl, or its Parquet shards); a prefix such as
    /// <c>data/train</c> with <c>data/train.{src}</c> and <c>data/train.{tgt}</c> beside it; or two aligned files
    /// <c>SOURCE,TARGET</c> (plain text or .sgm). Missing files and unknown layouts fail here, before any pair is read.
    /// </summary>
    public static CorpusStream Open(string path, string sourceLanguage, string targetLanguage, CorpusFilterOptions? filter = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        filter ??= CorpusFilterOptions.Default;
        filter.Validate();
        if (string.IsNullOrWhiteSpace(sourceLanguage) || string.IsNullOrWhiteSpace(targetLanguage) || sourceLanguage == targetLanguage)
            throw new AttnScopeException($"source and target languages must be two different codes (got '{sourceLanguage}' and '{targetLanguage}')");
        var c = new CorpusCollector(sourceLanguage, targetLanguage, filter);
        var (description, pairs) = Choose(path, sourceLanguage, targetLanguage, c);
        return new CorpusStream(description, c, pairs);
    }

    private static bool HasExtension(string path, string ext) => path.EndsWith(ext, StringComparison.OrdinalIgnoreCase);

    private static (string, IEnumerable<ParallelPair>) Choose(string path, string src, string tgt, CorpusCollector c)
    {
        if (Directory.Exists(path))
        {
            var prefix = Path.Combine(path, "train");
            if (File.Exists($"{prefix}.{src}") && File.Exists($"{prefix}.{tgt}"))
                return ($"aligned text files '{prefix}.{src}' and '{prefix}.{tgt}'", AlignedTextFormat.Read($"{prefix}.{src}", $"{prefix}.{tgt}", c));
            if (File.Exists(prefix + ".tsv")) return ($"TSV '{prefix}.tsv'", TsvFormat.Read(prefix + ".tsv", c));
            if (File.Exists(prefix + ".jsonl")) return ($"JSON Lines '{prefix}.jsonl'", JsonLinesFormat.Read(prefix + ".jsonl", c));
            var shards = ParquetFormat.Shards(path);
            if (shards.Count > 0) return ($"{shards.Count} Parquet shard(s) in '{path}'", ParquetFormat.Read(shards, c));
            throw new AttnScopeException($"corpus folder '{path}' has none of train.{src} + train.{tgt}, train.tsv, train.jsonl, *.parquet");
        }
        if (!File.Exists(path) && path.Contains(',') && path.Split(',') is [var a, var b])
        {
            foreach (var f in new[] { a, b })
                if (!File.Exists(f)) throw new AttnScopeException($"corpus file not found: '{f}' (--corpus SOURCE,TARGET names two aligned files)");
            return HasExtension(a, ".sgm") && HasExtension(b, ".sgm")
                ? ($"SGML test set '{a}' + '{b}'", SgmlFormat.Read(a, b, c))
                : ($"aligned text files '{a}' and '{b}'", AlignedTextFormat.Read(a, b, c));
        }
        if (File.Exists(path))
        {
            if (HasExtension(path, ".tsv")) return ($"TSV '{path}'", TsvFormat.Read(path, c));
            if (HasExtension(path, ".jsonl") || HasExtension(path, ".json")) return ($"JSON Lines '{path}'", JsonLinesFormat.Read(path, c));
            if (HasExtension(path, ".parquet")) return ($"Parquet '{path}'", ParquetFormat.Read([path], c));
            if (HasExtension(path, ".xml")) return ($"XML test set '{path}'", XmlTestSetFormat.Read(path, c));
            if (HasExtension(path, ".sgm"))
            {
                var (s, t) = SgmlFormat.Partner(path, src, tgt);
                return ($"SGML test set '{s}' + '{t}'", SgmlFormat.Read(s, t, c));
            }
        }
        string srcFile = $"{path}.{src}", tgtFile = $"{path}.{tgt}";
        bool hasSrc = File.Exists(srcFile), hasTgt = File.Exists(tgtFile);
        if (hasSrc && hasTgt) return ($"aligned text files '{srcFile}' and '{tgtFile}'", AlignedTextFormat.Read(srcFile, tgtFile, c));
        if (hasSrc || hasTgt)
            throw new AttnScopeException($"corpus '{path}': found '{(hasSrc ? srcFile : tgtFile)}' but not '{(hasSrc ? tgtFile : srcFile)}'");
        if (File.Exists(path))
            throw new AttnScopeException($"corpus '{path}': not a .tsv, .jsonl, .parquet, .sgm or .xml file, and no '{srcFile}' / '{tgtFile}' beside it");
        throw new AttnScopeException($"corpus not found: '{path}' (give a .tsv, .jsonl, .parquet, .sgm or .xml file, a folder, a prefix with '{srcFile}' and '{tgtFile}', or SOURCE,TARGET)");
    }
}
