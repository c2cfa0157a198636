using System.Numerics.Tensors;
using AttnScope.Sources.Engine;

namespace AttnScope.Training.Model.Layers;

/// <summary>
/// y = x·Wᵀ + b with W [out, in] (PyTorch layout). Forward keeps a reference to its input for the backward pass;
/// <see cref="Apply"/> is the same product without any state (decoding). The weight is packed for the GEMM once
/// per optimizer step (when its version changes), not once per call.
/// </summary>
public sealed unsafe class Linear
{
    public Parameter Weight { get; }
    public Parameter? Bias { get; }
    public int In { get; }
    public int Out { get; }

    private float[] _packed = [];
    private int _packedVersion = -1;
    private float[] _output = [];
    private float[] _dInput = [];
    private float[] _input = [];
    private int _rows;

    public Linear(string name, int inFeatures, int outFeatures, bool bias = true)
        : this(new Parameter(name + ".weight", [outFeatures, inFeatures]), bias ? new Parameter(name + ".bias", [outFeatures], noDecay: true) : null)
    {
    }

    /// <summary>A linear map over an existing weight (tied output projection: the embedding table).</summary>
    public Linear(Parameter weight, Parameter? bias)
    {
        Weight = weight;
        Bias = bias;
        Out = weight.Shape[0];
        In = weight.Shape[1];
    }

    public IEnumerable<Parameter> Parameters() => Bias is null ? [Weight] : [Weight, Bias];

    /// <summary>Packs the weight for the current version; call before using <see cref="Apply"/> from several threads.</summary>
    public void Prepare()
    {
        if (_packedVersion == Weight.Version && _packed.Length > 0) return;
        Buffers.Ensure(ref _packed, MatOps.PackedLength(In, Out));
        MatOps.PackTransposed(Buffers.Ptr(Weight.Value), Out, In, Buffers.Ptr(_packed));
        _packedVersion = Weight.Version;
    }

    /// <summary>y[rows, Out] = x[rows, In]·Wᵀ + b, no state kept. x and y are pinned.</summary>
    public void Apply(float[] x, int rows, float[] y, bool parallel = true)
    {
        Prepare();
        MatOps.MulPacked(Buffers.Ptr(x), rows, In, Buffers.Ptr(_packed), Out, Buffers.Ptr(y), accumulate: false, parallel);
        if (Bias is not null)
        {
            var b = Bias.Value.AsSpan();
            for (int r = 0; r < rows; r++)
            {
                var row = y.AsSpan(r * Out, Out);
                TensorPrimitives.Add(row, b, row);
            }
        }
    }

    /// <summary>Forward for training: the output buffer belongs to the layer and is overwritten by the next call.</summary>
    public float[] Forward(float[] x, int rows)
    {
        _input = x;
        _rows = rows;
        Buffers.Ensure(ref _output, (long)rows * Out);
        Apply(x, rows, _output);
        return _output;
    }

    /// <summary>Accumulates dW += dyᵀ·x and db += Σ dy; returns dx = dy·W in a buffer owned by the layer.</summary>
    public float[] Backward(float[] dy)
    {
        Buffers.Ensure(ref _dInput, (long)_rows * In);
        Backward(dy, _dInput, accumulate: false);
        return _dInput;
    }

    /// <summary>As <see cref="Backward(float[])"/>, writing (or adding, when <paramref name="accumulate"/>) dx into <paramref name="dx"/>.</summary>
    public void Backward(float[] dy, float[] dx, bool accumulate)
    {
        int rows = _rows;
        float* pdy = Buffers.Ptr(dy);
        MatOps.MulAt(pdy, rows, Out, Buffers.Ptr(_input), In, Buffers.Ptr(Weight.Grad), accumulate: true);
        if (Bias is not null)
        {
            var db = Bias.Grad.AsSpan();
            for (int r = 0; r < rows; r++) TensorPrimitives.Add(db, dy.AsSpan(r * Out, Out), db);
        }
        MatOps.Mul(pdy, rows, Out, Buffers.Ptr(Weight.Value), In, Buffers.Ptr(dx), accumulate);
    }
}
