using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using Microsoft.Win32.SafeHandles;

namespace AttnScope.Web.Server;

/// <summary>
/// The saved captures the server may open: <c>*.safetensors</c> files directly inside the folder given at start.
/// A request names a file, never a path: separators, "..", rooted names and anything that resolves outside the
/// folder are refused before the file system is touched. The file is opened once; the path the opened handle
/// really refers to (links resolved by the kernel) must be a <c>*.safetensors</c> file directly inside the folder,
/// and the capture is read from that same handle, so swapping the name for a link between the check and the read
/// cannot make the server read a file outside the folder. Sizes are checked before anything is allocated: the file
/// against <see cref="ViewerServerOptions.MaxSavedCaptureBytes"/>, the layers, heads and tokens its header declares
/// against the server's other limits.
/// </summary>
internal sealed class SavedCaptures
{
    private readonly string? _dir;
    private readonly string? _realDir;
    private readonly ViewerServerOptions _limits;
    private readonly SavedCaptureCache _cache;

    /// <param name="dir">The captures folder; null: the server has no saved captures.</param>
    /// <param name="limits">The size limits (the defaults of <see cref="ViewerServerOptions"/> when null).</param>
    public SavedCaptures(string? dir, ViewerServerOptions? limits = null)
    {
        _limits = limits ?? new ViewerServerOptions();
        _cache = new SavedCaptureCache(_limits.MaxCachedSavedBytes);
        if (dir is null) return;
        _dir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        if (!Directory.Exists(_dir)) throw new AttnScopeException($"captures folder '{dir}' does not exist");
        _realDir = RealPath.Of(_dir);
    }

    /// <summary>Whether the server was given a captures folder.</summary>
    public bool Enabled => _dir is not null;

    /// <summary>The captures read lately (see <see cref="ViewerServerOptions.MaxCachedSavedBytes"/>).</summary>
    public SavedCaptureCache Cache => _cache;

    /// <summary>Files read from disk so far (a capture served from the cache is not read).</summary>
    public int Reads => Volatile.Read(ref _reads);
    private int _reads;

    /// <summary>Test hook: runs after the file is opened and checked, before it is read.</summary>
    internal Action<string>? AfterOpen { get; set; }

    /// <summary>
    /// The names of the captures in the folder split by kind: long captures (<c>attnscope.long/1</c>, opened by the
    /// <c>/long</c> view; the header alone is read) and the others (opened by the main viewer), each in ordinal order.
    /// A file whose header cannot be read is listed with the others (opening it then says what is wrong).
    /// </summary>
    public (IReadOnlyList<string> Captures, IReadOnlyList<string> Long) ListByKind()
    {
        var captures = new List<string>();
        var longs = new List<string>();
        foreach (var name in List())
        {
            bool isLong;
            try { isLong = AttnScope.Capture.Long.LongCapture.IsLongCapture(Path.Combine(_dir!, name)); }
            catch (Exception) { isLong = false; } // unreadable: listed as an ordinary capture, whose opening explains
            (isLong ? longs : captures).Add(name);
        }
        return (captures, longs);
    }

    /// <summary>The names of the captures a page may open, in ordinal order.</summary>
    public IReadOnlyList<string> List() =>
        _dir is null ? [] : Directory.EnumerateFiles(_dir, "*.safetensors", SearchOption.TopDirectoryOnly)
            .Where(InsideFolder).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();

