using AttnScope.Capture;

namespace AttnScope.Sources.Transformer;

/// <summary>
/// Step-by-step decoding of one source sentence on the core's key/value cache: the encoder runs once, each
/// decoder layer's cross-attention keys and values are projected once (kept with the cache), and each step runs
/// only the newest token of every live hypothesis through the decoder, all hypotheses in one batched pass
/// (<see cref="ForwardInput.Caches"/>), appending each one's self-attention keys and values to its own cache. Gives the numbers a teacher-forced decoder pass over the same prefix gives
/// (the same products in the same order: bit for bit). Used by the trained translation models' search and by
/// <see cref="Families.EncoderDecoderModel"/>'s greedy and beam search.
/// </summary>
internal sealed class IncrementalDecoder
{
    private readonly TransformerModel _decoder;
    private readonly FloatTensor _memory;
    private readonly int _vocab, _maxSteps, _capacity;
    private KvCache[] _caches, _spare;
    private readonly float[] _logits;
    public int SourceLength { get; }
    /// <summary>Tokens decoded so far per hypothesis (the position of the next step).</summary>
    public int Length { get; private set; }
    public int Hypotheses { get; private set; }

    /// <param name="encoder">The encoder stack (run once over <paramref name="source"/>).</param>
    /// <param name="decoder">The cross-attending decoder stack.</param>
    /// <param name="source">Source ids (ending in EOS).</param>
    /// <param name="capacity">Most hypotheses decoded side by side (the beam size).</param>
    /// <param name="maxSteps">Most decoding steps (bounded by the decoder's positions).</param>
    public IncrementalDecoder(TransformerModel encoder, TransformerModel decoder, int[] source, int capacity, int maxSteps)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(decoder);
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), "at least one hypothesis");
        _decoder = decoder;
        _vocab = decoder.Spec.Vocab;
        _capacity = capacity;
        _maxSteps = Math.Max(1, Math.Min(maxSteps, decoder.Spec.MaxPositions));
        SourceLength = source.Length;
        _memory = encoder.Forward(new ForwardInput { Ids = source, SkipAttention = true }).Hidden;
        _caches = Enumerable.Range(0, capacity).Select(_ => _decoder.NewCache(_maxSteps)).ToArray();
        _spare = Enumerable.Range(0, capacity).Select(_ => _decoder.NewCache(_maxSteps)).ToArray();
        _logits = new float[capacity * _vocab];
        Hypotheses = 1;
    }

    public int MaxSteps => _maxSteps;

    /// <summary>
    /// Feeds one token per hypothesis (BOS at the first step) and returns the next-token logits
    /// [tokens.Length, vocab] (a buffer reused by the next call).
    /// </summary>
    public ReadOnlySpan<float> Step(ReadOnlySpan<int> tokens)
    {
        int n = tokens.Length, t = Length;
        if (n < 1 || n > _capacity) throw new ArgumentException($"expected 1..{_capacity} tokens, got {n}");
        if (t >= _maxSteps) throw new InvalidOperationException($"the decoder reached its maximum length {_maxSteps}");
        Hypotheses = n;
        for (int b = 0; b < n; b++)
            if (_caches[b].Length != t) throw new InvalidOperationException($"hypothesis {b} has no cache of {t} positions (reorder after a step)");
        // one pass for all hypotheses: each weight matrix is read once a step, each row attends to its own cache
        var r = n == 1
            ? _decoder.Forward(new ForwardInput { Ids = [tokens[0]], Cache = _caches[0], Memory = _memory, Logits = LogitRows.Last, SkipAttention = true })
            : _decoder.Forward(new ForwardInput { Ids = tokens.ToArray(), Caches = _caches[..n], Memory = _memory, Logits = LogitRows.All, SkipAttention = true });
        r.Logits!.Data.AsSpan(0, n * _vocab).CopyTo(_logits);
        Length = t + 1;
        return _logits.AsSpan(0, n * _vocab);
    }

    /// <summary>Keeps hypothesis <c>from[i]</c>'s cache as hypothesis i (beam search survivors), for all steps so far.</summary>
    public void Reorder(ReadOnlySpan<int> from)
    {
        if (from.Length > _capacity) throw new ArgumentException($"at most {_capacity} hypotheses");
        for (int i = 0; i < from.Length; i++) _caches[from[i]].CopyTo(_spare[i]);
        (_caches, _spare) = (_spare, _caches);
        Hypotheses = from.Length;
    }
}
