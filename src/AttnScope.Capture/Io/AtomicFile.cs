namespace AttnScope.Capture.Io;

/// <summary>
/// Writes a file through a temporary sibling and a rename, so a failed or interrupted write never leaves a
/// half-written output behind (and never clobbers an existing good file). Only regular files and absent paths are
/// replaced this way: a character device or a named pipe (<c>-o /dev/null</c>, <c>-o /dev/stdout</c>) is written
/// straight, since renaming onto it would replace the device node itself; anything else is refused.
/// </summary>
internal static class AtomicFile
{
    /// <summary>The suffix of the temporary files this class writes (<c>.NAME.XXXXXXXX.tmp</c> beside the target).</summary>
    public const string TemporarySuffix = ".tmp";

    /// <summary>Writes <paramref name="path"/> with what <paramref name="write"/> puts into the stream, atomically.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var kind = CheckWritable(path);
        if (kind is FileKind.CharacterDevice or FileKind.Pipe)
        {
            WriteStraight(path, write);
            return;
        }
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        var tmp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + TemporarySuffix);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(fs);
                fs.Flush(true);
            }
            // Checked again just before the rename: the path may have become a device or a folder meanwhile.
            if (FileKinds.Of(full) is not (FileKind.Regular or FileKind.Absent))
                throw new AttnScopeException($"cannot write '{path}': it stopped being a regular file while it was written");
            File.Move(tmp, full, overwrite: true);
        }
        catch (UnauthorizedAccessException e)
        {
            TryDelete(tmp);
            throw new AttnScopeException($"cannot write '{path}': permission denied", e);
        }
        catch (IOException e)
        {
            TryDelete(tmp);
            throw new AttnScopeException($"cannot write '{path}': {e.Message}", e);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    private static void WriteStraight(string path, Action<Stream> write)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            write(fs);
            fs.Flush();
        }
        catch (UnauthorizedAccessException e)
        {
            throw new AttnScopeException($"cannot write '{path}': permission denied", e);
        }
        catch (IOException e)
        {
            throw new AttnScopeException($"cannot write '{path}': {e.Message}", e);
        }
    }

    /// <summary>
    /// Fails now, before any work, if <paramref name="path"/> could not be written: it is empty, its folder is missing,
    /// it is a folder, or it is neither a regular file nor a device or pipe that can be written straight. Returns what
    /// the path names now.
    /// </summary>
    public static FileKind CheckWritable(string path)
    {
        if (string.IsNullOrEmpty(path)) throw new AttnScopeException("no output file given (the path is empty)");
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new AttnScopeException($"cannot write '{path}': {e.Message}");
        }
        var dir = Path.GetDirectoryName(full);
        if (dir is null || Path.GetFileName(full).Length == 0)
            throw new AttnScopeException($"cannot write '{path}': it names a folder, not a file");
        var kind = FileKinds.Of(full);
        if (kind == FileKind.Folder)
            throw new AttnScopeException($"cannot write '{path}': it is a folder");
        if (kind == FileKind.Other)
            throw new AttnScopeException($"cannot write '{path}': it is not a regular file (a block device or a socket), and AttnScope writes only files, character devices and pipes");
        if (kind is FileKind.CharacterDevice or FileKind.Pipe) return kind;
        if (!Directory.Exists(dir))
            throw new AttnScopeException($"cannot write '{path}': folder '{dir}' does not exist");
        return kind;
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    /// <summary>True when <paramref name="fileName"/> (a name, not a path) is one of this class's temporary files.</summary>
    public static bool IsTemporaryName(string fileName) =>
        fileName.Length > 1 + 1 + 8 + TemporarySuffix.Length && fileName[0] == '.' && fileName.EndsWith(TemporarySuffix, StringComparison.Ordinal) &&
        fileName[^(TemporarySuffix.Length + 9)] == '.' &&
        fileName.AsSpan(fileName.Length - TemporarySuffix.Length - 8, 8).ContainsAnyExcept("0123456789abcdef") == false;

    /// <summary>
    /// Deletes the temporary files a killed write left in <paramref name="folder"/> (not in its sub-folders); returns
    /// how many were removed. Only call this where no other process is writing into the folder.
    /// </summary>
    public static int CleanTemporaries(string folder)
    {
        if (!Directory.Exists(folder)) return 0;
        int removed = 0;
        foreach (var f in Directory.EnumerateFiles(folder, "." + "*" + TemporarySuffix))
        {
            if (!IsTemporaryName(Path.GetFileName(f)) || FileKinds.Of(f) != FileKind.Regular) continue;
            try { File.Delete(f); removed++; } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* left for next time */ }
        }
        return removed;
    }

    private static void TryDelete(string p)
    {
        try { if (File.Exists(p)) File.Delete(p); } catch { /* best effort */ }
    }
}
