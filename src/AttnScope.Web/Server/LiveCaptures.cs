using AttnScope.Capture;
using AttnScope.Sources;

namespace AttnScope.Web.Server;

/// <summary>
/// Runs the model on text typed into the page. Each engine's session is opened on first use and kept; one capture
/// runs on a session at a time, and at most <see cref="ViewerServerOptions.MaxConcurrentCaptures"/> run at once
/// (further requests get 429 at once rather than piling up). Before the model runs, the text is tokenized and refused
/// (413) if it has more than <see cref="ViewerServerOptions.MaxTokens"/> tokens or if the attention it would produce
/// exceeds <see cref="ViewerServerOptions.MaxCaptureBytes"/>, so a request cannot make the model allocate without bound.
/// </summary>
internal sealed class LiveCaptures : IDisposable
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

    /// <summary>Runs one capture of <paramref name="text"/> (and <paramref name="pair"/>) on <paramref name="engine"/>;
    /// every refusal is an <see cref="HttpError"/>.</summary>
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

    private (DecoderSession Session, SemaphoreSlim Lock)? _decoder;
    private bool? _isDecoder;

    /// <summary>The decoder language model, when the server's model is one (opened once; else null).</summary>
    private (DecoderSession Session, SemaphoreSlim Lock)? Decoder()
    {
        lock (_open)
        {
            if (_isDecoder is null)
            {
                var files = AttnScope.Sources.Models.ModelResolver.Resolve(_options.Model);
                _isDecoder = DecoderSession.IsDecoder(files);
                if (_isDecoder == true) _decoder = (DecoderSession.Open(files), new SemaphoreSlim(1, 1));
            }
            return _decoder;
        }
    }

    /// <summary>A decoder language model: one text, the managed engine, the same size limits.</summary>
    private AttentionCapture RunOnDecoder(DecoderSession session, SemaphoreSlim gate, EngineKind kind, string text, string? pair)
    {
        if (pair is not null) throw new HttpError(400, "this server's model is a decoder language model: it takes one text, not a sentence pair");
        if (kind != EngineKind.Managed) throw new HttpError(400, "this server's model is a decoder language model, which runs on the managed engine only");
        CheckSize(session.Tokenizer.Encode(text).Length, session.Spec.Layers, session.Spec.Heads, session.Spec.HeadDim);
        gate.Wait();
        try { return session.Capture(text, captureQkv: true); }
        finally { gate.Release(); }
    }

    private AttentionCapture RunOnSession(EngineKind kind, string text, string? pair)
    {
        if (Decoder() is var (decoder, decoderGate)) return RunOnDecoder(decoder, decoderGate, kind, text, pair);
        var (session, gate) = Session(kind);
        CheckSize(session.Encode(text, pair).Length, session.Config.NumLayers, session.Config.NumHeads, session.Config.HeadDim);
        gate.Wait();
        try { return session.Capture(text, pair, captureQkv: true); }
        finally { gate.Release(); }
    }

    /// <summary>Refuses a text whose capture would be larger than the server's limits, before the model runs.</summary>
    private void CheckSize(int tokens, int layers, int heads, int headDim)
    {
        if (tokens > _options.MaxTokens)
            throw new HttpError(413, $"the text is {tokens} tokens; this server captures at most {_options.MaxTokens} (shorten the text)");
        // Attention [layers, heads, tokens, tokens] plus query, key and value [layers, heads, tokens, head_dim], float32.
        long bytes = 4L * layers * heads * tokens * ((long)tokens + 3L * headDim);
        if (bytes > _options.MaxCaptureBytes)
            throw new HttpError(413, $"a capture of {tokens} tokens on this model holds {CaptureStore.Size(bytes)} of attention data; " +
                                     $"this server takes at most {CaptureStore.Size(_options.MaxCaptureBytes)} per capture (shorten the text)");
    }

    /// <summary>Opens the managed engine's session now, so a bad model name fails at start rather than on the first request.</summary>
    public void OpenDefault()
    {
        if (Decoder() is null) Session(EngineKind.Managed);
    }

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

    /// <summary>Closes every model session opened so far.</summary>
    public void Dispose()
    {
        lock (_open)
        {
            foreach (var (session, _) in _sessions.Values) session.Dispose();
            _sessions.Clear();
        }
    }
}
