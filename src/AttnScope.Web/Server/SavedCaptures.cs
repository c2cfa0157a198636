using AttnScope.Capture;

namespace AttnScope.Web.Server;

/// <summary>
/// The saved captures the server may open: <c>*.safetensors</c> files directly inside the folder given at start.
/// A request names a file, never a path: separators, "..", rooted names and anything that resolves outside the
/// folder are refused before the file system is touched, and so is a link to a file outside the folder.
/// </summary>
public sealed class SavedCaptures
{
    private readonly string? _dir;

    public SavedCaptures(string? dir)
    {
        if (dir is null) return;
        _dir = Path.GetFullPath(dir);
        if (!Directory.Exists(_dir)) throw new AttnScopeException($"captures folder '{dir}' does not exist");
    }

    public bool Enabled => _dir is not null;

    public IReadOnlyList<string> List() =>
        _dir is null ? [] : Directory.EnumerateFiles(_dir, "*.safetensors", SearchOption.TopDirectoryOnly)
            .Where(InsideFolder).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();

    /// <summary>False for a link whose target lies outside the folder (it would let a request read any file).</summary>
    private bool InsideFolder(string full)
    {
        var info = new FileInfo(full);
        if (info.LinkTarget is null) return true;
        try
        {
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            return target is not null && string.Equals(Path.GetDirectoryName(Path.GetFullPath(target.FullName)), _dir, StringComparison.Ordinal);
        }
        catch (IOException) { return false; }
    }

    public AttentionCapture Open(string name)
    {
        if (_dir is null) throw new HttpError(404, "this server was started without --captures, so it has no saved captures");
        if (string.IsNullOrWhiteSpace(name) || name.Contains('/') || name.Contains('\\') || name.Contains("..")
            || name.Contains('\0') || Path.IsPathRooted(name) || name.Contains(':'))
            throw new HttpError(400, "a capture is named by its file name inside the captures folder; paths are refused");
        var full = Path.GetFullPath(Path.Combine(_dir, name));
        if (!string.Equals(Path.GetDirectoryName(full), _dir, StringComparison.Ordinal))
            throw new HttpError(400, "a capture is named by its file name inside the captures folder; paths are refused");
        if (!name.EndsWith(".safetensors", StringComparison.Ordinal) || !File.Exists(full) || !InsideFolder(full))
            throw new HttpError(404, $"no saved capture '{name}'");
        try
        {
            return AttentionCapture.Load(full);
        }
        catch (AttnScopeException e)
        {
            // The message names the file by its full path; the page gets the name it asked for.
            throw new HttpError(400, e.Message.Replace(full, name, StringComparison.Ordinal));
        }
    }
}
