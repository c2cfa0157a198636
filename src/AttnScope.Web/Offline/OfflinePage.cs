using System.Net;
using System.Security.Cryptography;
using System.Text;
using AttnScope.Web.Data;

namespace AttnScope.Web.Offline;

/// <summary>
/// <c>attnscope html</c>: one self-contained page — CSS, the viewer's modules joined into one script, and the
/// capture as a base64 bundle — that makes no network request (its Content-Security-Policy forbids any) and works
/// from file://, inside an iframe, or as a notebook's HTML output.
/// </summary>
public static class OfflinePage
{
    public static string Build(ViewerData data)
    {
        var nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var css = WebAssets.Text("viewer.css");
        var script = ScriptBundler.Bundle("main-offline.js", f => WebAssets.Text("js/" + f));
        CheckInlinable(css, "style");
        CheckInlinable(script, "script");
        var blob = Convert.ToBase64String(ViewerBundle.Build(data));
        var sb = new StringBuilder(blob.Length + script.Length + css.Length + 2048);
        sb.Append("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'nonce-").Append(nonce)
          .Append("'; style-src 'nonce-").Append(nonce).Append("'; img-src data: blob:; connect-src 'none'; base-uri 'none'; form-action 'none'\">\n");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<link rel=\"icon\" href=\"data:,\">\n");
        sb.Append("<title>AttnScope — ").Append(WebUtility.HtmlEncode(data.Title)).Append("</title>\n");
        sb.Append("<style nonce=\"").Append(nonce).Append("\">\n").Append(css).Append("\n</style>\n</head>\n<body data-attnscope-page>\n");
        sb.Append("<div id=\"attnscope-root\" class=\"as-root\"></div>\n");
        sb.Append("<script type=\"application/octet-stream\" class=\"attnscope-data\">").Append(blob).Append("</script>\n");
        sb.Append("<script type=\"module\" nonce=\"").Append(nonce).Append("\">\n").Append(script).Append("\n</script>\n</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>Inline code must not close its own element early.</summary>
    private static void CheckInlinable(string code, string element)
    {
        if (code.Contains("</" + element, StringComparison.OrdinalIgnoreCase) || code.Contains("<!--", StringComparison.Ordinal))
            throw new InvalidOperationException($"embedded {element} contains a sequence that would end the <{element}> element");
    }
}
