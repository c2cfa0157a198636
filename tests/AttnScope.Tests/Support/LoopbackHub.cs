using System.Net;
using System.Net.Sockets;

namespace AttnScope.Tests.Support;

/// <summary>
/// A tiny HTTP server on 127.0.0.1 that serves files in the Hugging Face Hub's URL layout
/// (<c>/{org}/{name}/resolve/{revision}/{file}</c>), answering 404 with <c>X-Error-Code: RepoNotFound</c> for
/// unknown repositories, and counting requests. Tests never reach the internet.
/// </summary>
public sealed class LoopbackHub : IDisposable
{
    private readonly HttpListener _listener;
    private readonly Dictionary<string, Dictionary<string, byte[]>> _repos = new();
    private readonly Task _loop;
    public string Endpoint { get; }
    public int Requests;
    public string Commit { get; } = "0123456789abcdef0123456789abcdef01234567";

    public LoopbackHub()
    {
        // A free port is probed, then bound; another process may take it in between, so a few tries.
        for (int attempt = 0; ; attempt++)
        {
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0)) { probe.Start(); port = ((IPEndPoint)probe.LocalEndpoint).Port; probe.Stop(); }
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try { listener.Start(); }
            catch (HttpListenerException) when (attempt < 5) { continue; }
            _listener = listener;
            Endpoint = $"http://127.0.0.1:{port}";
            break;
        }
        _loop = Task.Run(Serve);
    }

    public void AddRepo(string repo, Dictionary<string, byte[]> files) => _repos[repo] = files;

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch { return; }
            Interlocked.Increment(ref Requests);
            var parts = ctx.Request.Url!.AbsolutePath.Trim('/').Split('/');
            var res = ctx.Response;
            if (parts.Length >= 5 && parts[2] == "resolve" && _repos.TryGetValue(parts[0] + "/" + parts[1], out var files))
            {
                var file = string.Join("/", parts[4..]);
                if (files.TryGetValue(file, out var bytes))
                {
                    res.StatusCode = 200;
                    res.Headers["X-Repo-Commit"] = Commit;
                    res.ContentLength64 = bytes.Length;
                    await res.OutputStream.WriteAsync(bytes);
                }
                else
                {
                    res.StatusCode = 404;
                    res.Headers["X-Error-Code"] = "EntryNotFound";
                }
            }
            else
            {
                res.StatusCode = 404;
                res.Headers["X-Error-Code"] = "RepoNotFound";
            }
            res.Close();
        }
    }

    public void Dispose()
    {
        // Close alone: on Linux, Stop followed by Close releases the prefix twice, and the second release binds the
        // port again, failing when another process has taken it meanwhile.
        _listener.Close();
        try { _loop.Wait(2000); } catch { /* stopping */ }
    }
}
