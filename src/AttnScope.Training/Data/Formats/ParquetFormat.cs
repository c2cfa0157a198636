using AttnScope.Capture;
using Parquet;
using Parquet.Schema;

namespace AttnScope.Training.Data.Formats;

/// <summary>
/// The Hugging Face datasets layout: Parquet shards (<c>de-en/train-00000-of-00003.parquet</c>, ...) whose rows hold
/// a <c>translation</c> struct with one string per language, or two top-level string columns named by the language
/// codes. Read one row group at a time through Parquet.Net, so a shard never sits in memory whole; a row group's row
/// count is checked against <see cref="MaxRowGroupRows"/> before its columns are allocated.
/// </summary>
internal static class ParquetFormat
{
    /// <summary>Most rows in one row group (HF shards use row groups of about a thousand to a hundred thousand).</summary>
    public const long MaxRowGroupRows = 4_000_000;

    /// <summary>True when the file starts with the Parquet magic bytes.</summary>
    public static bool LooksLikeParquet(string path)
    {
        try
        {
            using var s = File.OpenRead(path);
            Span<byte> magic = stackalloc byte[4];
            return s.Read(magic) == 4 && magic.SequenceEqual("PAR1"u8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>The shards to read for a folder: train-*.parquet when there are any, else every .parquet file; sorted by name.</summary>
    public static List<string> Shards(string folder)
    {
        var all = Directory.EnumerateFiles(folder, "*.parquet").Order(StringComparer.Ordinal).ToList();
        var train = all.Where(f => Path.GetFileName(f).StartsWith("train", StringComparison.OrdinalIgnoreCase)).ToList();
        return train.Count > 0 ? train : all;
    }

    public static IEnumerable<ParallelPair> Read(IReadOnlyList<string> shards, CorpusCollector c)
    {
        foreach (var shard in shards)
            foreach (var pair in ReadShard(shard, c))
                yield return pair;
    }

    private static T Sync<T>(string path, Func<Task<T>> work)
    {
        try { return work().GetAwaiter().GetResult(); }
        catch (AttnScopeException) { throw; }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new AttnScopeException($"'{path}' is not a readable Parquet file: {e.Message.Split('\n')[0]}");
        }
    }

    private static IEnumerable<ParallelPair> ReadShard(string path, CorpusCollector c)
    {
        string src = c.SourceLanguage, tgt = c.TargetLanguage;
        using var stream = CorpusLines.Open(path);
        if (stream.Length < 12 || !LooksLikeParquet(path))
            throw new AttnScopeException($"'{path}' is not a Parquet file (it does not start with PAR1)");
        var reader = Sync(path, () => ParquetReader.CreateAsync(stream, leaveStreamOpen: true));
        try
        {
            var (sf, tf, layout) = Columns(path, reader.Schema, src, tgt);
            long row = 0;
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                long rows = group.RowCount;
                if (rows < 0 || rows > MaxRowGroupRows)
                    throw new AttnScopeException($"'{path}': row group {g} declares {rows:N0} rows; at most {MaxRowGroupRows:N0} are read in one group");
                var sources = ReadStrings(path, group, sf, (int)rows);
                var targets = ReadStrings(path, group, tf, (int)rows);
                for (long i = 0; i < rows; i++, row++)
                {
                    var where = $"{Path.GetFileName(path)} row {row + 1}";
                    if (sources[i] is not { } s || targets[i] is not { } t)
                    {
                        c.Skip(CorpusSkipReason.Malformed, $"{where}: the {(sources[i] is null ? src : tgt)} side of {layout} is null");
                        continue;
                    }
                    if (c.Accept(where, s, t) is { } pair) yield return pair;
                }
            }
        }
        finally { reader.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }

    /// <summary>One string per row (null where the row has none): the values come packed, and a row has one exactly
    /// when its definition level is the field's maximum.</summary>
    private static string?[] ReadStrings(string path, ParquetRowGroupReader group, DataField field, int rows)
    {
        var values = new ReadOnlyMemory<char>[rows];
        var levels = new int[rows];
        Sync(path, async () => { await group.ReadRawAsync<ReadOnlyMemory<char>>(field, values.AsMemory(), levels.AsMemory(), null); return 0; });
        var strings = new string?[rows];
        int next = 0;
        for (int i = 0; i < rows; i++)
            if (levels[i] == field.MaxDefinitionLevel) strings[i] = values[next++].ToString();
        return strings;
    }

    /// <summary>The source and target string columns: translation.{src}/{tgt}, or top-level {src}/{tgt}.</summary>
    private static (DataField Source, DataField Target, string Layout) Columns(string path, ParquetSchema schema, string src, string tgt)
    {
        var fields = schema.GetDataFields();
        DataField? Find(params string[] parts) => fields.FirstOrDefault(f =>
            f.Path.Length == parts.Length && Enumerable.Range(0, parts.Length).All(i => string.Equals(f.Path[i], parts[i], StringComparison.Ordinal)));
        var (s, t, layout) = (Find("translation", src), Find("translation", tgt), "the translation column");
        if (s is null || t is null) (s, t, layout) = (Find(src), Find(tgt), $"columns {src}/{tgt}");
        if (s is null || t is null)
            throw new AttnScopeException($"'{path}' has no 'translation' struct with '{src}' and '{tgt}' strings and no '{src}' and '{tgt}' columns " +
                                         $"(its columns: {string.Join(", ", fields.Select(f => string.Join('.', f.Path.ToList())))})");
        foreach (var f in new[] { s, t })
            if ((f.ClrType != typeof(string) && f.ClrType != typeof(ReadOnlyMemory<char>)) || f.IsArray)
                throw new AttnScopeException($"'{path}': column '{string.Join('.', f.Path.ToList())}' holds {(f.IsArray ? "lists" : f.ClrType.Name)}, not strings");
        return (s, t, layout);
    }
}
