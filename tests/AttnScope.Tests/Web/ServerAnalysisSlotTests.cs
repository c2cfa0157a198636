using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Web.Server;

namespace AttnScope.Tests.Web;

/// <summary>
/// The server keeps a limited number of opened captures. Opening a capture whose analyses are invalid is a 400 and
/// takes no slot, so it cannot push out a capture the page is still showing.
/// </summary>
public class ServerAnalysisSlotTests
{
    [Fact]
    public async Task A_refused_capture_does_not_evict_the_one_being_viewed()
    {
        using var dir = new TempDir();
        SyntheticCaptures.Encoder(1, 1, 4).Save(dir.File("good.safetensors"));
        SyntheticCaptures.Encoder(1, 1, 4).WithAnalyses([new CaptureAnalysis("encoder.rollout", new FloatTensor([1, 3, 3]))])
            .Save(dir.File("bad.safetensors"));
        await using var server = await ViewerServer.StartAsync(new ViewerServerOptions { CapturesDir = dir.Path, Port = 0, KeepCaptures = 1 });
        using var http = new HttpClient { BaseAddress = server.Address };
        async Task<HttpResponseMessage> Open(string name) =>
            await http.PostAsync("/api/open", new StringContent(new JsonObject { ["name"] = name }.ToJsonString(), Encoding.UTF8, "application/json"));

        var good = await Open("good.safetensors");
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        var id = (string)JsonNode.Parse(await good.Content.ReadAsStringAsync())!["id"]!;
        var bad = await Open("bad.safetensors");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("encoder.rollout", await bad.Content.ReadAsStringAsync());
        var section = await http.GetAsync($"/api/data/{id}/att/encoder/0");
        Assert.Equal(HttpStatusCode.OK, section.StatusCode);
    }
}
