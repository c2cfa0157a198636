namespace AttnScope.Sources.Transformer;

/// <summary>Pinned activation buffers of one forward pass, sized for a number of new tokens and reused across runs.</summary>
internal sealed class CoreWorkspace
{
    public int Capacity { get; }
    /// <summary>Residual stream [m, hidden].</summary>
    public float[] X { get; }
    /// <summary>Normalised sub-layer input [m, hidden] (pre-norm stacks; also the final norm's output).</summary>
    public float[] A { get; }
    /// <summary>Fused projections [m, Q | K | V].</summary>
    public float[] Qkv { get; }
    /// <summary>Per-head context [m, heads·d_head] (hook_z).</summary>
    public float[] Context { get; }
    /// <summary>MLP activations [m, intermediate] or [m, gate | up].</summary>
    public float[] Mid { get; }
    /// <summary>A sub-layer's output [m, hidden] when a hook needs it apart from the residual.</summary>
    public float[] Tmp { get; }

    public CoreWorkspace(int capacity, TransformerSpec s)
    {
        Capacity = capacity;
        X = Pinned((long)capacity * s.Hidden);
        A = Pinned((long)capacity * s.Hidden);
        Qkv = Pinned((long)capacity * s.QkvWidth);
        Context = Pinned((long)capacity * s.QueryWidth);
        Mid = Pinned((long)capacity * s.MlpWidth);
        Tmp = Pinned((long)capacity * s.Hidden);
    }

    private static float[] Pinned(long n) => GC.AllocateArray<float>(checked((int)n), pinned: true);
}
