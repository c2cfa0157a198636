using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using static AttnScope.Tests.Web.ViewerPage;

namespace AttnScope.Tests.Web;

/// <summary>Token text stays text; the server answers bad requests with JSON errors and keeps serving.</summary>
[Collection("browser")]
public sealed class ViewerSafetyTests(ViewerFixture fx)
{
    private async Task AssertTokenIsTextEverywhereAsync(IPage page, List<string> problems)
    {
        const int xss = 5;
        await HoverTokenAsync(page, "q", xss);
        var svgText = await page.EvaluateAsync<string>("() => window.attnscope.renderSvg()");
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", svgText);
        Assert.Contains(ViewerFixture.XssToken, Texts(System.Xml.Linq.XDocument.Parse(svgText)));
        Assert.DoesNotContain("<img", svgText);

        await ClickTabAsync(page, "matrix");
        var (x, y) = await PointAsync(page, "cellPoint", xss, xss);
        await page.Mouse.MoveAsync(x, y);
        await SettleAsync(page);
        Assert.Equal($"#{xss} {ViewerFixture.XssToken}", await TooltipAsync(page, "query"));
        Assert.Contains("&lt;img", await page.EvaluateAsync<string>("() => window.attnscope.renderSvg()"));
        await ClickTabAsync(page, "qk");
        Assert.Contains(ViewerFixture.XssToken, await page.Locator("[data-control=\"query\"]").InnerTextAsync());

        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.querySelectorAll('img').length"));
        Assert.True(problems.Count == 0, string.Join("\n", problems)); // no alert dialog, no error
    }

    [Fact]
    public async Task XssTokenRendersAsTextInTheServedPage()
    {
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.Server.Address + "?open=xss.safetensors");
        await WaitReadyAsync(page);
        await AssertTokenIsTextEverywhereAsync(page, problems);
    }

    [Fact]
    public async Task XssTokenRendersAsTextInTheOfflinePage()
    {
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(fx.Xss, "xss"));
        await WaitReadyAsync(page);
        await AssertTokenIsTextEverywhereAsync(page, problems);
    }

    private static async Task<(HttpStatusCode Status, string Error)> PostAsync(HttpClient http, string path, string body)
    {
        using var res = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var json = JsonNode.Parse(await res.Content.ReadAsStringAsync())!;
        return (res.StatusCode, (string?)json["error"] ?? "");
    }

    private async Task AssertStillServingAsync(HttpClient http)
    {
        var info = await http.GetFromJsonAsync<JsonObject>("api/info");
        Assert.Equal("minilm", (string?)info!["model"]);
    }

    [Fact]
    public async Task ServerAnswersBadRequestsWithJsonErrorsAndKeepsServing()
    {
        using var http = new HttpClient { BaseAddress = fx.Server.Address };
        var cases = new (string Path, string Body, HttpStatusCode Status, string Says)[]
        {
            ("api/capture", "{not json", HttpStatusCode.BadRequest, "not valid JSON"),
            ("api/capture", "[1, 2]", HttpStatusCode.BadRequest, "JSON object"),
            ("api/capture", "{\"text\": \"   \"}", HttpStatusCode.BadRequest, "type some text"),
            ("api/capture", "{\"text\": 42}", HttpStatusCode.BadRequest, "'text' must be a string"),
            ("api/capture", "{\"text\": \"hi\", \"engine\": \"gpu\"}", HttpStatusCode.BadRequest, "unknown engine 'gpu'"),
            ("api/capture", $"{{\"text\": \"{new string('a', 30_000)}\"}}", HttpStatusCode.RequestEntityTooLarge, "at most 20000"),
            ("api/capture", $"{{\"text\": \"{new string('a', 300_000)}\"}}", HttpStatusCode.RequestEntityTooLarge, "at most 262144"),
            ("api/open", "{\"name\": \"nope.safetensors\"}", HttpStatusCode.NotFound, "no saved capture 'nope.safetensors'"),
        };
        foreach (var (path, body, status, says) in cases)
        {
            var (got, error) = await PostAsync(http, path, body);
            Assert.True(got == status, $"{body[..Math.Min(40, body.Length)]}: {got} {error}");
            Assert.Contains(says, error);
            await AssertStillServingAsync(http);
        }
        foreach (var path in new[] { "api/data/0123456789abcdef/att/encoder/0", "api/nothing", "assets/js/../../secret.js" })
        {
            using var res = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, res.StatusCode);
            Assert.NotNull(JsonNode.Parse(await res.Content.ReadAsStringAsync())!["error"]);
        }
        // A known capture with an unknown section is a 404 too.
        var (ok, _) = (await http.PostAsync("api/open", new StringContent("{\"name\": \"small.safetensors\"}", Encoding.UTF8, "application/json")), 0);
        var id = (string)JsonNode.Parse(await ok.Content.ReadAsStringAsync())!["id"]!;
        using (var res = await http.GetAsync($"api/data/{id}/att/encoder/99")) Assert.Equal(HttpStatusCode.NotFound, res.StatusCode);
        using (var res = await http.GetAsync($"api/data/{id}/att/encoder/2")) Assert.Equal(HttpStatusCode.OK, res.StatusCode);
    }

    [Theory]
    [InlineData("../secret.safetensors")]
    [InlineData("..%2Fsecret.safetensors")]
    [InlineData("sub/../../secret.safetensors")]
    [InlineData("/etc/passwd")]
    [InlineData("..\\secret.safetensors")]
    [InlineData("..")]
    public async Task SavedCapturesRefusePaths(string name)
    {
        using var http = new HttpClient { BaseAddress = fx.Server.Address };
        var (status, error) = await PostAsync(http, "api/open", new JsonObject { ["name"] = Uri.UnescapeDataString(name) }.ToJsonString());
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("paths are refused", error);
        await AssertStillServingAsync(http);
    }

    [Fact]
    public async Task SavedCaptureListShowsOnlyTheFolderGivenAtStart()
    {
        using var http = new HttpClient { BaseAddress = fx.Server.Address };
        var saved = await http.GetFromJsonAsync<JsonObject>("api/saved");
        var names = saved!["captures"]!.AsArray().Select(n => (string)n!).ToList();
        Assert.Equal(["seq2seq.safetensors", "small.safetensors", "xss.safetensors"], names);
    }
}
