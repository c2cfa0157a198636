using System.Security.Cryptography;
using AttnScope.Capture;
using AttnScope.Web.Data;

namespace AttnScope.Web.Server;

/// <summary>
/// The captures the server's pages are showing, by random id. It holds at most <c>keep</c> captures and at most
/// <c>maxBytes</c> of tensor data: adding one drops the oldest until both hold. A capture is stored with only the
/// tensors the viewer reads (attention, query, key, analyses); values and scores are dropped.
/// </summary>
internal sealed class CaptureStore
{
    private readonly int _keep;
    private readonly long _maxBytes;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (ViewerData Data, long Bytes)> _byId = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private long _bytes;

    /// <param name="keep">Captures kept at most (at least 1).</param>
    /// <param name="maxBytes">Bytes of tensor data kept at most, all captures together.</param>
    public CaptureStore(int keep, long maxBytes = long.MaxValue)
    {
        if (keep < 1) throw new AttnScopeException("the server must keep at least one capture");
        if (maxBytes < 1) throw new AttnScopeException("the server's capture memory must be positive");
        _keep = keep;
        _maxBytes = maxBytes;
    }

    /// <summary>Captures held now.</summary>
    public int Count { get { lock (_lock) return _byId.Count; } }

    /// <summary>Bytes of tensor data held now.</summary>
    public long Bytes { get { lock (_lock) return _bytes; } }

    /// <summary>Bytes of tensor data a capture holds once stored (attention, query, key, value and analyses).</summary>
    public static long SizeOf(AttentionCapture capture) =>
        capture.Stacks.Values.Sum(s => 4L * (s.Attention.Length + (s.Query?.Length ?? 0) + (s.Key?.Length ?? 0) + (s.Value?.Length ?? 0)))
        + capture.Analyses.Values.Sum(a => 4L * a.Tensor.Length);

    /// <summary>The same capture without the tensor the viewer never reads (scores); values stay for the norm-based
    /// attention view.</summary>
    public static AttentionCapture ForViewer(AttentionCapture capture)
    {
        if (capture.Stacks.Values.All(s => s.Scores is null)) return capture;
        var stacks = capture.Stacks.Values.Select(s => new AttentionStack(s.Name, s.Attention) { Query = s.Query, Key = s.Key, Value = s.Value });
        return new AttentionCapture(capture.Metadata, capture.Tokens, stacks, capture.TargetTokens, capture.Analyses.Values);
    }

    /// <summary>Stores a capture and returns its new id; one larger than all the memory the store may use is a 413.</summary>
    public string Add(ViewerData data)
    {
        long size = SizeOf(data.Capture);
        if (size > _maxBytes)
            throw new HttpError(413, $"the capture holds {Size(size)} of attention data; this server keeps at most {Size(_maxBytes)}");
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        lock (_lock)
        {
            _byId[id] = (data, size);
            _order.Enqueue(id);
            _bytes += size;
            while ((_byId.Count > _keep || _bytes > _maxBytes) && _order.TryDequeue(out var old))
                if (_byId.Remove(old, out var gone)) _bytes -= gone.Bytes;
        }
        return id;
    }

    /// <summary>The capture of that id; an unknown (or dropped) one is a 404.</summary>
    public ViewerData Get(string id)
    {
        lock (_lock)
            if (_byId.TryGetValue(id, out var entry)) return entry.Data;
        throw new HttpError(404, $"unknown capture '{id}' (the server keeps the last {_keep}, within {Size(_maxBytes)}; capture or open it again)");
    }

    /// <summary>A byte count for people: bytes, KiB, MiB or GiB.</summary>
    internal static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} bytes",
        < 1L << 20 => $"{bytes / 1024.0:0.#} KiB",
        < 1L << 30 => $"{bytes / (1024.0 * 1024.0):0.#} MiB",
        _ => $"{bytes / (1024.0 * 1024.0 * 1024.0):0.#} GiB",
    };
}