    /// <summary>False for a link whose target is not a capture directly inside the folder.</summary>
    private bool InsideFolder(string full)
    {
        var info = new FileInfo(full);
        if (info.LinkTarget is null) return true;
        try
        {
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            return target is not null && IsCaptureInFolder(RealPath.Of(target.FullName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    private bool IsCaptureInFolder(string real) =>
        string.Equals(Path.GetDirectoryName(real), _realDir, StringComparison.Ordinal)
        && real.EndsWith(".safetensors", StringComparison.Ordinal);

    /// <summary>Opens the capture of that file name; every refusal is an <see cref="HttpError"/> naming only the file name.</summary>
    public AttentionCapture Open(string name)
    {
        if (_dir is null) throw new HttpError(404, "this server was started without --captures, so it has no saved captures");
        if (string.IsNullOrWhiteSpace(name) || name.Contains('/') || name.Contains('\\') || name.Contains("..")
            || name.Contains('\0') || Path.IsPathRooted(name) || name.Contains(':'))
            throw new HttpError(400, "a capture is named by its file name inside the captures folder; paths are refused");
        var full = Path.GetFullPath(Path.Combine(_dir, name));
        if (!string.Equals(Path.GetDirectoryName(full), _dir, StringComparison.Ordinal))
            throw new HttpError(400, "a capture is named by its file name inside the captures folder; paths are refused");
        var missing = new HttpError(404, $"no saved capture '{name}'");
        if (!name.EndsWith(".safetensors", StringComparison.Ordinal)) throw missing;

        SafeFileHandle handle;
        try { handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.Read); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw missing; }
        using (handle)
        {
            // Where the opened file really is: the kernel's answer for this handle where it gives one, else
            // (no /proc) the link check on the name, which a swap after it could still defeat.
            var real = RealPath.OfHandle(handle);
            if (real is null ? !InsideFolder(full) : !IsCaptureInFolder(real)) throw missing;
            AfterOpen?.Invoke(full);
            // The same version of the same file (real path, last write, length, all from the open handle) is not read twice.
            var key = CacheKey(handle, real ?? full, name);
            if (_cache.TryGet(key, out var cached)) return cached;
            var bytes = ReadAll(handle, name);
            Interlocked.Increment(ref _reads);
            try
            {
                CheckDeclaredSizes(SafeTensorsFile.Parse(bytes, name), name);
                var capture = AttentionCapture.FromBytes(bytes, name);
                _cache.Add(key, capture);
                return capture;
            }
            catch (AttnScopeException e) { throw new HttpError(400, e.Message); }
            catch (Exception e) when (e is not (HttpError or OutOfMemoryException))
            {
                throw new HttpError(400, $"'{name}' is not a readable capture ({e.Message})");
            }
        }
    }

    private static SavedCaptureCache.Key CacheKey(SafeFileHandle handle, string path, string name)
    {
        try { return new SavedCaptureCache.Key(path, File.GetLastWriteTimeUtc(handle).Ticks, RandomAccess.GetLength(handle)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new HttpError(404, $"no saved capture '{name}'");
        }
    }

    private byte[] ReadAll(SafeFileHandle handle, string name)
    {
        long length;
        try { length = RandomAccess.GetLength(handle); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new HttpError(404, $"no saved capture '{name}'");
        }
        if (length > _limits.MaxSavedCaptureBytes)
            throw new HttpError(413, $"'{name}' is {CaptureStore.Size(length)}; this server opens captures of at most {CaptureStore.Size(_limits.MaxSavedCaptureBytes)}");
        var bytes = new byte[length];
        int at = 0;
        while (at < bytes.Length)
        {
            int n = RandomAccess.Read(handle, bytes.AsSpan(at), at);
            if (n == 0) throw new HttpError(400, $"'{name}' changed while it was read (it is shorter than it was)");
            at += n;
        }
        return bytes;
    }

    /// <summary>Refuses (413) a capture whose header declares more layers, heads or tokens than the server opens,
    /// before the capture's own structures (one entry per layer and head) are built.</summary>
    private void CheckDeclaredSizes(SafeTensorsFile file, string name)
    {
        foreach (var entry in file.Entries.Values)
        {
            var shape = entry.Shape;
            bool stackPart = !entry.Name.StartsWith(CaptureAnalysis.TensorPrefix, StringComparison.Ordinal);
            if (stackPart && shape.Length == 4)
            {
                Limit(shape[0], _limits.MaxLayers, "layers");
                Limit(shape[1], _limits.MaxHeads, "heads");
                Limit(shape[2], _limits.MaxCaptureTokens, "tokens");
                if (entry.Name.EndsWith(".attention", StringComparison.Ordinal) || entry.Name.EndsWith(".scores", StringComparison.Ordinal))
                    Limit(shape[3], _limits.MaxCaptureTokens, "tokens");
            }
            else
            {
                foreach (var d in shape) Limit(d, _limits.MaxCaptureTokens, "entries along one dimension");
            }

            void Limit(int value, int max, string what)
            {
                if (value > max)
                    throw new HttpError(413, $"'{name}' declares {value} {what} in '{entry.Name}'; this server opens captures of at most {max}");
            }
        }
    }
}
