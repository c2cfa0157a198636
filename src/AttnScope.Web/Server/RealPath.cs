using Microsoft.Win32.SafeHandles;

namespace AttnScope.Web.Server;

/// <summary>Paths with every link resolved: of a name (component by component) and of an open file handle.</summary>
internal static class RealPath
{
    private const int MaxLinks = 40;

    /// <summary>The path of <paramref name="path"/> with each link along it resolved (a missing tail is kept as given).</summary>
    public static string Of(string path)
    {
        int links = 0;
        return Resolve(Path.GetFullPath(path), ref links);
    }

    private static string Resolve(string full, ref int links)
    {
        var root = Path.GetPathRoot(full) ?? "/";
        var current = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            FileSystemInfo info = new FileInfo(next);
            string? target;
            try { target = info.LinkTarget; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { target = null; }
            if (target is not null)
            {
                if (++links > MaxLinks) throw new IOException($"too many levels of links at '{next}'");
                next = Resolve(Path.GetFullPath(target, current), ref links);
            }
            current = next;
        }
        return current;
    }

    /// <summary>
    /// Where an open file really is, as the kernel sees it (Linux: the link /proc/self/fd/N); null where the system
    /// does not say.
    /// </summary>
    public static string? OfHandle(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux()) return null;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var fd = handle.DangerousGetHandle().ToInt64();
            var link = new FileInfo($"/proc/self/fd/{fd}");
            return link.LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }
}
