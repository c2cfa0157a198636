using AttnScope.Sources.Engine;

namespace AttnScope.Training.Model;

/// <summary>Reusable pinned float buffers: a layer's workspace grows to the largest batch it has seen and is then
/// reused, so the training loop does not allocate per step.</summary>
internal static unsafe class Buffers
{
    /// <summary>Makes <paramref name="buffer"/> hold at least <paramref name="length"/> floats (contents are not kept).</summary>
    public static float[] Ensure(ref float[] buffer, long length)
    {
        if (buffer.Length < length)
        {
            long grown = Math.Max(length, (long)(buffer.Length * 1.5));
            buffer = GC.AllocateArray<float>((int)Math.Min(grown, Array.MaxLength), pinned: true);
        }
        return buffer;
    }

    public static float[] Pinned(long length) => GC.AllocateArray<float>((int)length, pinned: true);

    public static float* Ptr(float[] pinned) => Gemm.Ptr(pinned);
}
