using System.Net.Http.Headers;
using System.Text;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Tests.Support;
using AttnScope.Web.Server;

namespace AttnScope.Tests.Web;

/// <summary>
/// Viewer servers for request-handling tests: on a free loopback port, with a synthetic "model" in place of a real
/// one (a capture of 2 layers × 2 heads with one token per word of the text, at most 24), so no model is loaded.
/// </summary>
public static class SyntheticServer
{
    internal static Task<ViewerServer> StartAsync(ViewerServerOptions? options = null,
        Func<EngineKind, string, string?, AttentionCapture>? run = null) =>
        ViewerServer.StartAsync((options ?? new ViewerServerOptions()) with { Port = 0 }, warn: null, run ?? Small);

    /// <summary>A small capture of the words of <paramref name="text"/>.</summary>
    internal static AttentionCapture Small(EngineKind engine, string text, string? pair)
    {
        int n = Math.Clamp(text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length + 2, 3, 24);
        var c = SyntheticCaptures.Encoder(2, 2, n, qkv: true);
        var meta = new CaptureMetadata { ModelId = "synthetic", Architecture = "bert", Source = "managed", Texts = [text] };
        return new AttentionCapture(meta, c.Tokens, c.Stacks.Values);
    }

    /// <summary>A POST of raw bytes with the given content type (none when null).</summary>
    public static HttpRequestMessage Post(string path, byte[] body, string? contentType = "application/json")
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null) content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
    }

    public static HttpRequestMessage Post(string path, string body, string? contentType = "application/json") =>
        Post(path, Encoding.UTF8.GetBytes(body), contentType);

    /// <summary>The security header names every response must carry.</summary>
    public static IEnumerable<string> SecurityHeaderNames => SecurityHeaders.All.Select(h => h.Key);

    /// <summary>The names of the security headers a response lacks.</summary>
    public static List<string> MissingSecurityHeaders(HttpResponseMessage res) =>
        SecurityHeaderNames.Where(h => !res.Headers.NonValidated.Contains(h) && !res.Content.Headers.NonValidated.Contains(h)).ToList();

    public static MediaTypeHeaderValue Json => new("application/json");
}
