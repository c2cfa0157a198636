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
/// input, 404 unknown, 413 too large, 429 busy), after which the server goes on serving.
/// </summary>
public sealed class ViewerServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly LiveCaptures _live;

    public Uri Address { get; }

    private ViewerServer(WebApplication app, LiveCaptures live, Uri address)
    {
        _app = app; _live = live; Address = address;
    }

    /// <summary>True for addresses only this machine can reach.</summary>
    public static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>Starts listening; <paramref name="warn"/> hears about anything a user should know (a remote binding).</summary>
    public static async Task<ViewerServer> StartAsync(ViewerServerOptions options, Action<string>? warn = null)
    {
        IPAddress address;
        if (options.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) address = IPAddress.Loopback;
        else if (!IPAddress.TryParse(options.Host, out address!))
            throw new AttnScopeException($"--host '{options.Host}' is not an IP address (use 127.0.0.1, ::1, or an address of this machine)");
        if (!IPAddress.IsLoopback(address))
        {
            if (!options.AllowRemote)
                throw new AttnScopeException($"--host {options.Host} would let other machines reach this server; add --allow-remote if that is what you want");
            warn?.Invoke($"listening on {options.Host}: anyone who can reach this address can run the model and open the saved captures; there is no authentication");
        }
        if (options.Port is < 0 or > 65535) throw new AttnScopeException($"--port {options.Port} is not a port number (0..65535)");

        var saved = new SavedCaptures(options.CapturesDir);
        var live = new LiveCaptures(options);
        try { live.OpenDefault(); }
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
        var store = new CaptureStore(options.KeepCaptures);
        var index = WebAssets.Text("index.html");

        app.Use(async (ctx, next) =>
        {
            var h = ctx.Response.Headers;
            h["X-Content-Type-Options"] = "nosniff";
            h["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'none'";
            h["Referrer-Policy"] = "no-referrer";
            try { await next(ctx); }
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

        app.MapGet("/", () => Results.Content(index, "text/html; charset=utf-8"));
        app.MapGet("/assets/{**name}", (string name) =>
            WebAssets.Exists(name) ? Results.Content(WebAssets.Text(name), WebAssets.ContentType(name)) : throw new HttpError(404, $"no asset '{name}'"));
        app.MapGet("/api/info", () => Json(new JsonObject
        {
            ["model"] = options.Model,
            ["engines"] = new JsonArray(EngineKindNames.All.Select(e => (JsonNode?)JsonValue.Create(e)).ToArray()),
            ["maxChars"] = options.MaxTextChars,
            ["savedCaptures"] = saved.Enabled,
        }));
        app.MapGet("/api/saved", () => Json(new JsonObject
        {
            ["captures"] = new JsonArray(saved.List().Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
        }));
        app.MapPost("/api/open", async (HttpRequest req) =>
        {
            var body = await ReadJson(req, options.MaxRequestBytes);
            var name = Str(body, "name") ?? throw new HttpError(400, "give the capture's file name as {\"name\": ...}");
            var capture = saved.Open(name);
            return Opened(store, new ViewerData(capture, name));
        });
        app.MapPost("/api/capture", async (HttpRequest req) =>
        {
            var body = await ReadJson(req, options.MaxRequestBytes);
            var text = Str(body, "text");
            var capture = await live.CaptureAsync(text, Str(body, "pair"), Str(body, "engine"), req.HttpContext.RequestAborted);
            return Opened(store, new ViewerData(capture, capture.Metadata.Texts.FirstOrDefault() ?? "capture"));
        });
        app.MapGet("/api/data/{id}/{**section}", (string id, string section) =>
            Results.Bytes(store.Get(id).Section(section), "application/octet-stream"));
        app.MapFallback("{**path}", (HttpContext ctx) => throw new HttpError(404, $"nothing at {ctx.Request.Path}"));

        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ViewerServer(app, live, new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal)));
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

    private static string? Str(JsonObject body, string key) =>
        body[key] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            _ => throw new HttpError(400, $"'{key}' must be a string"),
        };

    /// <summary>Reads a JSON object body of at most <paramref name="limit"/> bytes (413 beyond, 400 if not a JSON object).</summary>
    private static async Task<JsonObject> ReadJson(HttpRequest req, int limit)
    {
        if (req.ContentLength > limit) throw new HttpError(413, $"the request is {req.ContentLength} bytes; this server takes at most {limit}");
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await req.Body.ReadAsync(chunk, req.HttpContext.RequestAborted)) > 0)
        {
            buffer.Write(chunk, 0, n);
            if (buffer.Length > limit) throw new HttpError(413, $"the request is larger than {limit} bytes, the most this server takes");
        }
        try
        {
            return JsonNode.Parse(buffer.ToArray()) as JsonObject ?? throw new HttpError(400, "the request body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new HttpError(400, $"the request body is not valid JSON: {e.Message}");
        }
    }

    public Task WaitForShutdownAsync(CancellationToken ct) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _live.Dispose();
    }
}
