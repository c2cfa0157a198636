using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AttnScope.Web.Server;
using static AttnScope.Tests.Web.SyntheticServer;

namespace AttnScope.Tests.Web;

/// <summary>
/// Every response carries the security headers the page gets, errors included; bodies that are not clean JSON
/// (a key given twice, a lone surrogate, invalid UTF-8) are 400 JSON errors, never 500; HEAD is answered like GET
/// without a body.
/// </summary>
public sealed class ServerResponseTests
{
    [Fact]
    public async Task Every_response_carries_the_security_headers_of_the_page()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient { BaseAddress = server.Address };
        using var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Empty(MissingSecurityHeaders(page));
        var expected = SecurityHeaderNames.ToDictionary(h => h, h => string.Join(",", page.Headers.GetValues(h)));

        var opened = await http.SendAsync(Post("/api/capture", "{\"text\": \"a b c\"}"));
        var id = (string)JsonNode.Parse(await opened.Content.ReadAsStringAsync())!["id"]!;
        var requests = new List<Func<HttpRequestMessage>>
        {
            () => new(HttpMethod.Get, "/api/info"),
            () => new(HttpMethod.Get, "/assets/js/main-server.js"),
            () => new(HttpMethod.Get, $"/api/data/{id}/att/encoder/0"),
            () => new(HttpMethod.Get, "/nothing/here"), // 404
            () => new(HttpMethod.Get, "/assets/none.js"), // 404
            () => new(HttpMethod.Get, "/api/data/ffff/att/encoder/0"), // 404
            () => new(HttpMethod.Get, $"/api/data/{id}/att/encoder/9"), // 404
            () => Post("/api/capture", "{not json"), // 400
            () => Post("/api/capture", "{\"text\": \"x\"}", "text/plain"), // 415
            () => Post("/api/capture", "{\"text\": \"" + new string('a', 300_000) + "\"}"), // 413
            () => Post("/api/open", "{\"name\": \"a.safetensors\"}"), // 404: no captures folder
            () => new(HttpMethod.Delete, "/api/info"),
            () => new(HttpMethod.Get, "/api/info") { Headers = { Host = "evil.example" } }, // 403
        };
        foreach (var make in requests)
        {
            var req = make();
            using var res = await http.SendAsync(req);
            foreach (var (name, value) in expected)
            {
                Assert.True(res.Headers.TryGetValues(name, out var got), $"{req.Method} {req.RequestUri} ({(int)res.StatusCode}) lacks {name}");
                Assert.Equal(value, string.Join(",", got!));
            }
            if (!res.IsSuccessStatusCode)
                Assert.NotNull(JsonNode.Parse(await res.Content.ReadAsStringAsync())!["error"]);
        }
    }

    public static TheoryData<string, byte[], string> BadBodies => new()
    {
        { "/api/capture", "{\"text\": \"a\", \"text\": \"b\"}"u8.ToArray(), "not valid JSON" },
        { "/api/open", "{\"name\": \"a.safetensors\", \"name\": \"b.safetensors\"}"u8.ToArray(), "not valid JSON" },
        { "/api/capture", "{\"text\": \"cat \\ud800 dog\"}"u8.ToArray(), "not valid Unicode" },
        { "/api/capture", "{\"text\": \"cat \\udc00\\ud800 dog\"}"u8.ToArray(), "not valid Unicode" },
        { "/api/capture", "{\"te\\ud800xt\": \"the cat\"}"u8.ToArray(), "not valid Unicode" }, // in a key
        { "/api/capture", "{\"text\": \"ok\", \"pair\": \"end \\ud83d\"}"u8.ToArray(), "not valid Unicode" },
        { "/api/open", "{\"name\": \"\\ud800.safetensors\"}"u8.ToArray(), "not valid Unicode" },
        { "/api/capture", [.. "{\"text\": \"caf"u8, 0xC3, 0x28, .. "\"}"u8], "not valid UTF-8" },
        { "/api/capture", [.. "{\"text\": \"a"u8, 0xFF, .. "\"}"u8], "not valid UTF-8" },
        { "/api/capture", [.. "{\"text\": \"a"u8, 0xED, 0xA0, 0x80, .. "\"}"u8], "not valid UTF-8" }, // an encoded surrogate
        { "/api/capture", [.. "{\"text\": \"a"u8, 0xF0, 0x9F, .. "\"}"u8], "not valid UTF-8" }, // cut short
        { "/api/capture", Encoding.UTF8.GetBytes(new string('[', 100) + new string(']', 100)), "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task A_body_that_is_not_clean_json_is_a_400_json_error(string path, byte[] body, string says)
    {
        await using var server = await StartAsync(new ViewerServerOptions { CapturesDir = Path.GetTempPath() });
        using var http = new HttpClient { BaseAddress = server.Address };
        using var res = await http.SendAsync(Post(path, body));
        var error = (string?)JsonNode.Parse(await res.Content.ReadAsStringAsync())!["error"];
        Assert.True(res.StatusCode == HttpStatusCode.BadRequest, $"{(int)res.StatusCode}: {error}");
        Assert.Contains(says, error);
        Assert.Empty(MissingSecurityHeaders(res));
    }

    [Fact]
    public async Task A_surrogate_pair_escape_is_valid_text()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient { BaseAddress = server.Address };
        using var res = await http.SendAsync(Post("/api/capture", "{\"text\": \"smile \\ud83d\\ude00\"}"));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        var meta = JsonNode.Parse(await res.Content.ReadAsStringAsync())!["meta"]!;
        Assert.Equal("smile \U0001F600", (string?)meta["texts"]![0]);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/api/info")]
    [InlineData("/assets/js/main-server.js")]
    public async Task Head_is_answered_like_get_without_a_body(string path)
    {
        await using var server = await StartAsync();
        using var http = new HttpClient { BaseAddress = server.Address };
        using var get = await http.GetAsync(path);
        var getBody = await get.Content.ReadAsByteArrayAsync();
        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(get.StatusCode, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.True(getBody.Length > 0);
        Assert.Empty(MissingSecurityHeaders(head));
    }
}
