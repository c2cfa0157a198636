using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttnScope.Tests.Support;
using AttnScope.Web.Server;
using Xunit.Abstractions;

namespace AttnScope.Tests.Web;

/// <summary>
/// A bounded, seeded fuzz run over the server's request handling: mutated methods, paths, Host, Origin and
/// Content-Type headers and JSON bodies (bytes flipped, inserted, cut, duplicated; hostile fragments such as lone
/// surrogate escapes, invalid UTF-8, repeated keys, deep nesting, huge numbers), plus malformed raw HTTP. Every
/// answer must be below 500, carry the security headers, be a one-line JSON error when it is an error, never grant
/// CORS, and the server must keep serving with its memory bounded. The seed is fixed (ATTNSCOPE_FUZZ_SEED overrides
/// it, ATTNSCOPE_FUZZ_SECONDS the 15-second budget); a failure names the seed and the request.
/// </summary>
[Collection("server memory")]
public sealed class ServerRequestFuzzTests(ITestOutputHelper output)
{
    private const int DefaultSeed = 13_2025;

    private static readonly string[] Paths =
    [
        "/", "/api/info", "/api/saved", "/api/open", "/api/capture", "/api/data/{id}/att/encoder/0", "/api/data/{id}/thumb/encoder/1",
        "/api/data/{id}/exact/encoder/1/0", "/api/data/{id}/qk/encoder/0/1", "/api/data/{id}/att/decoder/0", "/assets/js/main-server.js",
        "/assets/css/viewer.css", "/index.html", "/api", "/api/data", "/favicon.ico",
    ];

    private static readonly string[] Bodies =
    [
        "{\"text\": \"the cat sat on the mat\"}", "{\"text\": \"a b\", \"pair\": \"c d\"}", "{\"text\": \"x\", \"engine\": \"onnx\"}",
        "{\"text\": \"x\", \"engine\": \"managed\"}", "{\"name\": \"ok.safetensors\"}", "{\"name\": \"bad.safetensors\"}",
        "{\"name\": \"big.safetensors\"}", "{\"name\": \"../ok.safetensors\"}", "{}", "[]", "\"text\"", "null",
    ];

    private static readonly string[] Fragments =
    [
        "\\ud800", "\\udc00", "\\ud83d\\ude00", "\\u0000", "\"text\":", ",\"text\":\"y\"", ",\"name\":\"ok.safetensors\"", "{", "}", "[", "]",
        ":", ",", "null", "true", "1e999", "-0", "12345678901234567890", "\"", "\\", "\\\"", "\u00e9", "\u2028", "🐱",
        new string('[', 40), new string('a', 300), "\"engine\":[]", "\"text\":{}", "\"pair\":1",
    ];

