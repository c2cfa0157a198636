using System.Text.Json;
using AttnScope.Corpus;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using AttnScope.Tests.Web;
using static AttnScope.Tests.Corpus.CorpusTestData;

namespace AttnScope.Tests.Corpus;

/// <summary>The corpus view in Chromium: the scatter draws, and clicking a point opens its sentence's attention.</summary>
[Collection("browser")]
public sealed class CorpusViewerTests(ViewerFixture fx)
{
    [Fact]
    public async Task ClickingAPointOpensItsSentenceWithTheHeadsAttention()
    {
        using var dir = new TempDir();
        var input = WriteText(dir, Lines);
        var db = dir.File("c.duckdb");
        RunCorpus("--input", input, "--out", db, "--qk-heads", "2.3", "--qk-tokens", "4");
        var page = dir.File("view.html");
        var (code, output, err) = CliTests.Run("corpus", "view", db, "--head", "2.3", "-o", page);
        Assert.True(code == 0, err);
        Assert.Contains("48 points from 6 sentences", output); // 6 sentences × 4 tokens × (query, key)

        var (context, tab, problems) = await fx.NewPageAsync();
        await using var _ = context;
        var requests = new List<string>();
        var url = new Uri(page).AbsoluteUri;
        await context.RouteAsync("**/*", async route =>
        {
            if (route.Request.Url == url) { await route.ContinueAsync(); return; }
            lock (requests) requests.Add(route.Request.Url);
            await route.AbortAsync();
        });
        await tab.GotoAsync(url);
        await tab.WaitForFunctionAsync("() => window.attnscopeCorpus !== undefined");
        Assert.Equal(48, await tab.EvaluateAsync<int>("() => window.attnscopeCorpus.data.x.length"));

        // Choose a query point of line 5 and click where it is drawn.
        int index = await tab.EvaluateAsync<int>("() => { const d = window.attnscopeCorpus.data; for (let i = 0; i < d.x.length; i++) if (d.line[i] === 5 && d.key[i] === 0) return i; return -1; }");
        Assert.True(index >= 0);
        var point = await tab.EvaluateAsync<JsonElement>($"() => window.attnscopeCorpus.pointScreen({index})");
        // Other points may lie on top of it; click exactly and read which one was chosen.
        await tab.Mouse.ClickAsync(point.GetProperty("x").GetSingle(), point.GetProperty("y").GetSingle());
        var selected = await tab.EvaluateAsync<JsonElement>("() => window.attnscopeCorpus.selected");
        Assert.Equal(JsonValueKind.Object, selected.ValueKind);
        long line = selected.GetProperty("line").GetInt64();
        int token = selected.GetProperty("token").GetInt32();
        bool key = selected.GetProperty("key").GetBoolean();

        // The panel shows that sentence's text and, per token, the head's attention read from the database.
        Assert.Equal(Lines[line - 1], await tab.Locator(".cv-panel [data-field=text]").TextContentAsync());
        var weights = await tab.Locator(".cv-panel .cv-tok").EvaluateAllAsync<float[]>("els => els.map(e => Number(e.dataset.weight))");
        float[] stored;
        int n;
        using (var d = CorpusDatabase.OpenReadOnly(db))
        {
            using var cmd = d.Connection.CreateCommand();
            cmd.CommandText = $"SELECT weights FROM head_attention WHERE line = {line} AND layer = 2 AND head = 3";
            stored = ((IEnumerable<float>)cmd.ExecuteScalar()!).ToArray();
            n = (int)Math.Round(Math.Sqrt(stored.Length));
        }
        Assert.Equal(n, weights.Length);
        for (int j = 0; j < n; j++) Assert.Equal(key ? stored[j * n + token] : stored[token * n + j], weights[j], 1e-4f);
        Assert.Equal(1, await tab.Locator(".cv-panel .cv-tok.cv-chosen").CountAsync());
        Assert.Equal(1, await tab.Locator(".cv-panel canvas.cv-matrix").CountAsync());

        // Hovering names the point's token.
        await tab.Mouse.MoveAsync(point.GetProperty("x").GetSingle(), point.GetProperty("y").GetSingle());
        Assert.Contains("line ", await tab.Locator(".cv-tip").TextContentAsync());
        Assert.Empty(problems);
        Assert.Empty(requests);
        Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots"));
        await tab.ScreenshotAsync(new() { Path = Path.Combine(AppContext.BaseDirectory, "screenshots", "corpus-view.png") });
    }
}
