namespace AttnScope.Training.Model;

/// <summary>A small, fast, seedable generator (SplitMix64) for dropout masks: its whole state is one number, so a
/// training step's randomness is fixed by (seed, step) and a resumed run draws exactly the same masks.</summary>
internal struct FastRandom(ulong seed)
{
    private ulong _state = seed;

    public static FastRandom ForStep(int seed, long step, int stream = 0) =>
        new((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)step * 0xBF58476D1CE4E5B9UL ^ (ulong)stream * 0x94D049BB133111EBUL);

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));
}
