using System.Numerics.Tensors;

namespace AttnScope.Training.Model.Layers;

/// <summary>Token embedding: row <c>id</c> of the table [vocab, d], scaled by √d (so it matches the size of
/// sinusoidal positions and of a tied output projection).</summary>
public sealed class Embedding
{
    public Parameter Table { get; }
    public int Dim { get; }
    public float Scale { get; }

    private float[] _output = [];
    private int[] _ids = [];
    private int _count;

    public Embedding(string name, int vocab, int dim) : this(new Parameter(name + ".weight", [vocab, dim]))
    {
    }

    /// <summary>A second lookup into an existing table (shared source/target embeddings), with its own state.</summary>
    public Embedding(Parameter table)
    {
        Table = table;
        Dim = table.Shape[1];
        Scale = MathF.Sqrt(Dim);
    }

    public int Vocab => Table.Shape[0];

    /// <summary>Writes the scaled embeddings of <paramref name="count"/> ids into <paramref name="y"/> (no state kept).</summary>
    public void Apply(ReadOnlySpan<int> ids, float[] y)
    {
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            if ((uint)id >= (uint)Vocab) throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the vocabulary (0..{Vocab - 1})");
            TensorPrimitives.Multiply(Table.Value.AsSpan(id * Dim, Dim), Scale, y.AsSpan(i * Dim, Dim));
        }
    }

    public float[] Forward(int[] ids, int count)
    {
        _ids = ids;
        _count = count;
        Buffers.Ensure(ref _output, (long)count * Dim);
        Apply(ids.AsSpan(0, count), _output);
        return _output;
    }

    /// <summary>Accumulates the table gradient: dE[id] += √d · dy[row].</summary>
    public void Backward(float[] dy)
    {
        var grad = Table.Grad;
        for (int i = 0; i < _count; i++)
        {
            var g = grad.AsSpan(_ids[i] * Dim, Dim);
            TensorPrimitives.MultiplyAdd(dy.AsSpan(i * Dim, Dim), Scale, g, g);
        }
    }
}
