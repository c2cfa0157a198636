using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Cli;
using AttnScope.Corpus;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using AttnScope.Tests.Web;
using AttnScope.Web.Server;
using Microsoft.Playwright;
using static AttnScope.Tests.Corpus.CorpusTestData;

namespace AttnScope.Tests.Corpus;

/// <summary>
/// <c>attnscope serve --corpus DB</c>: the /corpus page in Chromium (histogram grid, query/key scatter, a point opened
/// in the main viewer), and the new endpoints under the server's Origin checks. One corpus of 30 lines through the
/// embedded MiniLM (queries and keys of head 2.3) is built once for the class.
/// </summary>
[Collection("browser")]
public sealed class CorpusServeTests(ViewerFixture fx)
{
    private const string Xss = ViewerFixture.XssToken;
    private static readonly Lazy<(TempDir Dir, string Db, string[] Lines)> Corpus = new(Build);

    private static (TempDir, string, string[]) Build()
    {
        var dir = new TempDir();
        var words = new[] { "river", "music", "garden", "window", "teacher", "engine", "winter", "market", "letter", "station" };
        var lines = new List<string>(Lines.Where(l => l.Length > 0));
        for (int i = 0; lines.Count < 29; i++)
            lines.Add($"The {words[i % 10]} near the {words[(i * 3 + 1) % 10]} was {(i % 2 == 0 ? "quiet" : "busy")} on day {i + 1}.");
        lines.Add("Hostile text " + Xss + " stays text.");
        var input = WriteText(dir, lines);
        var db = dir.File("c.duckdb");
        RunCorpus("--input", input, "--out", db, "--qk-heads", "2.3", "--qk-tokens", "4");
        return (dir, db, lines.ToArray());
    }

    private static async Task<(ViewerServer Server, ServedCorpus Source)> ServeAsync()
    {
        var source = new ServedCorpus(Corpus.Value.Db);
        var server = await ViewerServer.StartAsync(new ViewerServerOptions { Port = 0, Corpus = source });
        return (server, source);
    }

