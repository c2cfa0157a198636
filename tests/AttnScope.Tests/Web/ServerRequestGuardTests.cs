using System.Net;
using System.Text.Json.Nodes;
using AttnScope.Web.Server;
using static AttnScope.Tests.Web.SyntheticServer;

namespace AttnScope.Tests.Web;

/// <summary>
/// Another web page must not be able to use the server through a visitor's browser: requests under a host name the
/// server does not listen on (DNS rebinding), from another origin, marked cross-site by the browser, or POSTs that are
/// not JSON (what a form or a simple fetch can send without a preflight) are refused with a JSON error, and no CORS
/// header is ever sent.
/// </summary>
public sealed class ServerRequestGuardTests
{
    private static async Task<(HttpStatusCode Status, string Error, HttpResponseMessage Res)> SendAsync(HttpClient http, HttpRequestMessage req)
    {
        var res = await http.SendAsync(req);
        var text = await res.Content.ReadAsStringAsync();
        var error = res.IsSuccessStatusCode ? "" : (string?)JsonNode.Parse(text)!["error"] ?? "";
        return (res.StatusCode, error, res);
    }

    [Theory]
    [InlineData("evil.example:{port}")]
    [InlineData("evil.example")]
    [InlineData("127.0.0.1.evil.example:{port}")]
    [InlineData("127.0.0.1:{other}")]
    [InlineData("localhost")]
    [InlineData("127.1:{port}")]
    public async Task A_host_name_the_server_does_not_listen_on_is_refused(string host)
    {
        await using var server = await StartAsync();
        using var http = new HttpClient { BaseAddress = server.Address };
        int port = server.Address.Port;
        foreach (var path in new[] { "/", "/api/info", "/api/saved" })
        {
            var req = new HttpRequestMessage(HttpMethod.Get, path);
            req.Headers.Host = host.Replace("{port}", port.ToString()).Replace("{other}", (port == 1 ? 2 : port - 1).ToString());
            var (status, error, res) = await SendAsync(http, req);
            Assert.Equal(HttpStatusCode.Forbidden, status);
            Assert.Contains("host name", error);
            Assert.Empty(MissingSecurityHeaders(res));
        }
        // The same request with the server's own names is answered.
        foreach (var name in new[] { "127.0.0.1", "localhost", "LOCALHOST", "[::1]" })
        {
            var req = new HttpRequestMessage(HttpMethod.Get, "/api/info");
            req.Headers.Host = $"{name}:{port}";
            var (status, _, _) = await SendAsync(http, req);
            Assert.Equal(HttpStatusCode.OK, status);
        }
    }

    [Fact]
    public async Task A_server_listening_on_every_address_answers_ip_addresses_but_not_other_names()
    {
        await using var server = await StartAsync(new ViewerServerOptions { Host = "0.0.0.0", AllowRemote = true });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Address.Port}/") };
        foreach (var (host, ok) in new[] { ("192.0.2.7", true), ("0.0.0.0", true), ("attacker.example", false) })
        {
            var req = new HttpRequestMessage(HttpMethod.Get, "/api/info");
            req.Headers.Host = $"{host}:{server.Address.Port}";
            var (status, _, _) = await SendAsync(http, req);
            Assert.Equal(ok ? HttpStatusCode.OK : HttpStatusCode.Forbidden, status);
        }
    }

    [Theory]
    [InlineData("http://evil.example")]
    [InlineData("null")]
    [InlineData("http://127.0.0.1:1")]
    [InlineData("https://{host}")]
    public async Task A_request_from_another_origin_is_refused_on_every_route(string origin)
    {
        await using var server = await StartAsync();
        using var http = new HttpClient { BaseAddress = server.Address };
        var host = server.Address.Authority;
        foreach (var req in new[]
                 {
                     new HttpRequestMessage(HttpMethod.Get, "/api/info"), new HttpRequestMessage(HttpMethod.Get, "/api/saved"),
                     Post("/api/capture", "{\"text\": \"the cat sat\"}"), Post("/api/open", "{\"name\": \"a.safetensors\"}"),
                     new HttpRequestMessage(HttpMethod.Get, "/"),
                 })
        {
            req.Headers.TryAddWithoutValidation("Origin", origin.Replace("{host}", host));
            var (status, error, res) = await SendAsync(http, req);
            Assert.True(status == HttpStatusCode.Forbidden, $"{req.Method} {req.RequestUri}: {status}");
            Assert.Contains("other pages", error);
            Assert.False(res.Headers.Contains("Access-Control-Allow-Origin"));
        }
        // The page's own origin is fine.
        var own = Post("/api/capture", "{\"text\": \"the cat sat\"}");
        own.Headers.TryAddWithoutValidation("Origin", "http://" + host);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, own)).Status);
    }

    [Theory]
    [InlineData("cross-site")]
    [InlineData("same-site")]
    public async Task An_api_request_the_browser_marks_as_from_another_site_is_refused(string site)
    {
        await using var server = await StartAsync();
        using var http = new HttpClient { BaseAddress = server.Address };
        var req = new HttpRequestMessage(HttpMethod.Get, "/api/saved");
        req.Headers.TryAddWithoutValidation("Sec-Fetch-Site", site);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(http, req)).Status);
        var own = new HttpRequestMessage(HttpMethod.Get, "/api/saved");
        own.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "same-origin");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, own)).Status);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData(null)]
    [InlineData("application/json; charset=latin1")]
    [InlineData("application/jsonp")]
    public async Task A_post_that_is_not_json_is_refused_before_the_model_runs(string? contentType)
    {
        int runs = 0;
        await using var server = await StartAsync(run: (e, t, p) => { Interlocked.Increment(ref runs); return Small(e, t, p); });
        using var http = new HttpClient { BaseAddress = server.Address };
        foreach (var path in new[] { "/api/capture", "/api/open" })
        {
            var (status, error, res) = await SendAsync(http, Post(path, "{\"text\": \"the cat sat\", \"name\": \"x.safetensors\"}", contentType));
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
            Assert.Contains("application/json", error);
            Assert.Empty(MissingSecurityHeaders(res));
        }
        Assert.Equal(0, runs);
        var ok = await SendAsync(http, Post("/api/capture", "{\"text\": \"the cat sat\"}", "application/json; charset=utf-8"));
        Assert.Equal(HttpStatusCode.OK, ok.Status);
        Assert.Equal(1, runs);
    }
}
