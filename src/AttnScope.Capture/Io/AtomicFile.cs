namespace AttnScope.Capture.Io;

/// <summary>
/// Writes a file through a temporary sibling and a rename, so a failed or interrupted write never leaves a
/// half-written output behind (and never clobbers an existing good file).
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        CheckWritable(path);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        var tmp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(fs);
                fs.Flush(true);
            }
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

    /// <summary>Fails now, before any work, if <paramref name="path"/> could not be written: its folder is missing or it is a folder.</summary>
    public static void CheckWritable(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir))
            throw new AttnScopeException($"cannot write '{path}': folder '{dir}' does not exist");
        if (Directory.Exists(full))
            throw new AttnScopeException($"cannot write '{path}': it is a folder");
    }

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    private static void TryDelete(string p)
    {
        try { if (File.Exists(p)) File.Delete(p); } catch { /* best effort */ }
    }
}
