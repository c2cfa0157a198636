namespace AttnScope.Training.Model.Layers;

/// <summary>Inverted dropout: in training each element is zeroed with probability p and the rest scaled by
/// 1/(1−p); at inference (or p = 0) the input passes through untouched (no copy).</summary>
public sealed class Dropout(float rate)
{
    public float Rate { get; } = rate;
    private float[] _mask = [];
    private float[] _output = [];
    private float[] _dInput = [];
    private int _length;
    private bool _active;

    public float[] Forward(float[] x, int length, ref FastRandom random, bool training)
    {
        _active = training && Rate > 0f;
        if (!_active) return x;
        _length = length;
        Buffers.Ensure(ref _mask, length);
        Buffers.Ensure(ref _output, length);
        float keep = 1f / (1f - Rate);
        for (int i = 0; i < length; i++)
        {
            float m = random.NextFloat() < Rate ? 0f : keep;
            _mask[i] = m;
            _output[i] = x[i] * m;
        }
        return _output;
    }

    public float[] Backward(float[] dy)
    {
        if (!_active) return dy;
        Buffers.Ensure(ref _dInput, _length);
        System.Numerics.Tensors.TensorPrimitives.Multiply(dy.AsSpan(0, _length), _mask.AsSpan(0, _length), _dInput.AsSpan(0, _length));
        return _dInput;
    }
}
