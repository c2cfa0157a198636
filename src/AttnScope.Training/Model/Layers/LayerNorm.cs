using System.Numerics.Tensors;

namespace AttnScope.Training.Model.Layers;

/// <summary>y = γ·(x − mean)/√(var + ε) + β over each row of width d.</summary>
public sealed class LayerNorm
{
    public const float Epsilon = 1e-5f;
    public Parameter Gain { get; }
    public Parameter Shift { get; }
    public int Dim { get; }

    private float[] _output = [];
    private float[] _normalized = [];
    private float[] _rstd = [];
    private float[] _dInput = [];
    private int _rows;

    public LayerNorm(string name, int dim)
    {
        Dim = dim;
        Gain = new Parameter(name + ".weight", [dim], noDecay: true);
        Shift = new Parameter(name + ".bias", [dim], noDecay: true);
        Gain.Fill(1f);
    }

    public IEnumerable<Parameter> Parameters() => [Gain, Shift];

    /// <summary>Normalizes <paramref name="rows"/> rows of x into y; optionally keeps x̂ and 1/σ for backward.</summary>
    public void Apply(float[] x, int rows, float[] y, float[]? normalized = null, float[]? rstd = null)
    {
        int d = Dim;
        var g = Gain.Value.AsSpan();
        var s = Shift.Value.AsSpan();
        for (int r = 0; r < rows; r++)
        {
            var xr = x.AsSpan(r * d, d);
            float mean = TensorPrimitives.Sum(xr) / d;
            float var = 0f;
            for (int i = 0; i < d; i++) { float c = xr[i] - mean; var += c * c; }
            float inv = 1f / MathF.Sqrt(var / d + Epsilon);
            var yr = y.AsSpan(r * d, d);
            TensorPrimitives.Subtract(xr, mean, yr);
            TensorPrimitives.Multiply(yr, inv, yr);
            if (normalized is not null) yr.CopyTo(normalized.AsSpan(r * d, d));
            if (rstd is not null) rstd[r] = inv;
            TensorPrimitives.FusedMultiplyAdd(yr, g, s, yr);
        }
    }

    public float[] Forward(float[] x, int rows)
    {
        _rows = rows;
        Buffers.Ensure(ref _output, (long)rows * Dim);
        Buffers.Ensure(ref _normalized, (long)rows * Dim);
        Buffers.Ensure(ref _rstd, rows);
        Apply(x, rows, _output, _normalized, _rstd);
        return _output;
    }

    /// <summary>dx = (1/σ)·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = γ·dy; dγ += Σ dy·x̂, dβ += Σ dy.</summary>
    public float[] Backward(float[] dy)
    {
        int d = Dim;
        Buffers.Ensure(ref _dInput, (long)_rows * d);
        var gg = Gain.Grad.AsSpan();
        var gb = Shift.Grad.AsSpan();
        var gain = Gain.Value.AsSpan();
        for (int r = 0; r < _rows; r++)
        {
            var dyr = dy.AsSpan(r * d, d);
            var xh = _normalized.AsSpan(r * d, d);
            TensorPrimitives.FusedMultiplyAdd(dyr, xh, gg, gg);
            TensorPrimitives.Add(gb, dyr, gb);
            var dx = _dInput.AsSpan(r * d, d);
            TensorPrimitives.Multiply(dyr, gain, dx); // ĝ
            float meanG = TensorPrimitives.Sum(dx) / d;
            float meanGx = TensorPrimitives.Dot(dx, xh) / d;
            float inv = _rstd[r];
            for (int i = 0; i < d; i++) dx[i] = inv * (dx[i] - meanG - xh[i] * meanGx);
        }
        return _dInput;
    }
}
