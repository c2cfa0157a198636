using System.Text;
using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Training.Text;

namespace AttnScope.Training.Data;

/// <summary>What reading a corpus kept and skipped, with counts per reason (empty, misaligned, over-long, malformed).</summary>
public sealed record CorpusReadReport(int Kept, IReadOnlyDictionary<string, int> Skipped, IReadOnlyList<string> Notes)
{
    public int SkippedTotal => Skipped.Values.Sum();

    /// <summary>One line for the user, e.g. "kept 9,998 pairs; skipped 2 (empty 1, over-long 1)".</summary>
    public override string ToString()
        => SkippedTotal == 0 ? $"kept {Kept:N0} pairs" :
            $"kept {Kept:N0} pairs; skipped {SkippedTotal:N0} ({string.Join(", ", Skipped.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value:N0}"))})";
}

public sealed record CorpusReadResult(IReadOnlyList<ParallelPair> Pairs, CorpusReadReport Report);

/// <summary>The reasons a corpus line is skipped (the keys of <see cref="CorpusReadReport.Skipped"/>).</summary>
public static class CorpusSkipReason
{
    /// <summary>One side is empty or only whitespace.</summary>
    public const string Empty = "empty";
    /// <summary>The two files have different line counts (the extra lines), or a TSV line has other than two columns.</summary>
    public const string Misaligned = "misaligned";
    /// <summary>One side has more words than the limit, or a line is longer than <see cref="ParallelCorpusReader.MaxLineBytes"/>.</summary>
    public const string OverLong = "over-long";
    /// <summary>A JSON line that does not parse or lacks translation.{src} / translation.{tgt} strings.</summary>
    public const string Malformed = "malformed";
    /// <summary>A line whose bytes are not valid UTF-8.</summary>
    public const string InvalidUtf8 = "invalid UTF-8";
}

/// <summary>Reads parallel corpora: a pair of aligned plain-text files (train.en / train.de), TSV, and JSON Lines in
/// the WMT layout ({"translation": {"en": "...", "de": "..."}}). Bad lines are skipped and counted, never fatal.</summary>
/// <remarks>Files are UTF-8 (a byte-order mark is ignored), one example a line, "\n" or "\r\n". Text is trimmed;
/// inner whitespace is kept. A TSV whose first line is exactly "{src}&lt;TAB&gt;{tgt}" has it taken as a header.
/// A folder is read as its train.{src} + train.{tgt}, train.tsv or train.jsonl. Files are streamed, so corpora of
/// millions of lines are read without holding their bytes twice.</remarks>
public static class ParallelCorpusReader
{
    private const int NotesPerReason = 5;

