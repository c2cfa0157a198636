using AttnScope.Capture;

namespace AttnScope.Web.Server;

/// <summary>
/// The saved captures read lately, so that opening one again does not read and parse the file again. An entry is
/// keyed by the file's real path, its last-write time and its length: a file rewritten since is read afresh. The
/// cache holds at most <c>maxBytes</c> of files (counted by their length); adding one drops the least recently used
/// until it fits, and a file larger than the whole budget is not kept at all.
/// </summary>
internal sealed class SavedCaptureCache
{
    private readonly long _maxBytes;
    private readonly Lock _lock = new();
    private readonly Dictionary<Key, LinkedListNode<(Key Key, AttentionCapture Capture)>> _byKey = new();
    private readonly LinkedList<(Key Key, AttentionCapture Capture)> _recent = new();
    private long _bytes;

    /// <summary>What identifies one version of a file.</summary>
    public readonly record struct Key(string RealPath, long LastWriteTicks, long Length);

    /// <param name="maxBytes">Bytes of files kept at most, all together; 0 keeps nothing.</param>
    public SavedCaptureCache(long maxBytes)
    {
        if (maxBytes < 0) throw new AttnScopeException("the saved-capture cache size cannot be negative");
        _maxBytes = maxBytes;
    }

    /// <summary>Files held now.</summary>
    public int Count { get { lock (_lock) return _byKey.Count; } }

    /// <summary>Bytes (file lengths) held now.</summary>
    public long Bytes { get { lock (_lock) return _bytes; } }

    /// <summary>The capture read from that version of the file, if it is held (it becomes the most recent).</summary>
    public bool TryGet(Key key, out AttentionCapture capture)
    {
        lock (_lock)
        {
            if (_byKey.TryGetValue(key, out var node))
            {
                _recent.Remove(node);
                _recent.AddFirst(node);
                capture = node.Value.Capture;
                return true;
            }
        }
        capture = null!;
        return false;
    }

    /// <summary>Keeps a capture read from that version of its file; older versions of the same file go.</summary>
    public void Add(Key key, AttentionCapture capture)
    {
        if (key.Length > _maxBytes) return;
        lock (_lock)
        {
            foreach (var stale in _byKey.Keys.Where(k => k.RealPath == key.RealPath).ToList()) Remove(stale);
            var node = _recent.AddFirst((key, capture));
            _byKey[key] = node;
            _bytes += key.Length;
            while (_bytes > _maxBytes && _recent.Last is { } last) Remove(last.Value.Key);
        }
    }

    private void Remove(Key key)
    {
        if (!_byKey.Remove(key, out var node)) return;
        _recent.Remove(node);
        _bytes -= key.Length;
    }
}
