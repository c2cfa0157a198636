using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace AttnScope.Web.Server;

/// <summary>
/// What keeps other web pages from using the server through a visitor's browser, checked before any route:
/// <list type="bullet">
/// <item>the Host header must name the server (a loopback name, the <c>--host</c> address, or any IP address when it
/// listens on all addresses) with its port, so DNS rebinding cannot reach it under another name (403);</item>
/// <item>a request carrying an Origin must come from the page's own origin, and an API request marked by the
/// browser as cross-site or same-site must not be answered (403); no CORS header is ever sent;</item>
/// <item>a POST must be <c>Content-Type: application/json</c> (415), which a cross-origin page cannot send without a
/// preflight the server never grants.</item>
/// </list>
/// </summary>
internal sealed class RequestGuard
{
    private readonly HashSet<string> _names;
    private readonly int _port;
    private readonly bool _anyAddress;

    /// <param name="names">Host names (IPv6 addresses in brackets) the server answers to.</param>
    /// <param name="port">The port it listens on.</param>
    /// <param name="anyAddress">Listening on every address: any IP address is a name of the server.</param>
    public RequestGuard(IEnumerable<string> names, int port, bool anyAddress)
    {
        _names = new HashSet<string>(names, StringComparer.OrdinalIgnoreCase);
        _port = port;
        _anyAddress = anyAddress;
    }

    /// <summary>The names a server listening on <paramref name="address"/> (asked for as <paramref name="host"/>) answers to.</summary>
    public static RequestGuard For(string host, IPAddress address, int port)
    {
        var names = new List<string> { "localhost", "127.0.0.1", "[::1]", UriHost(address) };
        if (IPAddress.TryParse(host, out var given)) names.Add(UriHost(given));
        else names.Add(host);
        return new RequestGuard(names, port, address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any));
    }

    private static string UriHost(IPAddress ip) =>
        ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();

    /// <summary>Throws an <see cref="HttpError"/> for a request the server must not answer.</summary>
    public void Check(HttpRequest request)
    {
        var host = request.Headers.Host.ToString();
        if (!HostAllowed(host))
            throw new HttpError(403, $"this server does not answer to the host name '{Shorten(host)}'; open it as http://127.0.0.1:{_port}/ " +
                                     "(or the address it listens on)");
        var origin = request.Headers.Origin;
        if (origin.Count > 1 || (origin.Count == 1 && !string.Equals(origin[0], "http://" + host, StringComparison.OrdinalIgnoreCase)))
            throw new HttpError(403, $"requests from other pages (origin '{Shorten(origin.ToString())}') are refused");
        if (request.Path.StartsWithSegments("/api") && request.Headers.TryGetValue("Sec-Fetch-Site", out var site)
            && site.ToString() is not ("same-origin" or "none"))
            throw new HttpError(403, $"requests from other pages (Sec-Fetch-Site '{Shorten(site.ToString())}') are refused");
        if (HttpMethods.IsPost(request.Method) && !IsJson(request.ContentType))
            throw new HttpError(415, "send the request body as JSON with 'Content-Type: application/json'");
    }

    private bool HostAllowed(string host)
    {
        string name;
        string? port = null;
        if (host.StartsWith('['))
        {
            int close = host.IndexOf(']');
            if (close < 0) return false;
            name = host[..(close + 1)];
            var rest = host[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':') return false;
                port = rest[1..];
            }
        }
        else
        {
            int colon = host.IndexOf(':');
            if (colon >= 0 && host.IndexOf(':', colon + 1) >= 0) return false;
            name = colon < 0 ? host : host[..colon];
            port = colon < 0 ? null : host[(colon + 1)..];
        }
        if (port is null ? _port != 80
            : port.Length is 0 or > 5 || !port.All(char.IsAsciiDigit) || int.Parse(port) != _port)
            return false;
        if (_names.Contains(name)) return true;
        return _anyAddress && IPAddress.TryParse(name.Trim('[', ']'), out _) && name.Length > 0;
    }

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        && (!media.Charset.HasValue || media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    private static string Shorten(string s) => s.Length <= 100 ? s : s[..100] + "…";
}
