using System.Numerics.Tensors;

namespace AttnScope.Training.Model.Layers;

/// <summary>Adds a position vector to every row of a [batch, length, d] activation: fixed sinusoids (Vaswani et
/// al.) or a learned table [maxLength, d]. Forward works in place; backward passes the gradient through unchanged
/// and, for a learned table, accumulates it per position.</summary>
public sealed class PositionalEncoding
{
    public int Dim { get; }
    public int MaxLength { get; }
    /// <summary>The learned table, or null for sinusoids.</summary>
    public Parameter? Table { get; }
    private readonly float[] _fixed = [];
    private int _batch, _length;

    public PositionalEncoding(string name, int maxLength, int dim, bool learned)
    {
        Dim = dim;
        MaxLength = maxLength;
        if (learned) Table = new Parameter(name + ".weight", [maxLength, dim], noDecay: true);
        else
        {
            _fixed = new float[maxLength * dim];
            for (int p = 0; p < maxLength; p++)
                for (int i = 0; i < dim / 2; i++)
                {
                    double angle = p / Math.Pow(10000, 2.0 * i / dim);
                    _fixed[p * dim + 2 * i] = (float)Math.Sin(angle);
                    _fixed[p * dim + 2 * i + 1] = (float)Math.Cos(angle);
                }
        }
    }

    private ReadOnlySpan<float> Row(int position) =>
        position >= MaxLength ? throw new ArgumentOutOfRangeException(nameof(position), $"position {position} is beyond the model's maximum length {MaxLength}")
        : (Table?.Value ?? _fixed).AsSpan(position * Dim, Dim);

    /// <summary>x[b, t, :] += P[firstPosition + t, :] for <paramref name="batch"/> sequences of <paramref name="length"/> rows.</summary>
    public void Apply(float[] x, int batch, int length, int firstPosition = 0)
    {
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < length; t++)
            {
                var row = x.AsSpan((b * length + t) * Dim, Dim);
                TensorPrimitives.Add(row, Row(firstPosition + t), row);
            }
    }

    public void Forward(float[] x, int batch, int length)
    {
        _batch = batch;
        _length = length;
        Apply(x, batch, length);
    }

    /// <summary>The input gradient equals <paramref name="dy"/>; a learned table accumulates dP[t] += Σ_b dy[b, t].</summary>
    public void Backward(float[] dy)
    {
        if (Table is null) return;
        for (int b = 0; b < _batch; b++)
            for (int t = 0; t < _length; t++)
            {
                var g = Table.Grad.AsSpan(t * Dim, Dim);
                TensorPrimitives.Add(g, dy.AsSpan((b * _length + t) * Dim, Dim), g);
            }
    }
}
