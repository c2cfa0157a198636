namespace AttnScope.Training.Model;

/// <summary>One encoded example: source ids ending in EOS, target ids without BOS/EOS.</summary>
internal sealed record EncodedPair(int[] Source, int[] Target)
{
    /// <summary>Padded length this example needs in a batch: max(source, target + 1).</summary>
    public int Length => Math.Max(Source.Length, Target.Length + 1);
}

/// <summary>
/// A padded batch: sources [size, sourceLength] and, for teacher forcing, decoder inputs BOS·y and outputs y·EOS
/// [size, targetLength]; padding is <see cref="PadId"/> (ignored by the loss, masked as keys).
/// </summary>
internal sealed class Batch
{
    public const int PadId = 0;
    public int Size { get; private set; }
    public int SourceLength { get; private set; }
    public int TargetLength { get; private set; }
    public int[] Source { get; private set; } = [];
    public int[] SourceLengths { get; private set; } = [];
    public int[] TargetInput { get; private set; } = [];
    public int[] TargetOutput { get; private set; } = [];
    public int[] TargetLengths { get; private set; } = [];
    /// <summary>Non-padding target tokens (what the loss is averaged over).</summary>
    public int Tokens { get; private set; }

    /// <summary>The batch as packed sequences for the core: every source and every decoder input at its own length,
    /// one after another (no padding), with the lengths.</summary>
    public (int[] Source, int[] SourceLengths, int[] Target, int[] TargetLengths) Packed()
    {
        var srcLens = SourceLengths.AsSpan(0, Size).ToArray();
        var tgtLens = TargetLengths.AsSpan(0, Size).ToArray();
        var src = new int[srcLens.Sum()];
        var tgt = new int[tgtLens.Sum()];
        for (int b = 0, s = 0, t = 0; b < Size; s += srcLens[b], t += tgtLens[b], b++)
        {
            Source.AsSpan(b * SourceLength, srcLens[b]).CopyTo(src.AsSpan(s));
            TargetInput.AsSpan(b * TargetLength, tgtLens[b]).CopyTo(tgt.AsSpan(t));
        }
        return (src, srcLens, tgt, tgtLens);
    }

    /// <summary>Fills the batch from the given examples, reusing its arrays when they are large enough.</summary>
    public void Fill(IReadOnlyList<EncodedPair> examples, ReadOnlySpan<int> indices, int bosId, int eosId)
    {
        int n = indices.Length, s = 1, t = 1;
        foreach (var i in indices)
        {
            s = Math.Max(s, examples[i].Source.Length);
            t = Math.Max(t, examples[i].Target.Length + 1);
        }
        Size = n; SourceLength = s; TargetLength = t;
        Source = Grow(Source, n * s); TargetInput = Grow(TargetInput, n * t); TargetOutput = Grow(TargetOutput, n * t);
        SourceLengths = Grow(SourceLengths, n); TargetLengths = Grow(TargetLengths, n);
        Array.Clear(Source); Array.Clear(TargetInput); Array.Clear(TargetOutput);
        Tokens = 0;
        for (int b = 0; b < n; b++)
        {
            var e = examples[indices[b]];
            e.Source.CopyTo(Source, b * s);
            SourceLengths[b] = e.Source.Length;
            TargetInput[b * t] = bosId;
            e.Target.CopyTo(TargetInput, b * t + 1);
            e.Target.CopyTo(TargetOutput, b * t);
            TargetOutput[b * t + e.Target.Length] = eosId;
            TargetLengths[b] = e.Target.Length + 1;
            Tokens += e.Target.Length + 1;
        }
    }

    public static Batch Of(IReadOnlyList<EncodedPair> examples, int bosId, int eosId)
    {
        var batch = new Batch();
        batch.Fill(examples, Enumerable.Range(0, examples.Count).ToArray(), bosId, eosId);
        return batch;
    }

    private static int[] Grow(int[] a, int n) => a.Length >= n ? a : new int[Math.Max(n, a.Length * 3 / 2)];
}
