using System.Collections.Concurrent;
using System.Security.Cryptography;
using AttnScope.Web.Data;

namespace AttnScope.Web.Server;

/// <summary>The captures the server's pages are showing, by random id; the oldest are dropped beyond a limit.</summary>
public sealed class CaptureStore(int keep)
{
    private readonly ConcurrentDictionary<string, ViewerData> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    public string Add(ViewerData data)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        _byId[id] = data;
        _order.Enqueue(id);
        while (_order.Count > keep && _order.TryDequeue(out var old)) _byId.TryRemove(old, out _);
        return id;
    }

    public ViewerData Get(string id) =>
        _byId.TryGetValue(id, out var data) ? data
        : throw new HttpError(404, $"unknown capture '{id}' (the server keeps the last {keep}; capture or open it again)");
}