    [Fact]
    public async Task HistogramsScatterAndAPointOpenedInTheMainViewer()
    {
        var (server, source) = await ServeAsync();
        await using var _s = server;
        using var _c = source;
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(server.Address + "corpus");
        await page.WaitForFunctionAsync("() => window.attnscopeCorpusServe && window.attnscopeCorpusServe.ready && window.attnscopeCorpusServe.embedding",
            null, new PageWaitForFunctionOptions { Timeout = 60000 });

        // (1) The grid's counts are the database's, binned here by SQL values read independently.
        var counts = JsonSerializer.Deserialize<long[][][]>(await page.EvaluateAsync<string>("() => JSON.stringify(attnscopeCorpusServe.histograms.counts)"))!;
        int bins = await page.EvaluateAsync<int>("() => attnscopeCorpusServe.histograms.bins");
        Assert.Equal("entropy_norm", await page.EvaluateAsync<string>("() => attnscopeCorpusServe.histograms.stat"));
        var expected = new long[6, 12, bins];
        using (var d = CorpusDatabase.OpenReadOnly(Corpus.Value.Db))
        {
            using var cmd = d.Connection.CreateCommand();
            cmd.CommandText = "SELECT layer, head, entropy_norm FROM head_stats";
            var rows = new List<(int L, int H, double V)>();
            using (var r = cmd.ExecuteReader()) while (r.Read()) rows.Add((r.GetInt32(0), r.GetInt32(1), r.GetFloat(2)));
            double min = rows.Min(x => x.V), max = rows.Max(x => x.V);
            foreach (var (l, h, v) in rows) expected[l, h, Math.Min(bins - 1, (int)Math.Floor((v - min) / (max - min) * bins))]++;
        }
        Assert.Equal(6, counts.Length);
        for (int l = 0; l < 6; l++)
            for (int h = 0; h < 12; h++)
            {
                Assert.Equal(30, counts[l][h].Sum());
                for (int b = 0; b < bins; b++) Assert.True(expected[l, h, b] == counts[l][h][b], $"head {l}.{h} bin {b}: {counts[l][h][b]}, SQL {expected[l, h, b]}");
            }
        // Drawn: the bar colour at the bottom of every non-empty bin, not at an empty one (away from the mean line).
        var pixels = JsonSerializer.Deserialize<int[][]>(await page.EvaluateAsync<string>(@"() => {
            const a = attnscopeCorpusServe, d = a.histograms, c = document.getElementById('cs-grid');
            const g = c.getContext('2d'), k = c.width / c.getBoundingClientRect().width, out = [];
            for (let l = 0; l < d.layers; l++) for (let h = 0; h < d.heads; h++) for (let b = 0; b < d.bins; b++) {
              const r = a.barRect(l, h, b), cell = a.cellRect(l, h), cx = r.x + r.w / 2, bottom = cell.y + cell.h - 4 - 1;
              const m = a.meanX(l, h), near = m !== null && Math.abs(m - cx) < r.w / 2 + 2;
              const p = g.getImageData(Math.floor(cx * k), Math.floor(bottom * k), 1, 1).data;
              const bar = Math.abs(p[0] - 0x4a) < 30 && Math.abs(p[1] - 0x6f) < 30 && Math.abs(p[2] - 0xa5) < 30;
              out.push([d.counts[l][h][b], bar ? 1 : 0, near ? 1 : 0]);
            }
            return JSON.stringify(out); }"))!;
        Assert.Equal(6 * 12 * bins, pixels.Length);
        int checkedBars = 0;
        foreach (var p in pixels.Where(p => p[2] == 0))
        {
            Assert.Equal(p[0] > 0, p[1] == 1);
            checkedBars += p[0] > 0 ? 1 : 0;
        }
        Assert.True(checkedBars > 72, $"{checkedBars} bars checked");

        // (2) Head 2.3 (the first stored) is shown: a query and a key point per stored qk_vectors row.
        long rowsFor23 = Longs(Corpus.Value.Db, "SELECT count(*) FROM qk_vectors WHERE layer = 2 AND head = 3")[0];
        Assert.Equal(2 * rowsFor23, await page.EvaluateAsync<int>("() => attnscopeCorpusServe.embedding.x.length"));
        Assert.Equal("2.3", await page.InputValueAsync("#cs-head"));

        // Hover the XSS line's first point: the tip shows its sentence as text; nothing was parsed as HTML.
        int xssLine = Corpus.Value.Lines.Length;
        int xi = await page.EvaluateAsync<int>($"() => {{ const d = attnscopeCorpusServe.embedding; for (let i = 0; i < d.x.length; i++) if (d.line[i] === {xssLine}) return i; return -1; }}");
        Assert.True(xi >= 0);
        await page.EvaluateAsync("() => attnscopeCorpusServe.scatter.canvas.scrollIntoView()");
        var xp = await page.EvaluateAsync<JsonElement>($"() => attnscopeCorpusServe.scatter.pointScreen({xi})");
        await page.Mouse.MoveAsync(xp.GetProperty("x").GetSingle(), xp.GetProperty("y").GetSingle());
        var tip = await page.Locator(".cv-tip").TextContentAsync();
        Assert.Contains("line ", tip);
        if (tip!.Contains($"line {xssLine}")) Assert.Contains(Xss, tip);
        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.querySelectorAll('img').length"));

        Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots"));
        await page.ScreenshotAsync(new() { Path = Path.Combine(AppContext.BaseDirectory, "screenshots", "corpus-serve.png"), FullPage = true });

        // (3) A query point clicked: the main viewer opens that sentence (captured again) with the token held.
        int qi = await page.EvaluateAsync<int>("() => { const d = attnscopeCorpusServe.embedding; for (let i = 0; i < d.x.length; i++) if (d.line[i] === 5 && d.key[i] === 0) return i; return -1; }");
        var qp = await page.EvaluateAsync<JsonElement>($"() => attnscopeCorpusServe.scatter.pointScreen({qi})");
        await page.Mouse.ClickAsync(qp.GetProperty("x").GetSingle(), qp.GetProperty("y").GetSingle());
        await page.WaitForURLAsync(new System.Text.RegularExpressions.Regex(@"\?corpus=\d+#"), new() { Timeout = 30000 });
        await ViewerPage.WaitReadyAsync(page);
        var url = new Uri(page.Url);
        long line = long.Parse(System.Web.HttpUtility.ParseQueryString(url.Query)["corpus"]!);
        var hash = System.Web.HttpUtility.ParseQueryString(url.Fragment.TrimStart('#'));
        var dbTokens = new List<string>();
        using (var d = CorpusDatabase.OpenReadOnly(Corpus.Value.Db))
        {
            using var cmd = d.Connection.CreateCommand();
            cmd.CommandText = $"SELECT tokens FROM sentences WHERE line = {line}";
            dbTokens.AddRange((IEnumerable<string>)cmd.ExecuteScalar()!);
        }
        var labels = await page.EvaluateAsync<string[]>("() => attnscope.viewer.data.meta.tokens.map(t => t.label)");
        Assert.Equal(dbTokens.Select(t => TokenText.Printable(t)).ToArray(), labels);
        Assert.Equal(2, await page.EvaluateAsync<int>("() => attnscope.viewer.state.layer"));
        Assert.Equal(3, await page.EvaluateAsync<int>("() => attnscope.viewer.state.head"));
        var token = hash["token"]!;
        Assert.Equal(token[0].ToString(), await page.EvaluateAsync<string>("() => attnscope.viewer.state.token.side"));
        Assert.Equal(int.Parse(token[1..]), await page.EvaluateAsync<int>("() => attnscope.viewer.state.token.index"));
        Assert.Contains($"line {line} of the corpus", await page.TextContentAsync("#as-status"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task CorpusEndpointsRefuseForeignOriginsAndBadInput()
    {
        var (server, source) = await ServeAsync();
        await using var _s = server;
        using var _c = source;
        using var http = new HttpClient { BaseAddress = server.Address };
        string[] gets = ["/corpus", "/api/corpus/info", "/api/corpus/histograms?stat=entropy", "/api/corpus/embedding?head=2.3"];
        foreach (var path in gets)
        {
            using var ok = await http.GetAsync(path);
            Assert.True(ok.StatusCode == HttpStatusCode.OK, $"{path}: {ok.StatusCode} {await ok.Content.ReadAsStringAsync()}");
            using var req = new HttpRequestMessage(HttpMethod.Get, path);
            req.Headers.Add("Origin", "http://evil.example");
            using var res = await http.SendAsync(req);
            Assert.Equal(HttpStatusCode.Forbidden, res.StatusCode);
            Assert.Empty(SyntheticServer.MissingSecurityHeaders(res));
        }
        using (var post = SyntheticServer.Post("/api/corpus/open", "{\"line\": 1}"))
        {
            post.Headers.Add("Origin", "http://evil.example");
            using var res = await http.SendAsync(post);
            Assert.Equal(HttpStatusCode.Forbidden, res.StatusCode);
        }
        // The sentence text comes back as JSON data (escaped), never as markup.
        var embedding = JsonNode.Parse(await http.GetStringAsync("/api/corpus/embedding?head=2.3&sentences=100"))!;
        Assert.Equal("Hostile text " + Xss + " stays text.", (string)embedding["sentences"]![Corpus.Value.Lines.Length.ToString()]!["text"]!);
        // t-SNE over the same sample: the same points, mapped otherwise.
        var tsne = JsonNode.Parse(await http.GetStringAsync("/api/corpus/embedding?head=2.3&projection=tsne&sentences=100"))!;
        long rows = Longs(Corpus.Value.Db, "SELECT count(*) FROM qk_vectors WHERE layer = 2 AND head = 3")[0];
        Assert.Equal("tsne", (string)tsne["projection"]!);
        Assert.Equal(2 * rows, tsne["x"]!.AsArray().Count);
        // Bad input: a clear 400 / 404, the sample size capped.
        foreach (var (path, status) in new[]
        {
            ("/api/corpus/histograms?stat=nope", 400), ("/api/corpus/histograms?stat=entropy&bins=100000", 400),
            ("/api/corpus/embedding?head=0.0", 400), ("/api/corpus/embedding?head=2.3&sentences=1000000", 400),
            ("/api/corpus/embedding?head=2.3&projection=umap", 400),
        })
        {
            using var res = await http.GetAsync(path);
            Assert.True((int)res.StatusCode == status, $"{path}: {res.StatusCode}");
            Assert.Contains("\"error\"", await res.Content.ReadAsStringAsync());
        }
        using (var res = await http.SendAsync(SyntheticServer.Post("/api/corpus/open", "{\"line\": 999}")))
            Assert.Equal(HttpStatusCode.NotFound, res.StatusCode); // no such line in the corpus
    }

    [Fact]
    public async Task ABadPathOrAnotherModelIsAClearErrorAtStart()
    {
        var missing = Assert.Throws<AttnScopeException>(() => new ServedCorpus("/nonexistent/c.duckdb"));
        Assert.Contains("not found", missing.Message);
        var (code, _, err) = CliTests.Run("serve", "--corpus", Path.Combine(Corpus.Value.Dir.Path, "none.duckdb"), "--port", "0");
        Assert.NotEqual(0, code);
        Assert.Contains("none.duckdb", err);
        var other = await Assert.ThrowsAsync<AttnScopeException>(() =>
            ViewerServer.StartAsync(new ViewerServerOptions { Port = 0, Corpus = new OtherModel() }));
        Assert.Contains("built with the model 'some/other-model'", other.Message);
        // No corpus: the page is a 404.
        await using var plain = await SyntheticServer.StartAsync();
        using var http = new HttpClient { BaseAddress = plain.Address };
        using var res = await http.GetAsync("/corpus");
        Assert.Equal(HttpStatusCode.NotFound, res.StatusCode);
    }

    private sealed class OtherModel : ICorpusSource
    {
        public string Path => "other.duckdb";
        public string Model => "some/other-model";
        public JsonObject Describe() => [];
        public JsonObject Histograms(string stat, int bins) => [];
        public JsonObject Embedding(string head, string projection, int sentences) => [];
        public CorpusSentence? Sentence(long line) => null;
    }
}
