using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Web.Data;
using AttnScope.Web.Offline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AttnScope.Web.Server;

/// <summary>
/// <c>attnscope serve</c>: the viewer page, live captures of typed text, saved captures from one folder, and the
/// capture data in binary sections. Every failure is a JSON <c>{"error": "..."}</c> with a status code (400 bad
/// input, 403 refused (another site's page or host name, see <see cref="RequestGuard"/>), 404 unknown, 413 too large,
/// 415 not JSON, 429 busy), after which the server goes on serving. Every response carries <see cref="SecurityHeaders"/>.
/// </summary>
internal sealed class ViewerServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly LiveCaptures _live;

    /// <summary>Where the server answers (the address it listens on, with its port).</summary>
    public Uri Address { get; }

    private ViewerServer(WebApplication app, LiveCaptures live, Uri address)
    {
        _app = app; _live = live; Address = address;
    }

    /// <summary>True for addresses only this machine can reach.</summary>
    public static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip));

    /// <summary>Starts listening; <paramref name="warn"/> hears about anything a user should know (a remote binding).</summary>
    public static Task<ViewerServer> StartAsync(ViewerServerOptions options, Action<string>? warn = null) =>
        StartAsync(options, warn, run: null);

    /// <summary>Starts listening with <paramref name="run"/> in place of the model for live captures (tests).</summary>
    internal static async Task<ViewerServer> StartAsync(ViewerServerOptions options, Action<string>? warn,
        Func<EngineKind, string, string?, AttentionCapture>? run)
    {
        var address = ListenAddress(options);
        if (!IPAddress.IsLoopback(address))
        {
            if (!options.AllowRemote)
                throw new AttnScopeException($"--host {options.Host} would let other machines reach this server; add --allow-remote if that is what you want");
            warn?.Invoke($"listening on {options.Host}: anyone who can reach this address can run the model and open the saved captures; there is no authentication");
        }
        if (options.Port is < 0 or > 65535) throw new AttnScopeException($"--port {options.Port} is not a port number (0..65535)");

        if (options.Corpus is { } corpus) CheckCorpusModel(options, corpus);
        var saved = new SavedCaptures(options.CapturesDir, options);
        var store = new CaptureStore(options.KeepCaptures, options.MaxStoredBytes);
        var live = new LiveCaptures(options, run);
        try { if (run is null) live.OpenDefault(); }
        catch { live.Dispose(); throw; }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(address, options.Port);
            // Kestrel's own limit sits above the server's, so an oversized body reaches the handler and gets a JSON 413.
            k.Limits.MaxRequestBodySize = options.MaxRequestBytes * 4L;
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        var index = WebAssets.Text("index.html");
        RequestGuard? guard = null; // set once the port is known, before the first request is served

        app.Use(async (ctx, next) =>
        {
            // Every response this pipeline starts carries the security headers, errors included.
            ctx.Response.OnStarting(() => { SecurityHeaders.Apply(ctx.Response.Headers); return Task.CompletedTask; });
            try
            {
                (guard ?? throw new HttpError(503, "the server is starting")).Check(ctx.Request);
                await next(ctx);
                if (ctx.Response.StatusCode == 405 && !ctx.Response.HasStarted)
                    throw new HttpError(405, $"{ctx.Request.Method} is not answered at {ctx.Request.Path}");
            }
            catch (Exception e) when (!ctx.Response.HasStarted)
            {
                var (status, message) = e switch
                {
                    HttpError he => (he.Status, he.Message),
                    SectionNotFoundException se => (404, se.Message),
                    Microsoft.AspNetCore.Http.BadHttpRequestException be => (be.StatusCode, be.StatusCode == 413 ? $"the request is larger than {options.MaxRequestBytes} bytes" : be.Message),
                    AttnScopeException ae => (400, ae.Message),
                    OperationCanceledException => (499, "cancelled"),
                    _ => (500, $"internal error ({e.GetType().Name}): {e.Message}"),
                };
                ctx.Response.Clear();
                await Error(ctx, status, message);
            }
        });

        string[] getOrHead = [HttpMethods.Get, HttpMethods.Head];
        app.MapMethods("/", getOrHead, () => Results.Content(index, "text/html; charset=utf-8"));
        app.MapMethods("/assets/{**name}", getOrHead, (string name) =>
            WebAssets.Exists(name) ? Results.Content(WebAssets.Text(name), WebAssets.ContentType(name)) : throw new HttpError(404, $"no asset '{name}'"));
        app.MapMethods("/api/info", getOrHead, () => Json(new JsonObject
        {
            ["model"] = options.Model,
            ["engines"] = new JsonArray(EngineKindNames.All.Select(e => (JsonNode?)JsonValue.Create(e)).ToArray()),
            ["maxChars"] = options.MaxTextChars,
            ["maxTokens"] = options.MaxTokens,
            ["savedCaptures"] = saved.Enabled,
            ["corpus"] = options.Corpus is not null,
        }));
        app.MapMethods("/api/saved", getOrHead, () =>
        {
            // Long captures (attnscope.long/1) open in the /long view, not the main viewer: listed apart.
            var (captures, longs) = saved.ListByKind();
            return Json(new JsonObject
            {
                ["captures"] = new JsonArray(captures.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
                ["long"] = new JsonArray(longs.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
            });
        });
        app.MapPost("/api/open", async (HttpRequest req) =>
        {
            var body = await JsonBody.ReadAsync(req, options.MaxRequestBytes);
            var name = body.Str("name") ?? throw new HttpError(400, "give the capture's file name as {\"name\": ...}");
            var capture = saved.Open(name);
            return Opened(store, new ViewerData(CaptureStore.ForViewer(capture), name));
        });
        app.MapPost("/api/capture", async (HttpRequest req) =>
        {
            var body = await JsonBody.ReadAsync(req, options.MaxRequestBytes);
            var capture = await live.CaptureAsync(body.Str("text"), body.Str("pair"), body.Str("engine"), req.HttpContext.RequestAborted);
            return Opened(store, new ViewerData(CaptureStore.ForViewer(capture), capture.Metadata.Texts.FirstOrDefault() ?? "capture"));
        });
        app.MapMethods("/api/data/{id}/{**section}", getOrHead, (string id, string section) =>
            Results.Bytes(store.Get(id).Section(section), "application/octet-stream"));
        // The long view (long-view.js): a map-style view of long captures, tiles cut per request.
        var longFiles = new LongCaptureFiles(options.CapturesDir);
        app.MapMethods("/long", getOrHead, () => Results.Content(WebAssets.Text("long.html"), "text/html; charset=utf-8"));
        app.MapMethods("/api/long/info", getOrHead, (HttpRequest req) =>
            Json(LongCaptureFiles.Describe(longFiles.Get(req.Query["name"]), req.Query["name"].ToString())));
        app.MapMethods("/api/long/tile", getOrHead, (HttpRequest req) =>
        {
            var q = req.Query;
            var bytes = LongCaptureFiles.TileBytes(longFiles.Get(q["name"]), LongCaptureFiles.Int(q, "layer"), LongCaptureFiles.Int(q, "head"),
                q["stat"] == "mean", LongCaptureFiles.Int(q, "block"), LongCaptureFiles.Int(q, "row"), LongCaptureFiles.Int(q, "col"),
                LongCaptureFiles.Int(q, "rows"), LongCaptureFiles.Int(q, "cols"));
            return Results.Bytes(bytes, "application/octet-stream");
        });
        MapCorpus(app, options, live, store);
        app.MapFallback("{**path}", (HttpContext ctx) => throw new HttpError(404, $"nothing at {ctx.Request.Path}"));

        try { await app.StartAsync(); }
        catch (IOException e)
        {
            live.Dispose();
            await app.DisposeAsync();
            throw new AttnScopeException($"cannot listen on {options.Host} port {options.Port}: {e.Message}");
        }
        var bound = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        guard = RequestGuard.For(options.Host, address, bound.Port);
        var shown = address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? "localhost" : bound.Host;
        return new ViewerServer(app, live, new UriBuilder(bound) { Host = shown }.Uri);
    }

    /// <summary>
    /// The address <c>--host</c> names: an IP address (an IPv4 address written as IPv6, <c>::ffff:a.b.c.d</c>, is
    /// that IPv4 address) or <c>localhost</c>; anything else is one clear line.
    /// </summary>
    public static IPAddress ListenAddress(ViewerServerOptions options)
    {
        var host = options.Host.Trim();
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return IPAddress.Loopback;
        if (!IPAddress.TryParse(host, out var address) || host.Contains('%'))
            throw new AttnScopeException($"--host '{options.Host}' is not an IP address (use 127.0.0.1, ::1, or an address of this machine)");
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    /// <summary>A corpus built with another model would open other tokens on a click: refused at start.</summary>
    private static void CheckCorpusModel(ViewerServerOptions options, ICorpusSource corpus)
    {
        var served = AttnScope.Sources.Models.ModelResolver.Resolve(options.Model).Id;
        static string Norm(string id) => Directory.Exists(id) || File.Exists(id) ? Path.GetFullPath(id).TrimEnd('/', '\\') : id;
        if (Norm(served) != Norm(corpus.Model))
            throw new AttnScopeException($"the corpus '{corpus.Path}' was built with the model '{corpus.Model}', but this server runs '{served}': " +
                                         $"start it with --model {corpus.Model}");
    }

    /// <summary>
    /// The /corpus page (<c>serve --corpus DB</c>): head statistic histograms per layer × head, the query/key scatter
    /// of a head, and a point's sentence captured again with the server's model. Without a corpus every route is a 404.
    /// </summary>
    private static void MapCorpus(WebApplication app, ViewerServerOptions options, LiveCaptures live, CaptureStore store)
    {
        string[] getOrHead = [HttpMethods.Get, HttpMethods.Head];
        ICorpusSource Corpus() => options.Corpus ?? throw new HttpError(404, "this server has no corpus: start it with --corpus DB");
        static int IntParam(HttpRequest req, string name, int fallback, int min, int max)
        {
            var text = req.Query[name].ToString();
            if (text.Length == 0) return fallback;
            if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int v) || v < min || v > max)
                throw new HttpError(400, $"'{name}' must be a whole number from {min} to {max}");
            return v;
        }
        app.MapMethods("/corpus", getOrHead, () =>
        {
            Corpus();
            return Results.Content(WebAssets.Text("corpus/corpus.html"), "text/html; charset=utf-8");
        });
        app.MapMethods("/api/corpus/info", getOrHead, () =>
        {
            var info = Corpus().Describe();
            info["maxSentences"] = options.MaxCorpusSentences;
            info["maxBins"] = options.MaxCorpusBins;
            return Json(info);
        });
        app.MapMethods("/api/corpus/histograms", getOrHead, async (HttpRequest req) =>
        {
            var corpus = Corpus();
            var stat = req.Query["stat"].ToString();
            int bins = IntParam(req, "bins", 30, 1, options.MaxCorpusBins);
            return Json(await Task.Run(() => corpus.Histograms(stat, bins)));
        });
        app.MapMethods("/api/corpus/embedding", getOrHead, async (HttpRequest req) =>
        {
            var corpus = Corpus();
            var head = req.Query["head"].ToString();
            var projection = req.Query["projection"].ToString() is { Length: > 0 } p ? p : "pca";
            int sentences = IntParam(req, "sentences", Math.Min(400, options.MaxCorpusSentences), 1, options.MaxCorpusSentences);
            return Json(await Task.Run(() => corpus.Embedding(head, projection, sentences), req.HttpContext.RequestAborted));
        });
        app.MapPost("/api/corpus/open", async (HttpRequest req) =>
        {
            var corpus = Corpus();
            var body = await JsonBody.ReadAsync(req, options.MaxRequestBytes);
            var line = body.Long("line") ?? throw new HttpError(400, "give the sentence's line number as {\"line\": N}");
            var sentence = corpus.Sentence(line) ?? throw new HttpError(404, $"line {line} is not in the corpus");
            var capture = await live.CaptureAsync(sentence.Text, sentence.Pair, "managed", req.HttpContext.RequestAborted);
            var data = new ViewerData(CaptureStore.ForViewer(capture), $"corpus line {line}");
            var meta = data.Meta("fetch");
            var id = store.Add(data);
            // The same model and text give the stored tokens; say so when they do not (another tokenizer version).
            bool same = capture.Tokens.Select(t => t.Text).SequenceEqual(sentence.Tokens);
            return Json(new JsonObject { ["id"] = id, ["meta"] = meta, ["line"] = line, ["sameTokens"] = same });
        });
    }

    private static IResult Opened(CaptureStore store, ViewerData data)
    {
        var meta = data.Meta("fetch"); // first: a capture whose description fails (e.g. invalid analyses) takes no slot
        var id = store.Add(data);
        return Json(new JsonObject { ["id"] = id, ["meta"] = meta });
    }

    private static IResult Json(JsonNode node, int status = 200) =>
        Results.Text(node.ToJsonString(), "application/json; charset=utf-8", Encoding.UTF8, status);

    private static Task Error(HttpContext ctx, int status, string message)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        return ctx.Response.WriteAsync(new JsonObject { ["error"] = message }.ToJsonString());
    }

    /// <summary>Waits until the server stops or <paramref name="ct"/> is cancelled.</summary>
    public Task WaitForShutdownAsync(CancellationToken ct) => _app.WaitForShutdownAsync(ct);

    /// <summary>Stops listening and closes the model sessions.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _live.Dispose();
    }
}
