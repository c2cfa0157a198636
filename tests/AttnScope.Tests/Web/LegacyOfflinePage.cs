using System.Buffers.Binary;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AttnScope.Web.Data;
using AttnScope.Web.Offline;

namespace AttnScope.Tests.Web;

/// <summary>
/// The offline page as it was written before it was streamed (issue 14): the whole bundle in one array, its base64
/// in one string, the page in a StringBuilder. Kept as the reference the streamed page must equal byte for byte.
/// </summary>
internal static class LegacyOfflinePage
{
    public static string Build(ViewerData data, string nonce)
    {
        var css = WebAssets.Text("viewer.css") + "\n" + WebAssets.Text("media.css"); // media.css (Audio and Image–text views) added after the page was first streamed
        var script = ScriptBundler.Bundle("main-offline.js", f => WebAssets.Text("js/" + f));
        var blob = Convert.ToBase64String(Bundle(data));
        var sb = new StringBuilder(blob.Length + script.Length + css.Length + 2048);
        sb.Append("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'nonce-").Append(nonce)
          .Append("'; style-src 'nonce-").Append(nonce).Append("'; img-src data: blob:; connect-src 'none'; base-uri 'none'; form-action 'none'\">\n");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<link rel=\"icon\" href=\"data:,\">\n");
        sb.Append("<title>AttnScope — ").Append(WebUtility.HtmlEncode(data.Title)).Append("</title>\n");
        sb.Append("<style nonce=\"").Append(nonce).Append("\">\n").Append(css).Append("\n</style>\n</head>\n<body data-attnscope-page>\n");
        sb.Append("<div id=\"attnscope-root\" class=\"as-root\"></div>\n");
        sb.Append("<script type=\"application/octet-stream\" class=\"attnscope-data\">").Append(blob).Append("</script>\n").Append(OfflinePage.LongNote).Append('\n'); // the page's note on long captures, added after the page was first streamed
        sb.Append("<script type=\"module\" nonce=\"").Append(nonce).Append("\">\n").Append(script).Append("\n</script>\n</body>\n</html>\n");
        return sb.ToString();
    }

    public static byte[] Bundle(ViewerData data)
    {
        bool exact = ViewerBundle.FitsExact(data), norm = ViewerBundle.FitsNorm(data);
        var sections = data.SectionNames(exact, norm).Select(n => (Name: n, Bytes: data.Section(n))).ToList();
        var table = new JsonObject();
        var header = new JsonObject { ["meta"] = data.Meta(exact ? "inline" : "none", norm), ["sections"] = table };
        long offset = 0;
        foreach (var (name, bytes) in sections)
        {
            table[name] = new JsonArray(offset, bytes.LongLength);
            offset = Align(offset + bytes.LongLength);
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        long dataStart = Align(8 + headerBytes.LongLength);
        var blob = new byte[dataStart + offset];
        ViewerBundle.Magic.CopyTo(blob, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(4), (uint)headerBytes.Length);
        headerBytes.CopyTo(blob, 8);
        long at = dataStart;
        foreach (var (_, bytes) in sections)
        {
            bytes.CopyTo(blob, at);
            at = Align(at + bytes.LongLength);
        }
        return blob;
    }

    private static long Align(long n) => (n + 7) & ~7L;
}
