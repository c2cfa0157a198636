namespace AttnScope.Web.Server;

/// <summary>How <c>attnscope serve</c> runs: the model for live captures, the one folder saved captures come from,
/// where it listens, and the limits that keep one request from taking the server down. The limits are stated to
/// users in docs/server.md; keep the two in step.</summary>
internal sealed record ViewerServerOptions
{
    /// <summary>The model live captures run on.</summary>
    public string Model { get; init; } = "minilm";
    /// <summary>The folder whose <c>*.safetensors</c> captures may be opened by name; null: none.</summary>
    public string? CapturesDir { get; init; }
    /// <summary>The address to listen on (an IP address or <c>localhost</c>).</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>0 picks a free port.</summary>
    public int Port { get; init; } = 8765;
    /// <summary>Must be set to listen on anything but a loopback address.</summary>
    public bool AllowRemote { get; init; }
    /// <summary>Live captures that may run at once (429 beyond).</summary>
    public int MaxConcurrentCaptures { get; init; } = 2;
    /// <summary>Characters of text plus second text one live capture may have (413 beyond).</summary>
    public int MaxTextChars { get; init; } = 20_000;
    /// <summary>Tokens one live capture may have after the model's own truncation (413 beyond, before the model runs).</summary>
    public int MaxTokens { get; init; } = 512;
    /// <summary>Bytes one request body may have (413 beyond).</summary>
    public int MaxRequestBytes { get; init; } = 256 * 1024;
    /// <summary>Captures kept in memory for the pages that show them; the oldest go first.</summary>
    public int KeepCaptures { get; init; } = 16;
    /// <summary>Bytes of attention (and query/key) data a live capture may hold: one whose model and length would
    /// produce more is refused with 413 before the model runs.</summary>
    public long MaxCaptureBytes { get; init; } = 512L << 20;
    /// <summary>Largest saved capture file the server opens (refused with 413 before it is read): as large as the
    /// store may keep, so the 1024-token × 144-head captures the viewer is made for (604 MB) open.</summary>
    public long MaxSavedCaptureBytes { get; init; } = 1L << 30;
    /// <summary>Bytes all kept captures may hold together; the oldest are dropped to stay under it.</summary>
    public long MaxStoredBytes { get; init; } = 1L << 30;
    /// <summary>Bytes of saved capture files (by file length) kept after reading, so that opening one again skips the
    /// read; keyed by path, last-write time and length, least recently used dropped first; 0 keeps none.</summary>
    public long MaxCachedSavedBytes { get; init; } = 1L << 30;
    /// <summary>Layers a stack of a saved capture may declare (checked in its header, before anything is allocated).</summary>
    public int MaxLayers { get; init; } = 256;
    /// <summary>Heads per layer a stack of a saved capture may declare.</summary>
    public int MaxHeads { get; init; } = 256;
    /// <summary>Tokens (queries or keys) a stack of a saved capture may declare.</summary>
    public int MaxCaptureTokens { get; init; } = 16_384;
    /// <summary>A corpus database for the /corpus page (<c>serve --corpus DB</c>); null: no /corpus page. The server does
    /// not dispose it.</summary>
    public ICorpusSource? Corpus { get; init; }
    /// <summary>Most sentences one /corpus scatter samples (their queries and keys are the points; 400 at most).</summary>
    public int MaxCorpusSentences { get; init; } = 1000;
    /// <summary>Most bins of one /corpus histogram.</summary>
    public int MaxCorpusBins { get; init; } = 100;
}
