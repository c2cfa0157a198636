using System.Text;
using AttnScope.Capture;

namespace AttnScope.Training.Data.Formats;

/// <summary>A line read from a corpus file: its text, or null when it is not valid UTF-8 or longer than <see cref="ParallelCorpusReader.MaxLineBytes"/>.</summary>
internal readonly record struct CorpusLine(string? Text, bool TooLong);

/// <summary>Streams the lines of a UTF-8 corpus file; a line never takes more than <see cref="ParallelCorpusReader.MaxLineBytes"/> of memory.</summary>
internal static class CorpusLines
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>Opens a corpus file for reading, with a clear error when it cannot be.</summary>
    public static FileStream Open(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AttnScopeException($"cannot read corpus file '{path}': {e.Message}");
        }
    }

    /// <summary>The lines of a file ("\n" or "\r\n"; a leading byte-order mark is dropped).</summary>
    public static IEnumerable<CorpusLine> Read(string path)
    {
        using var stream = Open(path);
        var line = new MemoryStream();
        var buffer = new byte[1 << 16];
        bool first = true, tooLong = false;
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            int start = 0;
            for (int i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                Append(line, buffer, start, i - start, ref tooLong);
                yield return tooLong ? new CorpusLine(null, true) : new CorpusLine(Decode(line, ref first), false);
                first = false;
                tooLong = false;
                line.SetLength(0);
                start = i + 1;
            }
            Append(line, buffer, start, n - start, ref tooLong);
        }
        if (tooLong) yield return new CorpusLine(null, true);
        else if (line.Length > 0) yield return new CorpusLine(Decode(line, ref first), false);
    }

    private static void Append(MemoryStream line, byte[] buffer, int start, int count, ref bool tooLong)
    {
        if (tooLong) return;
        if (line.Length + count > ParallelCorpusReader.MaxLineBytes) { tooLong = true; line.SetLength(0); return; }
        line.Write(buffer, start, count);
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

    /// <summary>The lines of a one-pair-per-line file, numbered from 1; invalid UTF-8, over-long and empty lines are skipped and counted.</summary>
    public static IEnumerable<(int LineNo, string Where, string Line)> NonEmpty(string path, CorpusCollector c)
    {
        int lineNo = 0;
        foreach (var line in Read(path))
        {
            lineNo++;
            var where = $"line {lineNo}";
            if (line.TooLong) { c.Skip(CorpusSkipReason.OverLong, $"{where}: longer than {ParallelCorpusReader.MaxLineBytes} bytes"); continue; }
            if (line.Text is null) { c.Skip(CorpusSkipReason.InvalidUtf8, $"{where}: not valid UTF-8"); continue; }
            if (line.Text.Trim().Length == 0) { c.Skip(CorpusSkipReason.Empty, $"{where}: empty line"); continue; }
            yield return (lineNo, where, line.Text);
        }
    }

    /// <summary>Reads a whole (test-set sized) file as UTF-8 after checking its size against <paramref name="limit"/>.</summary>
    public static string ReadAllChecked(string path, long limit)
    {
        long size;
        try { size = new FileInfo(path).Length; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new AttnScopeException($"cannot read corpus file '{path}': {e.Message}"); }
        if (size > limit)
            throw new AttnScopeException($"'{path}' is {size:N0} bytes; test-set files are read whole and may be at most {limit:N0} (split it, or convert it to TSV)");
        using var stream = Open(path);
        var bytes = new byte[size];
        stream.ReadExactly(bytes);
        try { return StrictUtf8.GetString(bytes.AsSpan(bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0)); }
        catch (DecoderFallbackException) { throw new AttnScopeException($"'{path}' is not valid UTF-8 text"); }
    }
}
