namespace AttnScope.Capture;

/// <summary>A dense row-major float32 tensor: a shape and a flat array.</summary>
public sealed class FloatTensor
{
    /// <summary>The size of each dimension.</summary>
    public int[] Shape { get; }
    /// <summary>The values, row-major (the last dimension varies fastest).</summary>
    public float[] Data { get; }

    /// <summary>A tensor of that shape over <paramref name="data"/> (not copied), or over zeros.</summary>
    /// <param name="shape">The size of each dimension, none negative.</param>
    /// <param name="data">The values, row-major, exactly as many as the shape holds; null for zeros.</param>
    /// <exception cref="ArgumentException">A negative dimension, a shape too large, or data of the wrong length.</exception>
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

    /// <summary>
    /// The smallest and largest value of each slice over the first two dimensions ([layer, head] of an attention
    /// stack), found while the tensor was read from a file (so views need not scan the values again); null when not
    /// known. Valid as long as <see cref="Data"/> is not changed, which nothing does to a loaded capture.
    /// </summary>
    internal (float Min, float Max)[]? SliceRanges { get; set; }

    /// <summary>
    /// Each [layer, head] slice at half resolution, made while the tensor was read when asked for
    /// (<see cref="AttentionCapture.Load(string, bool)"/>): the maximum of every 2 × 2 block of the slice's matrix
    /// (⌈rows / 2⌉ × ⌈cols / 2⌉ values a slice, slice after slice), so that an overview that shows a block of 2k × 2k
    /// values per pixel reads a quarter of the data. Null when not made. Only for values that are never negative
    /// (attention), where the maximum is also the value of largest magnitude.
    /// </summary>
    internal float[]? HalfResolution { get; set; }

    /// <summary>The number of dimensions.</summary>
    public int Rank => Shape.Length;
    /// <summary>The number of values.</summary>
    public long Length => Data.LongLength;

    /// <summary>The shape as text, e.g. <c>[6, 12, 9, 9]</c>.</summary>
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

    /// <summary>The value at [i0, i1, i2, i3] of a 4-dimensional tensor (indices are not range-checked one by one).</summary>
    /// <param name="i0">The first index (for attention: the layer).</param>
    /// <param name="i1">The second index (the head).</param>
    /// <param name="i2">The third index (the query).</param>
    /// <param name="i3">The fourth index (the key).</param>
    public float this[int i0, int i1, int i2, int i3]
    {
        get => Data[((i0 * Shape[1] + i1) * Shape[2] + i2) * Shape[3] + i3];
        set => Data[((i0 * Shape[1] + i1) * Shape[2] + i2) * Shape[3] + i3] = value;
    }
}