    private static readonly byte[][] RawBytes = [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF0, 0x9F], [0x00], [0xC0, 0xAF], [0xEF, 0xBB, 0xBF]];

    private static readonly string[] Hosts = ["evil.example", "127.0.0.1", "localhost:1", "127.0.0.1:0", "[::1]", "", "127.0.0.1.nip.io:{port}", "LOCALHOST:{port}"];
    private static readonly string[] Origins = ["http://{host}", "http://evil.example", "null", "https://{host}", "http://{host}/", "http://127.0.0.1:1"];
    private static readonly string[] ContentTypes = ["application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "", "application/json; charset=utf-16", "application/*", "json"];
    private static readonly string[] Methods = ["GET", "GET", "GET", "POST", "POST", "POST", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"];

    [Fact]
    public async Task Fuzzed_requests_get_json_errors_with_security_headers_and_the_server_keeps_serving()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("ATTNSCOPE_FUZZ_SEED"), out var s) ? s : DefaultSeed;
        double seconds = double.TryParse(Environment.GetEnvironmentVariable("ATTNSCOPE_FUZZ_SECONDS"), out var t) ? t : 15;
        var rng = new Random(seed);

        using var dir = new TempDir();
        SyntheticCaptures.Encoder(2, 2, 6, qkv: true).Save(dir.File("ok.safetensors"));
        File.WriteAllText(dir.File("bad.safetensors"), "not a capture");
        SyntheticCaptures.Encoder(2, 2, 40).Save(dir.File("big.safetensors"));
        var options = new ViewerServerOptions
        {
            CapturesDir = dir.Path, MaxRequestBytes = 4096, MaxTextChars = 300, MaxCaptureBytes = 32 * 1024, MaxSavedCaptureBytes = 32 * 1024, KeepCaptures = 4,
        };
        await using var server = await SyntheticServer.StartAsync(options);
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(20) };
        var ids = new List<string> { "0123456789abcdef" };

        long memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        var until = DateTime.UtcNow.AddSeconds(seconds);
        int iterations = 0, raw = 0, kestrel = 0;
        var statuses = new SortedDictionary<int, int>();
        while (DateTime.UtcNow < until)
        {
            iterations++;
            string where = $"seed {seed}, iteration {iterations}";
            if (rng.Next(8) == 0)
            {
                raw++;
                await RawRequestAsync(server.Address, rng, where);
                continue;
            }
            var (request, description) = MakeRequest(rng, server.Address, ids);
            if (request is null) continue;
            using var res = await http.SendAsync(request);
            int status = (int)res.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            var body = await res.Content.ReadAsByteArrayAsync();
            string context = $"{where}: {description} -> {status}";
            Assert.True(status < 500, $"{context} {Encoding.UTF8.GetString(body)}");
            if (status == 400 && body.Length == 0 && res.Content.Headers.ContentType is null)
            {
                // Kestrel refuses a malformed Host header or a NUL in the path itself, before the server's code runs:
                // an empty 400 with nothing in it to sniff or frame (the one answer without the security headers).
                kestrel++;
                continue;
            }
            var missing = SyntheticServer.MissingSecurityHeaders(res);
            Assert.True(missing.Count == 0, $"{context} lacks {string.Join(", ", missing)}");
            Assert.False(res.Headers.Any(h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase)), context);
            if (request.Method == HttpMethod.Head) { Assert.Empty(body); continue; }
            if (status >= 400)
            {
                var error = ErrorOf(body, context);
                Assert.DoesNotContain('\n', error);
            }
            else if (request.Method == HttpMethod.Post)
            {
                var json = JsonNode.Parse(body)!;
                ids.Add((string)json["id"]!);
                Assert.NotNull(json["meta"]);
            }
            if (iterations % 250 == 0)
                using (var alive = await http.GetAsync("/api/info")) Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        }
        using (var alive = await http.GetAsync("/api/info")) Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        output.WriteLine($"seed {seed}: {iterations} requests ({raw} raw, {kestrel} refused by Kestrel) in {seconds} s; " +
                         string.Join(", ", statuses.Select(kv => $"{kv.Key}×{kv.Value}")));
        long grown = GC.GetTotalMemory(forceFullCollection: true) - memoryBefore;
        Assert.True(grown < 64L << 20, $"managed memory grew by {grown >> 20} MB over {iterations} requests");
        // The run reached the interesting answers, not only one kind of refusal.
        foreach (var expected in new[] { 200, 400, 403, 404, 413, 415 })
            Assert.True(statuses.ContainsKey(expected), $"no {expected} in {iterations} requests: {string.Join(", ", statuses.Select(kv => $"{kv.Key}×{kv.Value}"))}");
        Assert.True(iterations > 200 && raw > 10, $"only {iterations} requests ({raw} raw) in {seconds} s");
        Assert.True(kestrel < iterations / 10, $"{kestrel} of {iterations} requests were refused by Kestrel before the server saw them");
    }

    private static string ErrorOf(byte[] body, string context)
    {
        try
        {
            var node = JsonNode.Parse(body) as JsonObject;
            Assert.True(node?["error"] is JsonValue v && v.GetValueKind() == JsonValueKind.String, $"{context}: {Encoding.UTF8.GetString(body)}");
            return (string)node!["error"]!;
        }
        catch (JsonException e)
        {
            Assert.Fail($"{context}: the error is not JSON ({e.Message}): {Encoding.UTF8.GetString(body)}");
            throw;
        }
    }

    private static T Pick<T>(Random rng, IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    private static (HttpRequestMessage? Request, string Description) MakeRequest(Random rng, Uri address, List<string> ids)
    {
        var method = new HttpMethod(Pick(rng, Methods));
        var path = Pick(rng, Paths).Replace("{id}", Pick(rng, ids));
        if (rng.Next(4) == 0) path = MutatePath(rng, path);
        // A mutated path that is no longer a path on this server (e.g. "//x" names another host) is not sent.
        if (!Uri.TryCreate(address, path, out var uri) || uri.Authority != address.Authority) return (null, "");
        var request = new HttpRequestMessage(method, uri);
        var description = new StringBuilder($"{method} {path}");
        var host = address.Authority;
        try
        {
            if (rng.Next(10) == 0)
            {
                var h = Pick(rng, Hosts).Replace("{port}", address.Port.ToString());
                if (!request.Headers.TryAddWithoutValidation("Host", h)) return (null, "");
                description.Append($" Host: {h}");
                host = h;
            }
            if (rng.Next(6) == 0)
            {
                var o = Pick(rng, Origins).Replace("{host}", host);
                request.Headers.TryAddWithoutValidation("Origin", o);
                description.Append($" Origin: {o}");
            }
            if (rng.Next(12) == 0)
            {
                var site = Pick(rng, new[] { "cross-site", "same-site", "same-origin", "none", "bogus" });
                request.Headers.TryAddWithoutValidation("Sec-Fetch-Site", site);
                description.Append($" Sec-Fetch-Site: {site}");
            }
            if (method == HttpMethod.Post || method == HttpMethod.Put || rng.Next(10) == 0)
            {
                var body = MutateBody(rng, Encoding.UTF8.GetBytes(Pick(rng, Bodies)));
                var content = new ByteArrayContent(body);
                var type = rng.Next(6) == 0 ? Pick(rng, ContentTypes) : "application/json";
                if (type != "") content.Headers.TryAddWithoutValidation("Content-Type", type);
                request.Content = content;
                description.Append($" Content-Type: {type} body: {Escape(body)}");
            }
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            return (null, ""); // a request HttpClient itself refuses to build
        }
        return (request, description.ToString());
    }

    private static string MutatePath(Random rng, string path)
    {
        string[] inserts = ["%2e%2e/", "../", "//", "%00", "%ff", "é", "?x=1", "#", "/..", "%2F", "99999999999", "-1", " ", "~"];
        var chars = new StringBuilder(path);
        int at = rng.Next(chars.Length + 1);
        return rng.Next(3) switch
        {
            0 => chars.Insert(at, Pick(rng, inserts)).ToString(),
            1 when chars.Length > 1 => chars.Remove(at == chars.Length ? at - 1 : at, 1).ToString(),
            _ => System.Text.RegularExpressions.Regex.Replace(path, "[0-9]+$", Pick(rng, inserts)),
        };
    }

    private static byte[] MutateBody(Random rng, byte[] seed)
    {
        var bytes = new List<byte>(seed);
        int rounds = rng.Next(4); // sometimes the valid body as it is
        for (int r = 0; r < rounds; r++)
        {
            int at = rng.Next(bytes.Count + 1);
            switch (rng.Next(7))
            {
                case 0: if (bytes.Count > 0) { int i = Math.Min(at, bytes.Count - 1); bytes[i] ^= (byte)(1 << rng.Next(8)); } break;
                case 1: bytes.Insert(at, (byte)rng.Next(256)); break;
                case 2: if (at < bytes.Count) bytes.RemoveRange(at, rng.Next(1, bytes.Count - at + 1)); break;
                case 3: bytes.InsertRange(at, Encoding.UTF8.GetBytes(Pick(rng, Fragments))); break;
                case 4: bytes.InsertRange(at, Pick(rng, RawBytes)); break;
                case 5:
                    // Place a fragment inside the first string value, where escapes are interpreted.
                    int quote = bytes.IndexOf((byte)'"', Math.Min(bytes.Count, bytes.IndexOf((byte)':') + 1));
                    if (quote >= 0) bytes.InsertRange(quote + 1, Encoding.UTF8.GetBytes(Pick(rng, Fragments)));
                    break;
                default:
                    if (bytes.Count > 0) { int from = rng.Next(bytes.Count); int len = rng.Next(1, Math.Min(64, bytes.Count - from) + 1); bytes.InsertRange(at, bytes.GetRange(from, len)); }
                    break;
            }
        }
        if (rng.Next(40) == 0) bytes.AddRange(new byte[5000]); // beyond the request limit
        return bytes.ToArray();
    }

    /// <summary>A malformed HTTP/1.1 request on a raw socket: the server may refuse it or close, never fail inside (5xx).</summary>
    private static async Task RawRequestAsync(Uri address, Random rng, string where)
    {
        string[] lines =
        [
            "GET / HTTP/1.1\r\nHost: {host}\r\n\r\n",
            "GET /api/info HTTP/1.0\r\n\r\n",
            "POST /api/capture HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{\"te",
            "POST /api/capture HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"te\r\nZ\r\n",
            "GET /api/info HTTP/1.1\r\nHost: {host}\r\nHost: {host}\r\n\r\n",
            "GET /%%% HTTP/1.1\r\nHost: {host}\r\n\r\n",
            "GET /api/info HTTP/9.9\r\nHost: {host}\r\n\r\n",
            "BREW /api/info HTTP/1.1\r\nHost: {host}\r\n\r\n",
            "GET /api/info HTTP/1.1\r\nHost: {host}\r\nX: \u0001\u00ff\r\n\r\n",
            "GET http://evil.example/api/info HTTP/1.1\r\nHost: {host}\r\n\r\n",
            "GET /api/info HTTP/1.1\r\nHost: {host}\r\nContent-Length: -1\r\n\r\n",
        ];
        var text = Pick(rng, lines).Replace("{host}", address.Authority);
        var bytes = Encoding.Latin1.GetBytes(text).ToList();
        if (rng.Next(2) == 0) bytes.Insert(rng.Next(bytes.Count), (byte)rng.Next(256));
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port);
        var stream = client.GetStream();
        stream.ReadTimeout = 5000;
        await stream.WriteAsync(bytes.ToArray());
        client.Client.Shutdown(SocketShutdown.Send);
        var answer = new MemoryStream();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0 && answer.Length < 1 << 20) answer.Write(buffer, 0, n);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException) { /* a closed or reset connection is an answer */ }
        var head = Encoding.Latin1.GetString(answer.ToArray());
        var statusLine = head.Split("\r\n")[0];
        // 505 (an HTTP version Kestrel does not speak) is the one fair 5xx.
        Assert.False(statusLine.Split(' ') is [_, var code, ..] && code.StartsWith('5') && code != "505",
            $"{where}: raw request {Escape(bytes.ToArray())} answered {statusLine}");
    }

    private static string Escape(byte[] bytes)
    {
        var text = bytes.Length > 300 ? bytes[..300] : bytes;
        var sb = new StringBuilder();
        foreach (var b in text) sb.Append(b is >= 0x20 and < 0x7F and not (byte)'\\' ? ((char)b).ToString() : $"\\x{b:X2}");
        if (bytes.Length > 300) sb.Append($"… ({bytes.Length} bytes)");
        return sb.ToString();
    }
}
