using AttnScope.Capture;
using AttnScope.Sources;

namespace AttnScope.Web.Server;

/// <summary>
/// Runs the model on text typed into the page. Each engine's session is opened on first use and kept; one capture
/// runs on a session at a time, and at most <see cref="ViewerServerOptions.MaxConcurrentCaptures"/> run at once
/// (further requests get 429 at once rather than piling up).
/// </summary>
public sealed class LiveCaptures : IDisposable
{
    private readonly ViewerServerOptions _options;
    private readonly SemaphoreSlim _slots;
    private readonly Dictionary<EngineKind, (ModelSession Session, SemaphoreSlim Lock)> _sessions = [];
    private readonly Lock _open = new();
    private readonly Func<EngineKind, string, string?, AttentionCapture> _run;

    /// <param name="run">What a capture does; by default the model session of the engine (tests pass their own).</param>
    public LiveCaptures(ViewerServerOptions options, Func<EngineKind, string, string?, AttentionCapture>? run = null)
    {
        if (options.MaxConcurrentCaptures < 1) throw new AttnScopeException("at least one capture must be allowed at a time");
        _options = options;
        _slots = new SemaphoreSlim(options.MaxConcurrentCaptures, options.MaxConcurrentCaptures);
        _run = run ?? RunOnSession;
    }

    public async Task<AttentionCapture> CaptureAsync(string? text, string? pair, string? engine, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new HttpError(400, "type some text to capture");
        int chars = text.Length + (pair?.Length ?? 0);
        if (chars > _options.MaxTextChars)
            throw new HttpError(413, $"the text is {chars} characters; this server takes at most {_options.MaxTextChars}");
        EngineKind kind;
        try { kind = EngineKindNames.Parse(engine ?? "managed"); }
        catch (AttnScopeException e) { throw new HttpError(400, e.Message); }

        if (!await _slots.WaitAsync(0, ct))
            throw new HttpError(429, $"{_options.MaxConcurrentCaptures} captures are already running; try again in a moment");
        try
        {
            return await Task.Run(() => _run(kind, text, string.IsNullOrWhiteSpace(pair) ? null : pair), ct);
        }
        finally
        {
            _slots.Release();
        }
    }

    private AttentionCapture RunOnSession(EngineKind kind, string text, string? pair)
    {
        var (session, gate) = Session(kind);
        gate.Wait();
        try { return session.Capture(text, pair, captureQkv: true); }
        finally { gate.Release(); }
    }

    /// <summary>Opens the managed engine's session now, so a bad model name fails at start rather than on the first request.</summary>
    public void OpenDefault() => Session(EngineKind.Managed);

    private (ModelSession, SemaphoreSlim) Session(EngineKind kind)
    {
        lock (_open)
        {
            if (!_sessions.TryGetValue(kind, out var entry))
            {
                entry = (ModelSession.Open(_options.Model, kind), new SemaphoreSlim(1, 1));
                _sessions[kind] = entry;
            }
            return entry;
        }
    }

    public void Dispose()
    {
        lock (_open)
        {
            foreach (var (session, _) in _sessions.Values) session.Dispose();
            _sessions.Clear();
        }
    }
}
