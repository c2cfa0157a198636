using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Capture.Long;
using AttnScope.Sources.Transformer;

namespace AttnScope.Sources.Long;

/// <summary>
/// Writes a long capture while the core computes: an <see cref="IAttentionRowSink"/> that stores the rows of
/// chosen heads (encoded, straight to their place in the file) and accumulates the pyramid's finest level (block
/// maxima and sums) for every head. Nothing of size tokens² is held in memory. The header is written first (every
/// size is known up front); the file appears under its name only when <see cref="Finish"/> succeeds.
/// </summary>
internal sealed class LongCaptureWriter : IAttentionRowSink, IDisposable
{
    /// <summary>Memory the pyramid accumulators may take (two floats per finest cell per head).</summary>
    public const long MaxAccumulatorBytes = 6L << 30;

    private readonly LongCaptureLayout _layout;
    private readonly string _path, _temp;
    private readonly FileStream _stream;
    private readonly long _dataStart;
    private readonly Dictionary<string, long> _offsets = new(StringComparer.Ordinal);
    private readonly int[] _chosenIndex; // layer·heads + head → index in Chosen, or −1
    private readonly bool _causal;
    private readonly int _base, _side;
    private readonly float[][]? _max, _sum; // per head (layer·heads + head): [side, side]
    private readonly ThreadLocal<byte[]> _encoded = new(() => []);
    private bool _finished;

    /// <summary>The layout being written.</summary>
    public LongCaptureLayout Layout => _layout;