    /// <summary><paramref name="path"/> is a .tsv or .jsonl file, or a path prefix such as <c>data/train</c> with
    /// <c>data/train.{src}</c> and <c>data/train.{tgt}</c> beside it. <paramref name="maxWords"/> bounds each side.</summary>
    public static CorpusReadResult Read(string path, string sourceLanguage = "en", string targetLanguage = "de", int maxWords = 100)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (string.IsNullOrWhiteSpace(sourceLanguage) || string.IsNullOrWhiteSpace(targetLanguage) || sourceLanguage == targetLanguage)
            throw new AttnScopeException($"source and target languages must be two different codes (got '{sourceLanguage}' and '{targetLanguage}')");
        if (maxWords < 1) throw new AttnScopeException($"the word limit must be at least 1 (got {maxWords})");
        var collector = new Collector(maxWords);
        if (Directory.Exists(path))
        {
            var prefix = Path.Combine(path, "train");
            if (File.Exists($"{prefix}.{sourceLanguage}") && File.Exists($"{prefix}.{targetLanguage}")) ReadPlainPair(prefix, sourceLanguage, targetLanguage, collector);
            else if (File.Exists(prefix + ".tsv")) ReadTsv(prefix + ".tsv", sourceLanguage, targetLanguage, collector);
            else if (File.Exists(prefix + ".jsonl")) ReadJsonLines(prefix + ".jsonl", sourceLanguage, targetLanguage, collector);
            else throw new AttnScopeException($"corpus folder '{path}' has none of train.{sourceLanguage} + train.{targetLanguage}, train.tsv, train.jsonl");
        }
        else if (File.Exists(path) && HasExtension(path, ".tsv")) ReadTsv(path, sourceLanguage, targetLanguage, collector);
        else if (File.Exists(path) && (HasExtension(path, ".jsonl") || HasExtension(path, ".json"))) ReadJsonLines(path, sourceLanguage, targetLanguage, collector);
        else
        {
            string src = $"{path}.{sourceLanguage}", tgt = $"{path}.{targetLanguage}";
            bool hasSrc = File.Exists(src), hasTgt = File.Exists(tgt);
            if (hasSrc && hasTgt) ReadPlainPair(path, sourceLanguage, targetLanguage, collector);
            else if (hasSrc || hasTgt)
                throw new AttnScopeException($"corpus '{path}': found '{(hasSrc ? src : tgt)}' but not '{(hasSrc ? tgt : src)}'");
            else if (File.Exists(path))
                throw new AttnScopeException($"corpus '{path}': not a .tsv or .jsonl file, and no '{src}' / '{tgt}' beside it");
            else
                throw new AttnScopeException($"corpus not found: '{path}' (give a .tsv or .jsonl file, a folder, or a prefix with '{src}' and '{tgt}')");
        }
        return collector.Result();
    }

    private static bool HasExtension(string path, string ext) => path.EndsWith(ext, StringComparison.OrdinalIgnoreCase);

    private sealed class Collector(int maxWords)
    {
        private readonly List<ParallelPair> _pairs = [];
        private readonly Dictionary<string, int> _skipped = new(StringComparer.Ordinal);
        private readonly List<string> _notes = [];

        public void Skip(string reason, string note, int count = 1)
        {
            int before = _skipped.GetValueOrDefault(reason);
            _skipped[reason] = before + count;
            if (before < NotesPerReason) _notes.Add(note);
        }

        public void Note(string note) => _notes.Add(note);

        public void Add(string where, string source, string target)
        {
            source = source.Trim();
            target = target.Trim();
            if (source.Length == 0 || target.Length == 0)
            {
                Skip(CorpusSkipReason.Empty, $"{where}: {(source.Length == 0 ? "source" : "target")} is empty");
                return;
            }
            int sw = Words.Count(source), tw = Words.Count(target);
            if (sw > maxWords || tw > maxWords)
            {
                Skip(CorpusSkipReason.OverLong, $"{where}: {Math.Max(sw, tw)} words (limit {maxWords})");
                return;
            }
            _pairs.Add(new ParallelPair(source, target));
        }

        public CorpusReadResult Result() => new(_pairs, new CorpusReadReport(_pairs.Count, _skipped, _notes));
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>Longest line read (docs/limits.md): a longer one is skipped as over-long without being held.</summary>
    public const int MaxLineBytes = 1 << 20;

    /// <summary>A line read from a corpus file: its text, or null when it is not valid UTF-8 or longer than <see cref="MaxLineBytes"/>.</summary>
    private readonly record struct Line(string? Text, bool TooLong);

    /// <summary>The lines of a file. Streams the file; a line never takes more than <see cref="MaxLineBytes"/> of memory.</summary>
    private static IEnumerable<Line> Lines(string path)
    {
        FileStream stream;
        try { stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AttnScopeException($"cannot read corpus file '{path}': {e.Message}");
        }
        using (stream)
        {
            var line = new MemoryStream();
            var buffer = new byte[1 << 16];
            bool first = true, tooLong = false;
            int n;
            void Append(int start, int count)
            {
                if (tooLong) return;
                if (line.Length + count > MaxLineBytes) { tooLong = true; line.SetLength(0); return; }
                line.Write(buffer, start, count);
            }
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                int start = 0;
                for (int i = 0; i < n; i++)
                {
                    if (buffer[i] != (byte)'\n') continue;
                    Append(start, i - start);
                    yield return tooLong ? new Line(null, true) : new Line(Decode(line, ref first), false);
                    first = false;
                    tooLong = false;
                    line.SetLength(0);
                    start = i + 1;
                }
                Append(start, n - start);
            }
            if (tooLong) yield return new Line(null, true);
            else if (line.Length > 0) yield return new Line(Decode(line, ref first), false);
        }
    }

    private static string? Decode(MemoryStream line, ref bool first)
    {
        var bytes = line.GetBuffer().AsSpan(0, (int)line.Length);
        if (first && bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) bytes = bytes[3..];
        first = false;
        if (bytes.Length > 0 && bytes[^1] == (byte)'\r') bytes = bytes[..^1];
        try { return StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { return null; }
    }

    private static void ReadPlainPair(string prefix, string src, string tgt, Collector c)
    {
        string srcPath = $"{prefix}.{src}", tgtPath = $"{prefix}.{tgt}";
        using var s = Lines(srcPath).GetEnumerator();
        using var t = Lines(tgtPath).GetEnumerator();
        int lineNo = 0;
        while (true)
        {
            bool hs = s.MoveNext(), ht = t.MoveNext();
            if (!hs && !ht) break;
            lineNo++;
            if (hs != ht)
            {
                int extra = 1;
                var longer = hs ? s : t;
                while (longer.MoveNext()) extra++;
                var (more, fewer) = hs ? (srcPath, tgtPath) : (tgtPath, srcPath);
                c.Skip(CorpusSkipReason.Misaligned,
                    $"'{more}' has {extra} more line(s) than '{fewer}' ({lineNo - 1} lines); the extra lines are skipped — check that the files belong together",
                    extra);
                break;
            }
            var where = $"line {lineNo}";
            if (s.Current.TooLong || t.Current.TooLong)
            {
                c.Skip(CorpusSkipReason.OverLong, $"{where}: the {(s.Current.TooLong ? "source" : "target")} is longer than {MaxLineBytes} bytes");
                continue;
            }
            if (s.Current.Text is null || t.Current.Text is null)
            {
                c.Skip(CorpusSkipReason.InvalidUtf8, $"{where}: the {(s.Current.Text is null ? "source" : "target")} is not valid UTF-8");
                continue;
            }
            c.Add(where, s.Current.Text, t.Current.Text);
        }
    }

    /// <summary>The lines of a one-pair-per-line file, numbered from 1; invalid UTF-8 and empty lines are skipped and counted.</summary>
    private static IEnumerable<(int LineNo, string Where, string Line)> NonEmptyLines(string path, Collector c)
    {
        int lineNo = 0;
        foreach (var line in Lines(path))
        {
            lineNo++;
            var where = $"line {lineNo}";
            if (line.TooLong) { c.Skip(CorpusSkipReason.OverLong, $"{where}: longer than {MaxLineBytes} bytes"); continue; }
            if (line.Text is null) { c.Skip(CorpusSkipReason.InvalidUtf8, $"{where}: not valid UTF-8"); continue; }
            if (line.Text.Trim().Length == 0) { c.Skip(CorpusSkipReason.Empty, $"{where}: empty line"); continue; }
            yield return (lineNo, where, line.Text);
        }
    }

    private static void ReadTsv(string path, string src, string tgt, Collector c)
    {
        foreach (var (lineNo, where, line) in NonEmptyLines(path, c))
        {
            var cols = line.Split('\t');
            if (cols.Length != 2)
            {
                c.Skip(CorpusSkipReason.Misaligned, $"{where}: {cols.Length} tab-separated column(s); a TSV corpus line is source<TAB>target");
                continue;
            }
            if (lineNo == 1 && cols[0].Trim() == src && cols[1].Trim() == tgt)
            {
                c.Note($"{where}: header '{src}<TAB>{tgt}' skipped");
                continue;
            }
            c.Add(where, cols[0], cols[1]);
        }
    }

    private static void ReadJsonLines(string path, string src, string tgt, Collector c)
    {
        foreach (var (lineNo, where, line) in NonEmptyLines(path, c))
        {
            string? s = null, t = null, problem = null;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("translation", out var tr) || tr.ValueKind != JsonValueKind.Object)
                    problem = "no \"translation\" object";
                else if (!tr.TryGetProperty(src, out var se) || se.ValueKind != JsonValueKind.String)
                    problem = $"no \"{src}\" string in \"translation\"";
                else if (!tr.TryGetProperty(tgt, out var te) || te.ValueKind != JsonValueKind.String)
                    problem = $"no \"{tgt}\" string in \"translation\"";
                else
                {
                    s = se.GetString();
                    t = te.GetString();
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
            c.Add(where, s, t);
        }
    }
}
