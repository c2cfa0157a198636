using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Web.Data;
using AttnScope.Web.Offline;

namespace AttnScope;

/// <summary>The interactive viewer as one self-contained HTML file (no server, no network): head, model, matrix and Q·K views and any analyses the capture holds.</summary>
public static class OfflineViewer
{
    /// <summary>
    /// Writes the offline viewer page for <paramref name="capture"/> to <paramref name="path"/> (an <c>.html</c>
    /// file, written whole or not at all). A large capture is stored in the page as 8-bit values.
    /// </summary>
    /// <param name="capture">The capture.</param>
    /// <param name="path">The <c>.html</c> file to write.</param>
    /// <param name="title">The page's title (shown as text, never as HTML); defaults to the file name.</param>
    /// <returns>The page's size in bytes.</returns>
    /// <exception cref="AttnScopeException">The file name does not end in <c>.html</c> or <c>.htm</c>.</exception>
    public static long Write(AttentionCapture capture, string path, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Path.GetExtension(path).ToLowerInvariant() is not (".html" or ".htm"))
            throw new AttnScopeException($"the page is written as an .html file, not '{Path.GetFileName(path)}'");
        var data = new ViewerData(capture, title ?? Path.GetFileNameWithoutExtension(path));
        long bytes = 0;
        AtomicFile.Write(path, s => bytes = OfflinePage.Write(data, s));
        return bytes;
    }
}
