namespace AttnScope.Capture;

/// <summary>A dense row-major float32 tensor: a shape and a flat array.</summary>
public sealed class FloatTensor
{
    public int[] Shape { get; }
    public float[] Data { get; }

    public FloatTensor(int[] shape, float[]? data = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (var d in shape)
            if (d < 0) throw new ArgumentException($"negative dimension in shape [{string.Join(", ", shape)}]");
        // A zero dimension makes the tensor empty however large the others are.
        long n = shape.Contains(0) ? 0 : 1;
        if (n != 0)
            foreach (var d in shape)
            {
                n *= d;
                if (n > Array.MaxLength) throw new ArgumentException($"shape [{string.Join(", ", shape)}] is too large");
            }
        Shape = (int[])shape.Clone();
        if (data is null) Data = new float[n];
        else
        {
            if (data.LongLength != n)
                throw new ArgumentException($"data length {data.LongLength} does not match shape [{string.Join(", ", shape)}] ({n})");
            Data = data;
        }
    }

    public int Rank => Shape.Length;
    public long Length => Data.LongLength;

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <summary>Offset of a leading index prefix, e.g. (layer, head) in a [L, H, Q, K] tensor.</summary>
    public int Offset(params int[] index)
    {
        if (index.Length > Shape.Length) throw new ArgumentException("too many indices");
        int off = 0;
        for (int i = 0; i < Shape.Length; i++)
        {
            int v = i < index.Length ? index[i] : 0;
            if ((uint)v >= (uint)Shape[i] && !(i >= index.Length))
                throw new ArgumentOutOfRangeException(nameof(index), $"index {v} out of range for dimension {i} of size {Shape[i]}");
            off = off * Shape[i] + v;
        }
        return off;
    }

    /// <summary>The contiguous block under a leading index prefix.</summary>
    public Span<float> Slice(params int[] prefix)
    {
        int size = 1;
        for (int i = prefix.Length; i < Shape.Length; i++) size *= Shape[i];
        return Data.AsSpan(Offset(prefix), size);
    }

    public float this[int i0, int i1, int i2, int i3]
    {
        get => Data[((i0 * Shape[1] + i1) * Shape[2] + i2) * Shape[3] + i3];
        set => Data[((i0 * Shape[1] + i1) * Shape[2] + i2) * Shape[3] + i3] = value;
    }
}
