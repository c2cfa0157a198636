using System.Numerics.Tensors;
using AttnScope.Training.Model.Layers;

namespace AttnScope.Training.Model;

/// <summary>
/// The residual wrapper around a sub-layer f, in either arrangement:
/// pre-LN y = x + Dropout(f(LN(x))), post-LN y = LN(x + Dropout(f(x))).
/// A layer calls <see cref="Enter"/> to get f's input, runs f, and <see cref="Exit"/> with f's output; backward
/// mirrors it with <see cref="BackwardExit"/> (gradient for f's output) and <see cref="BackwardEnter"/>.
/// </summary>
public sealed class ResidualBlock(string name, int dim, float dropout, bool preNorm)
{
    public LayerNorm Norm { get; } = new(name, dim);
    public Dropout Dropout { get; } = new(dropout);
    public bool PreNorm { get; } = preNorm;
    private readonly int _dim = dim;
    private float[] _input = [];
    private float[] _sum = [];
    private float[] _dOut = [];
    private float[] _dInput = [];
    private int _rows;

    public float[] Enter(float[] x, int rows)
    {
        _input = x;
        _rows = rows;
        return PreNorm ? Norm.Forward(x, rows) : x;
    }

    public float[] Exit(float[] f, ref FastRandom random, bool training)
    {
        int n = _rows * _dim;
        var dropped = Dropout.Forward(f, n, ref random, training);
        Buffers.Ensure(ref _sum, n);
        TensorPrimitives.Add(_input.AsSpan(0, n), dropped.AsSpan(0, n), _sum.AsSpan(0, n));
        return PreNorm ? _sum : Norm.Forward(_sum, _rows);
    }

    public float[] BackwardExit(float[] dy)
    {
        _dOut = PreNorm ? dy : Norm.Backward(dy);
        return Dropout.Backward(_dOut);
    }

    public float[] BackwardEnter(float[] dSublayerInput)
    {
        int n = _rows * _dim;
        var dIn = PreNorm ? Norm.Backward(dSublayerInput) : dSublayerInput;
        Buffers.Ensure(ref _dInput, n);
        TensorPrimitives.Add(_dOut.AsSpan(0, n), dIn.AsSpan(0, n), _dInput.AsSpan(0, n));
        return _dInput;
    }
}
