using System.Net;
using System.Security.Cryptography;
using System.Text;
using AttnScope.Web.Data;

namespace AttnScope.Web.Offline;

/// <summary>
/// <c>attnscope html</c>: one self-contained page — CSS, the viewer's modules joined into one script, and the
/// capture as a base64 bundle — that makes no network request (its Content-Security-Policy forbids any) and works
/// from file://, inside an iframe, or as a notebook's HTML output. The page is written as a stream
/// (<see cref="Write(ViewerData, Stream)"/>): the bundle goes through a base64 encoder into the output section by section, so writing a
/// 250 MB page holds one section in memory, not the page.
/// </summary>
internal static class OfflinePage
{
    /// <summary>The page as a string (small captures, tests, notebooks); <see cref="Write(ViewerData, Stream)"/> streams it.</summary>
    public static string Build(ViewerData data)
    {
        using var ms = new MemoryStream();
        Write(data, ms);
        return Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length);
    }

    /// <summary>The page's closing note: long captures (<c>attnscope.long/1</c>) are never one page; where they open.</summary>
    public const string LongNote = "<p class=\"as-offline-note\" id=\"as-long-note\">This page holds one capture. A long capture "
        + "(<code>attnscope.long/1</code>, made by <code>attnscope capture</code> with <code>--pyramid</code> or <code>--storage</code>) does not fit one page: start "
        + "<code>attnscope serve --captures FOLDER</code> on its folder and open it from the list of long captures there "
        + "(or at <code>/long?name=FILE.safetensors</code>).</p>";

    /// <summary>Writes the page to <paramref name="output"/> (UTF-8) and returns its length in bytes.</summary>
    public static long Write(ViewerData data, Stream output) =>
        Write(data, output, Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)));

    /// <summary>As <see cref="Write(ViewerData, Stream)"/> with a given nonce (tests compare pages byte for byte).</summary>
    internal static long Write(ViewerData data, Stream output, string nonce)
    {
        var css = WebAssets.Text("viewer.css") + "\n" + WebAssets.Text("media.css");
        var script = ScriptBundler.Bundle("main-offline.js", f => WebAssets.Text("js/" + f));
        CheckInlinable(css, "style");
        CheckInlinable(script, "script");
        var sb = new StringBuilder(css.Length + 2048);
        sb.Append("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'nonce-").Append(nonce)
          .Append("'; style-src 'nonce-").Append(nonce).Append("'; img-src data: blob:; connect-src 'none'; base-uri 'none'; form-action 'none'\">\n");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<link rel=\"icon\" href=\"data:,\">\n");
        sb.Append("<title>AttnScope — ").Append(WebUtility.HtmlEncode(data.Title)).Append("</title>\n");
        sb.Append("<style nonce=\"").Append(nonce).Append("\">\n").Append(css).Append("\n</style>\n</head>\n<body data-attnscope-page>\n");
        sb.Append("<div id=\"attnscope-root\" class=\"as-root\"></div>\n");
        sb.Append("<script type=\"application/octet-stream\" class=\"attnscope-data\">");
        long written = WriteText(output, sb.ToString());
        // Base64 of the bundle, straight into the output: the encoder keeps at most a few bytes between sections.
        using (var counter = new CountingStream(output))
        {
            using (var base64 = new CryptoStream(counter, new ToBase64Transform(), CryptoStreamMode.Write, leaveOpen: true))
            using (var buffered = new BufferedStream(base64, 1 << 20))
                ViewerBundle.Write(data, buffered);
            written += counter.Count;
        }
        var tail = new StringBuilder(script.Length + 128);
        tail.Append("</script>\n").Append(LongNote).Append('\n'); // after the data: the script's previous sibling is the viewer root
        tail.Append("<script type=\"module\" nonce=\"").Append(nonce).Append("\">\n").Append(script).Append("\n</script>\n</body>\n</html>\n");
        written += WriteText(output, tail.ToString());
        return written;
    }

    private static long WriteText(Stream output, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        output.Write(bytes);
        return bytes.LongLength;
    }

    /// <summary>Inline code must not close its own element early.</summary>
    private static void CheckInlinable(string code, string element)
    {
        if (code.Contains("</" + element, StringComparison.OrdinalIgnoreCase) || code.Contains("<!--", StringComparison.Ordinal))
            throw new InvalidOperationException($"embedded {element} contains a sequence that would end the <{element}> element");
    }

    /// <summary>Passes writes through to a stream it does not own, counting the bytes.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Count { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Count; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) { inner.Write(buffer, offset, count); Count += count; }
        public override void Write(ReadOnlySpan<byte> buffer) { inner.Write(buffer); Count += buffer.Length; }
    }
}
