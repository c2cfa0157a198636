using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace AttnScope.Web.Offline;

/// <summary>
/// <c>attnscope corpus view</c>: one self-contained page (its own script and CSS from assets/corpus/, the data inline,
/// no network request) with the query/key scatter of a head; clicking a point opens its sentence's attention.
/// </summary>
internal static class CorpusPage
{
    /// <summary>Builds the page around the data of <c>HeadEmbedding.ToJson</c>.</summary>
    public static string Build(JsonObject data, string title)
    {
        var nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var css = WebAssets.Text("corpus/corpus-view.css");
        // The scatter is the script shared with the /corpus page of the server; the page's own script follows it.
        var script = WebAssets.Text("corpus/scatter.js") + "\n" + WebAssets.Text("corpus/corpus-view.js");
        // The default JSON encoder writes <, > and & as \u escapes, so the data cannot end its element.
        var json = data.ToJsonString();
        foreach (var (code, element) in new[] { (css, "style"), (script, "script"), (json, "script") })
            if (code.Contains("</" + element, StringComparison.OrdinalIgnoreCase) || code.Contains("<!--", StringComparison.Ordinal))
                throw new InvalidOperationException($"embedded {element} contains a sequence that would end the <{element}> element");
        var sb = new StringBuilder(json.Length + script.Length + css.Length + 2048);
        sb.Append("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'nonce-").Append(nonce)
          .Append("'; style-src 'nonce-").Append(nonce).Append("'; img-src data: blob:; connect-src 'none'; base-uri 'none'; form-action 'none'\">\n");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<link rel=\"icon\" href=\"data:,\">\n");
        sb.Append("<title>AttnScope corpus — ").Append(WebUtility.HtmlEncode(title)).Append("</title>\n");
        sb.Append("<style nonce=\"").Append(nonce).Append("\">\n").Append(css).Append("\n</style>\n</head>\n<body>\n");
        sb.Append("<div id=\"corpus-root\" class=\"cv-root\"></div>\n");
        sb.Append("<script type=\"application/json\" id=\"corpus-data\">").Append(json).Append("</script>\n");
        sb.Append("<script nonce=\"").Append(nonce).Append("\">\n").Append(script).Append("\n</script>\n</body>\n</html>\n");
        return sb.ToString();
    }
}
