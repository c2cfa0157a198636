namespace AttnScope.Training.Model.Layers;

/// <summary>Position-wise feed-forward block: Linear(d → ff), ReLU, Linear(ff → d).</summary>
public sealed class FeedForward
{
    public Linear Up { get; }
    public Linear Down { get; }
    private float[] _activated = [];
    private float[] _dHidden = [];
    private float[] _hidden = [];
    private int _rows;

    public FeedForward(string name, int dim, int hidden)
    {
        Up = new Linear(name + ".up", dim, hidden);
        Down = new Linear(name + ".down", hidden, dim);
    }

    public IEnumerable<Parameter> Parameters() => Up.Parameters().Concat(Down.Parameters());

    /// <summary>Stateless forward into <paramref name="y"/>; <paramref name="scratch"/> holds the hidden layer.</summary>
    public void Apply(float[] x, int rows, float[] y, ref float[] scratch)
    {
        Buffers.Ensure(ref scratch, (long)rows * Up.Out);
        Up.Apply(x, rows, scratch);
        Relu(scratch, rows * Up.Out, scratch);
        Down.Apply(scratch, rows, y);
    }

    public float[] Forward(float[] x, int rows)
    {
        _rows = rows;
        _hidden = Up.Forward(x, rows);
        Buffers.Ensure(ref _activated, (long)rows * Up.Out);
        Relu(_hidden, rows * Up.Out, _activated);
        return Down.Forward(_activated, rows);
    }

    public float[] Backward(float[] dy)
    {
        var da = Down.Backward(dy);
        int n = _rows * Up.Out;
        Buffers.Ensure(ref _dHidden, n);
        for (int i = 0; i < n; i++) _dHidden[i] = _hidden[i] > 0f ? da[i] : 0f;
        return Up.Backward(_dHidden);
    }

    private static void Relu(float[] x, int n, float[] y) =>
        System.Numerics.Tensors.TensorPrimitives.Max(x.AsSpan(0, n), 0f, y.AsSpan(0, n));
}
