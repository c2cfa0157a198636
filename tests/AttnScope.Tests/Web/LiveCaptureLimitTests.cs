using System.Net;
using System.Text.Json.Nodes;
using AttnScope.Web.Server;
using static AttnScope.Tests.Web.SyntheticServer;

namespace AttnScope.Tests.Web;

/// <summary>
/// A live capture is refused (413) before the model runs when the text has more tokens than the server captures, or
/// when the attention the model would produce for it is larger than one capture may hold.
/// </summary>
public sealed class LiveCaptureLimitTests
{
    [Fact]
    public async Task A_text_beyond_the_token_or_byte_limit_is_refused_and_a_short_one_is_captured()
    {
        var words = string.Join(' ', Enumerable.Repeat("the cat sat on the mat", 20));
        await using var server = await ViewerServer.StartAsync(new ViewerServerOptions { Port = 0, MaxTokens = 16, MaxCaptureBytes = 1 << 20 });
        using var http = new HttpClient { BaseAddress = server.Address };
        async Task<(HttpStatusCode, JsonNode)> CaptureAsync(string text)
        {
            using var res = await http.SendAsync(Post("/api/capture", new JsonObject { ["text"] = text }.ToJsonString()));
            return (res.StatusCode, JsonNode.Parse(await res.Content.ReadAsStringAsync())!);
        }

        var (status, body) = await CaptureAsync(words);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("this server captures at most 16", (string)body["error"]!);

        (status, body) = await CaptureAsync("the cat sat");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(body["meta"]!["tokens"]!.AsArray().Count <= 16);
    }

    [Fact]
    public async Task A_capture_larger_than_the_byte_limit_is_refused_before_it_runs()
    {
        await using var server = await ViewerServer.StartAsync(new ViewerServerOptions { Port = 0, MaxCaptureBytes = 64 * 1024 });
        using var http = new HttpClient { BaseAddress = server.Address };
        var text = string.Join(' ', Enumerable.Repeat("the cat sat on the mat", 30));
        using var res = await http.SendAsync(Post("/api/capture", new JsonObject { ["text"] = text }.ToJsonString()));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, res.StatusCode);
        Assert.Contains("at most 64 KiB per capture", (string)JsonNode.Parse(await res.Content.ReadAsStringAsync())!["error"]!);
    }
}
