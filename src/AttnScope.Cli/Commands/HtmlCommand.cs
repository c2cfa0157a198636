using System.CommandLine;
using System.Text;
using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Web.Data;
using AttnScope.Web.Offline;

namespace AttnScope.Cli;

/// <summary><c>attnscope html CAPTURE -o view.html</c>: the interactive viewer as one self-contained, offline page.</summary>
internal static class HtmlCommand
{
    /// <summary>Whether the file is a long capture; anything unreadable is left to the ordinary loader to explain.</summary>
    private static bool IsLong(string path)
    {
        try { return File.Exists(path) && AttnScope.Capture.Long.LongCapture.IsLongCapture(path); }
        catch (Exception) { return false; }
    }

    public static Command Create(CliOutput output)
    {
        var file = new Argument<string>("capture") { Description = "a capture file (.safetensors)" };
        var outPath = new Option<string>("--output", "-o") { Description = "page to write (.html)", Required = true };
        var cmd = new Command("html", "Write the interactive viewer for a capture as one self-contained HTML file (no network, works from file:// and in notebooks).")
        {
            file, outPath,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            var path = r.GetValue(outPath)!;
            // A page saved under an image name (a slip for 'render') would open as a broken image: say so instead.
            if (Path.GetExtension(path).ToLowerInvariant() is not (".html" or ".htm"))
                throw new AttnScopeException($"the page is written as an .html file, not '{Path.GetFileName(path)}' (for an image, use 'attnscope render')");
            AtomicFile.CheckWritable(path);
            var capturePath = r.GetValue(file)!;
            if (IsLong(capturePath))
                throw new AttnScopeException($"'{Path.GetFileName(capturePath)}' is a long capture (attnscope.long/1), which does not fit one page: "
                    + "run 'attnscope serve --captures FOLDER' on its folder and open it from the page's list of long captures (or at /long?name=FILE.safetensors)");
            var cap = AttentionCapture.Load(capturePath);
            var data = new ViewerData(cap, Path.GetFileName(capturePath));
            if (!ViewerBundle.FitsExact(data))
                output.Warn("the capture is large, so the page holds 8-bit attention values (to 1/255 of each row's maximum); 'attnscope serve --captures FOLDER' shows exact values");
            // Streamed into the file section by section: the page is never held in memory whole.
            long bytes = 0;
            AtomicFile.Write(path, s => bytes = OfflinePage.Write(data, s));
            double mb = bytes / 1024.0 / 1024.0;
            if (mb > 100)
                output.Warn($"the page is {mb:0} MB, which browsers open slowly; 'attnscope serve --captures FOLDER' loads one layer at a time instead");
            output.Out.WriteLine($"wrote {path} ({mb:0.0} MB)");
            return 0;
        }));
        return cmd;
    }
}
