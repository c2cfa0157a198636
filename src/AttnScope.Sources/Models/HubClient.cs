using System.Net;
using System.Text.RegularExpressions;
using AttnScope.Capture;

namespace AttnScope.Sources.Models;

/// <summary>
/// Downloads a model's files from the Hugging Face Hub (or any server with its URL layout,
/// <c>{endpoint}/{org}/{name}/resolve/{revision}/{file}</c>) into the Hub's own cache layout
/// (<c>models--org--name/snapshots/{commit}/{file}</c> and <c>refs/{revision}</c>), so models already
/// downloaded by Python tools are reused and nothing is fetched twice.
/// Endpoint: <c>HF_ENDPOINT</c> (default https://huggingface.co). Cache: <c>$ATTNSCOPE_CACHE/hub</c>,
/// else <c>HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, else <c>~/.cache/huggingface/hub</c>.
/// <c>HF_HUB_OFFLINE=1</c> uses the cache only; <c>HF_TOKEN</c> is sent for gated or private models.
/// </summary>
internal sealed partial class HubClient
{
    public const string DefaultEndpoint = "https://huggingface.co";

    public string Endpoint { get; }
    public string CacheRoot { get; }
    public bool Offline { get; }
    private readonly string? _token;
    private readonly HttpMessageHandler? _handler;

