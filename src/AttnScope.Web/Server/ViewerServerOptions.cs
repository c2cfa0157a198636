namespace AttnScope.Web.Server;

/// <summary>How <c>attnscope serve</c> runs: the model for live captures, the one folder saved captures come from,
/// where it listens, and the limits that keep one request from taking the server down.</summary>
public sealed record ViewerServerOptions
{
    public string Model { get; init; } = "minilm";
    /// <summary>The folder whose <c>*.safetensors</c> captures may be opened by name; null: none.</summary>
    public string? CapturesDir { get; init; }
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>0 picks a free port.</summary>
    public int Port { get; init; } = 8765;
    /// <summary>Must be set to listen on anything but a loopback address.</summary>
    public bool AllowRemote { get; init; }
    public int MaxConcurrentCaptures { get; init; } = 2;
    /// <summary>Characters of text plus second text one live capture may have (413 beyond).</summary>
    public int MaxTextChars { get; init; } = 20_000;
    /// <summary>Bytes one request body may have (413 beyond).</summary>
    public int MaxRequestBytes { get; init; } = 256 * 1024;
    /// <summary>Captures kept in memory for the pages that show them; the oldest go first.</summary>
    public int KeepCaptures { get; init; } = 16;
}