    /// <summary>Creates the file (as a temporary beside <paramref name="path"/>) with its header and full size.</summary>
    /// <param name="metadata">Model, texts, tokens etc.; the layout's own keys are added.</param>
    /// <param name="causal">Keys after a query are known to be 0 (skipped when accumulating).</param>
    public LongCaptureWriter(string path, LongCaptureLayout layout, IReadOnlyDictionary<string, string> metadata, bool causal)
    {
        _layout = layout;
        _path = path;
        _causal = causal;
        int m = layout.Tokens;
        if (layout.Blocks.Count > 0)
        {
            _base = layout.Blocks[0];
            _side = LongCaptureLayout.Cells(m, _base);
            long bytes = (long)layout.Layers * layout.Heads * _side * _side * 8;
            if (bytes > MaxAccumulatorBytes)
                throw new AttnScopeException($"the pyramid of {layout.Layers} × {layout.Heads} heads would need {bytes >> 20} MiB while capturing, more than {MaxAccumulatorBytes >> 20} MiB");
            _max = new float[layout.Layers * layout.Heads][];
            _sum = new float[layout.Layers * layout.Heads][];
            for (int i = 0; i < _max.Length; i++) { _max[i] = new float[_side * _side]; _sum[i] = new float[_side * _side]; }
        }
        _chosenIndex = Enumerable.Repeat(-1, layout.Layers * layout.Heads).ToArray();
        for (int i = 0; i < layout.Chosen.Count; i++) _chosenIndex[layout.Chosen[i].Layer * layout.Heads + layout.Chosen[i].Head] = i;

        var meta = new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        foreach (var kv in layout.Metadata()) meta[kv.Key] = kv.Value;
        var header = Header(meta, out long dataBytes);
        _dataStart = 8 + header.Length;
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(dir)) throw new AttnScopeException($"folder '{dir}' does not exist");
        _temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            _stream = new FileStream(_temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            _stream.SetLength(_dataStart + dataBytes);
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            RandomAccess.Write(_stream.SafeFileHandle, len, 0);
            RandomAccess.Write(_stream.SafeFileHandle, header, 8);
        }
        catch (IOException e)
        {
            _stream?.Dispose();
            TryDelete(_temp);
            throw new AttnScopeException($"cannot write '{path}': {e.Message}");
        }
    }

    private byte[] Header(Dictionary<string, string> meta, out long dataBytes)
    {
        using var ms = new MemoryStream();
        long offset = 0;
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            foreach (var kv in meta) w.WriteString(kv.Key, kv.Value);
            w.WriteEndObject();
            foreach (var (name, dtype, shape, bytes) in _layout.Tensors())
            {
                w.WriteStartObject(name);
                w.WriteString("dtype", dtype);
                w.WriteStartArray("shape");
                foreach (var d in shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                _offsets[name] = offset;
                offset += bytes;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        dataBytes = offset;
        var h = ms.ToArray();
        int pad = (8 - h.Length % 8) % 8;
        var padded = new byte[h.Length + pad];
        h.CopyTo(padded, 0);
        padded.AsSpan(h.Length).Fill((byte)' ');
        return padded;
    }

    /// <inheritdoc />
    public void Rows(int layer, int head, int firstQuery, int count, int keys, ReadOnlySpan<float> probabilities)
    {
        int m = _layout.Tokens;
        if (keys != m || firstQuery < 0 || firstQuery + count > m)
            throw new AttnScopeException($"attention rows {firstQuery}..{firstQuery + count} × {keys} keys do not fit a capture of {m} tokens");
        int hi = layer * _layout.Heads + head;
        if (_chosenIndex[hi] >= 0)
        {
            int size = AttentionQuantizer.Size(_layout.Storage);
            var buf = _encoded.Value!;
            if (buf.Length < count * m * size) _encoded.Value = buf = new byte[count * m * size];
            var dst = buf.AsSpan(0, count * m * size);
            AttentionQuantizer.Encode(_layout.Storage, probabilities[..(count * m)], dst);
            long at = _dataStart + _offsets[_layout.RowsName(layer, head)] + (long)firstQuery * m * size;
            RandomAccess.Write(_stream.SafeFileHandle, dst, at);
        }
        if (_max is null) return;
        var max = _max[hi];
        var sum = _sum![hi];
        int b = _base;
        for (int i = 0; i < count; i++)
        {
            int q = firstQuery + i;
            var row = probabilities.Slice(i * m, m);
            int end = _causal ? q + 1 : m;
            int cellRow = q / b * _side;
            for (int k0 = 0, c = 0; k0 < end; k0 += b, c++)
            {
                var (mx, s) = MaxSum(row[k0..Math.Min(end, k0 + b)]);
                if (mx > max[cellRow + c]) max[cellRow + c] = mx;
                sum[cellRow + c] += s;
            }
        }
    }

    private static (float Max, float Sum) MaxSum(ReadOnlySpan<float> s)
    {
        var vectors = MemoryMarshal.Cast<float, Vector<float>>(s);
        var vmax = Vector<float>.Zero;
        var vsum = Vector<float>.Zero;
        foreach (var v in vectors) { vmax = Vector.Max(vmax, v); vsum += v; }
        float max = 0f, sum = Vector.Sum(vsum);
        for (int i = 0; i < Vector<float>.Count; i++) max = Math.Max(max, vmax[i]);
        for (int i = vectors.Length * Vector<float>.Count; i < s.Length; i++) { max = Math.Max(max, s[i]); sum += s[i]; }
        return (max, sum);
    }

    /// <summary>Writes the pyramid levels and moves the file to its name.</summary>
    public void Finish()
    {
        if (_finished) throw new InvalidOperationException("already finished");
        _finished = true;
        if (_max is not null)
        {
            int m = _layout.Tokens;
            var max = _max;
            var sum = _sum!;
            int side = _side, b = _base;
            foreach (var block in _layout.Blocks)
            {
                if (block != b)
                {
                    // Next level: 2 × 2 cells of the previous one; sums add, maxima take the larger.
                    int next = LongCaptureLayout.Cells(m, block);
                    for (int h = 0; h < max.Length; h++)
                    {
                        var nm = new float[next * next];
                        var ns = new float[next * next];
                        for (int r = 0; r < side; r++)
                            for (int c = 0; c < side; c++)
                            {
                                int at = (r / 2) * next + c / 2;
                                nm[at] = Math.Max(nm[at], max[h][r * side + c]);
                                ns[at] += sum[h][r * side + c];
                            }
                        max[h] = nm;
                        sum[h] = ns;
                    }
                    side = next;
                    b = block;
                }
                WriteLevel("max", block, side, (h, cell) => max[h][cell]);
                WriteLevel("mean", block, side, (h, cell) =>
                {
                    int r = cell / side, c = cell % side;
                    long count = (long)(Math.Min(m, (r + 1) * block) - r * block) * (Math.Min(m, (c + 1) * block) - c * block);
                    return Math.Min(1f, (float)(sum[h][cell] / count));
                });
            }
        }
        _stream.Flush(true);
        _stream.Dispose();
        try { File.Move(_temp, _path, overwrite: true); }
        catch (IOException e) { TryDelete(_temp); throw new AttnScopeException($"cannot write '{_path}': {e.Message}"); }
    }

    private void WriteLevel(string stat, int block, int side, Func<int, int, float> value)
    {
        int cells = side * side;
        var buf = new byte[cells * 2];
        long at = _dataStart + _offsets[_layout.PyramidName(stat, block)];
        for (int h = 0; h < _layout.Layers * _layout.Heads; h++)
        {
            for (int i = 0; i < cells; i++) BinaryPrimitives.WriteHalfLittleEndian(buf.AsSpan(i * 2, 2), (Half)value(h, i));
            RandomAccess.Write(_stream.SafeFileHandle, buf, at + (long)h * cells * 2);
        }
    }

    /// <summary>Removes the temporary file unless <see cref="Finish"/> moved it into place.</summary>
    public void Dispose()
    {
        _encoded.Dispose();
        if (_finished) return;
        _finished = true;
        _stream.Dispose();
        TryDelete(_temp);
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
