namespace AttnScope.Training.Model;

/// <summary>A trainable tensor: its values, the gradient accumulated by backward passes, and a version that the
/// optimizer bumps on every update (layers re-pack their weights for the GEMM only when it changed).</summary>
internal sealed class Parameter
{
    public string Name { get; }
    public int[] Shape { get; }
    public float[] Value { get; }
    public float[] Grad { get; }
    /// <summary>Excluded from weight decay (biases, layer-norm gains, position tables).</summary>
    public bool NoDecay { get; }
    public int Version { get; private set; }

    public Parameter(string name, int[] shape, bool noDecay = false)
    {
        Name = name;
        Shape = shape;
        long n = 1;
        foreach (var d in shape) n *= d;
        Value = Buffers.Pinned(n);
        Grad = Buffers.Pinned(n);
        NoDecay = noDecay;
    }

    public int Length => Value.Length;

    /// <summary>Marks the values as changed (after an optimizer step or a load).</summary>
    public void Touch() => Version++;

    public void ZeroGrad() => Array.Clear(Grad);

    /// <summary>Uniform(-a, a) with a = sqrt(6 / (fanIn + fanOut)) (Glorot), from a seeded random source.</summary>
    public void InitGlorot(Random random, int fanIn, int fanOut)
    {
        double a = Math.Sqrt(6.0 / (fanIn + fanOut));
        for (int i = 0; i < Value.Length; i++) Value[i] = (float)((random.NextDouble() * 2 - 1) * a);
        Touch();
    }

    public void InitNormal(Random random, double std)
    {
        for (int i = 0; i < Value.Length; i++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            Value[i] = (float)(std * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        Touch();
    }

    public void Fill(float v)
    {
        Array.Fill(Value, v);
        Touch();
    }
}
