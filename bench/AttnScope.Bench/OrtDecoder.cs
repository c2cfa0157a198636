using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AttnScope.Bench;

/// <summary>
/// Drives a <see cref="DecoderOnnxExport"/> graph with ONNX Runtime's OrtValue API: the first run gets empty
/// past keys/values, each later run feeds back the previous run's present keys/values without copying. The last
/// run's outputs (logits, every layer's attention, the cache) stay alive until the next run or <see cref="Reset"/>.
/// </summary>
public sealed class OrtDecoder : IDisposable
{
    private readonly InferenceSession _session;
    private readonly int _layers;
    private readonly string[] _inputs, _outputs;
    private readonly OrtValue[] _empty;
    private readonly OrtValue[] _feed;
    private readonly RunOptions _options = new();
    private IDisposableReadOnlyCollection<OrtValue>? _last;

    public OrtDecoder(InferenceSession session, DecoderShape shape)
    {
        _session = session;
        _layers = shape.Layers;
        _inputs = ["ids", .. Enumerable.Range(0, _layers).SelectMany(l => new[] { $"past_key_{l}", $"past_value_{l}" })];
        _outputs = ["logits", .. Enumerable.Range(0, _layers).Select(l => $"attn_{l}"),
            .. Enumerable.Range(0, _layers).SelectMany(l => new[] { $"present_key_{l}", $"present_value_{l}" })];
        _empty = Enumerable.Range(0, 2 * _layers)
            .Select(_ => OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, [shape.KvHeads, 0, shape.HeadDim]))
            .ToArray();
        _feed = new OrtValue[_inputs.Length];
    }

    /// <summary>Runs the new tokens after the cached ones; the outputs stay readable until the next call.</summary>
    public OrtDecoder Run(int[] ids)
    {
        var longs = new long[ids.Length];
        for (int i = 0; i < ids.Length; i++) longs[i] = ids[i];
        using var idValue = OrtValue.CreateTensorValueFromMemory(longs, [ids.Length]);
        _feed[0] = idValue;
        for (int i = 0; i < 2 * _layers; i++) _feed[1 + i] = _last is null ? _empty[i] : _last[1 + _layers + i];
        var results = _session.Run(_options, _inputs, _feed, _outputs);
        _last?.Dispose();
        _last = results;
        return this;
    }

    /// <summary>The last run's logits for its last position [vocab].</summary>
    public ReadOnlySpan<float> Logits => _last![0].GetTensorDataAsSpan<float>();

    /// <summary>The last run's attention probabilities of one layer, in [heads, m, T] order.</summary>
    public ReadOnlySpan<float> Attention(int layer) => _last![1 + layer].GetTensorDataAsSpan<float>();

    /// <summary>Forgets the cache (frees the last outputs).</summary>
    public void Reset()
    {
        _last?.Dispose();
        _last = null;
    }

    public void Dispose()
    {
        Reset();
        foreach (var v in _empty) v.Dispose();
        _options.Dispose();
    }
}