    public HubClient(string? endpoint = null, string? cacheRoot = null, bool? offline = null, string? token = null, HttpMessageHandler? handler = null)
    {
        Endpoint = (endpoint ?? Environment.GetEnvironmentVariable("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/');
        CacheRoot = cacheRoot ?? DefaultCacheRoot();
        Offline = offline ?? Environment.GetEnvironmentVariable("HF_HUB_OFFLINE") is "1" or "true" or "TRUE";
        _token = token ?? Environment.GetEnvironmentVariable("HF_TOKEN");
        _handler = handler;
    }

    public static string DefaultCacheRoot()
    {
        var own = Environment.GetEnvironmentVariable(CacheDirectory.EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(own)) return Path.Combine(Path.GetFullPath(own), "hub");
        var hubCache = Environment.GetEnvironmentVariable("HF_HUB_CACHE");
        if (!string.IsNullOrWhiteSpace(hubCache)) return Path.GetFullPath(hubCache);
        var hfHome = Environment.GetEnvironmentVariable("HF_HOME");
        if (!string.IsNullOrWhiteSpace(hfHome)) return Path.Combine(Path.GetFullPath(hfHome), "hub");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(string.IsNullOrEmpty(home) ? Path.GetTempPath() : home, ".cache", "huggingface", "hub");
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")]
    private static partial Regex RepoIdPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex RevisionPattern();

    /// <summary>Parses <c>hf:ORG/NAME[@revision]</c> (the <c>hf:</c> prefix optional here).</summary>
    public static (string RepoId, string Revision) ParseModelName(string spec)
    {
        var s = spec.StartsWith("hf:", StringComparison.Ordinal) ? spec[3..] : spec;
        var at = s.IndexOf('@');
        var repo = at < 0 ? s : s[..at];
        var rev = at < 0 ? "main" : s[(at + 1)..];
        if (!RepoIdPattern().IsMatch(repo) || repo.Contains(".."))
            throw new AttnScopeException($"'{spec}' is not a valid Hugging Face model name (expected hf:ORG/NAME or hf:ORG/NAME@REVISION)");
        if (!RevisionPattern().IsMatch(rev) || rev.Contains(".."))
            throw new AttnScopeException($"'{rev}' is not a valid revision (a branch, tag or commit hash)");
        return (repo, rev);
    }

    private string RepoFolder(string repo) => Path.Combine(CacheRoot, "models--" + repo.Replace("/", "--"));

    /// <summary>
    /// Ensures the files are cached for (repo, revision) and returns the snapshot folder. Each entry of
    /// <paramref name="files"/> lists alternatives: the first one the server has is taken; a group marked optional
    /// may be missing entirely.
    /// </summary>
    public async Task<string> EnsureAsync(string repo, string revision, IReadOnlyList<(string[] Alternatives, bool Required)> files, CancellationToken ct = default)
    {
        var repoDir = RepoFolder(repo);
        var cached = CachedSnapshot(repoDir, revision);
        if (cached is not null && files.Where(f => f.Required).All(f => f.Alternatives.Any(a => File.Exists(Path.Combine(cached, a)))))
            return cached;
        if (Offline)
            throw new AttnScopeException($"model {repo}@{revision} is not in the cache ({repoDir}) and HF_HUB_OFFLINE is set");

        using var http = _handler is null ? new HttpClient() : new HttpClient(_handler, disposeHandler: false);
        http.Timeout = TimeSpan.FromMinutes(30);
        string? commit = null;
        string? snapshot = cached;
        foreach (var (alternatives, required) in files)
        {
            bool got = false;
            foreach (var file in alternatives)
            {
                if (snapshot is not null && File.Exists(Path.Combine(snapshot, file))) { got = true; break; }
                var url = $"{Endpoint}/{repo}/resolve/{Uri.EscapeDataString(revision)}/{file}";
                using var req = new HttpRequestMessage(HttpMethod.Get, url);
                if (!string.IsNullOrEmpty(_token)) req.Headers.Authorization = new("Bearer", _token);
                HttpResponseMessage resp;
                try
                {
                    resp = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, ct);
                }
                catch (HttpRequestException e)
                {
                    throw new AttnScopeException($"cannot reach {Endpoint} to download {repo}@{revision}: {e.Message} (offline? models already cached are used without a connection)");
                }
                catch (TaskCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw new AttnScopeException($"download of {url} timed out");
                }
                using (resp)
                {
                    if (resp.StatusCode == HttpStatusCode.NotFound)
                    {
                        if (resp.Headers.TryGetValues("X-Error-Code", out var codes) && codes.Contains("RepoNotFound"))
                            throw new AttnScopeException($"model '{repo}' was not found on {Endpoint} (or it is private: set HF_TOKEN)");
                        continue; // try the next alternative
                    }
                    if (resp.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                        throw new AttnScopeException($"{Endpoint} refused {repo}@{revision} ({(int)resp.StatusCode}): the model is gated or private; set HF_TOKEN");
                    if (!resp.IsSuccessStatusCode)
                        throw new AttnScopeException($"{Endpoint} answered {(int)resp.StatusCode} {resp.ReasonPhrase} for {url}");
                    if (commit is null && snapshot is null)
                    {
                        commit = resp.Headers.TryGetValues("X-Repo-Commit", out var c) ? c.FirstOrDefault() : null;
                        if (commit is null || !RevisionPattern().IsMatch(commit)) commit = revision;
                        snapshot = Path.Combine(repoDir, "snapshots", commit);
                        Directory.CreateDirectory(snapshot);
                    }
                    var target = Path.Combine(snapshot!, file);
                    await using var body = await resp.Content.ReadAsStreamAsync(ct);
                    Capture.Io.AtomicFile.Write(target, dst => body.CopyTo(dst));
                    got = true;
                    break;
                }
            }
            if (!got && required)
                throw new AttnScopeException($"model '{repo}'@{revision} has none of: {string.Join(", ", alternatives)} (on {Endpoint})");
        }
        if (commit is not null && commit != revision)
        {
            Directory.CreateDirectory(Path.Combine(repoDir, "refs"));
            Capture.Io.AtomicFile.WriteAllBytes(Path.Combine(repoDir, "refs", revision), System.Text.Encoding.ASCII.GetBytes(commit));
        }
        return snapshot ?? throw new AttnScopeException($"nothing was downloaded for {repo}@{revision}");
    }

    private static string? CachedSnapshot(string repoDir, string revision)
    {
        var refFile = Path.Combine(repoDir, "refs", revision);
        if (File.Exists(refFile))
        {
            var commit = File.ReadAllText(refFile).Trim();
            if (RevisionPattern().IsMatch(commit))
            {
                var dir = Path.Combine(repoDir, "snapshots", commit);
                if (Directory.Exists(dir)) return dir;
            }
        }
        var direct = Path.Combine(repoDir, "snapshots", revision);
        return Directory.Exists(direct) ? direct : null;
    }
}
