using AttnScope.Capture;

namespace AttnScope.Sources.Transformer;

/// <summary>What one forward pass runs: m new tokens, optionally after the positions already in a cache.</summary>
internal sealed class ForwardInput
{
    public required int[] Ids { get; init; }
    /// <summary>
    /// Rows [m, hidden] that stand in for the token embedding lookup (vision: patch embeddings with the class and
    /// distillation tokens, computed by the family). Learned or sinusoidal positions are still added; <see cref="Ids"/>
    /// then only give the count m (and are still checked against the vocabulary).
    /// </summary>
    public float[]? InputEmbeddings { get; init; }
    /// <summary>Segment ids (families with token type embeddings); null means all 0.</summary>
    public int[]? TypeIds { get; init; }
    /// <summary>The encoder's output [source tokens, hidden] that cross-attention reads (encoder-decoder stacks).</summary>
    public FloatTensor? Memory { get; init; }
    /// <summary>When given, the tokens continue the cached positions and their keys and values are appended.</summary>
    public KvCache? Cache { get; init; }
    /// <summary>
    /// One step of several sequences side by side (beam search): token i continues cache i (all at the same length),
    /// its keys and values appended there. Projections, cross-attention and MLPs run as one product over the rows;
    /// each row attends to its own cache. Needs <see cref="SkipAttention"/>; no hooks, Q/K/V capture or recording.
    /// </summary>
    public KvCache[]? Caches { get; init; }
    /// <summary>Also return Q, K, V and the scaled scores.</summary>
    public bool CaptureQkv { get; init; }
    /// <summary>Logits for every position (<see cref="LogitRows.All"/>), the last only, or none.</summary>
    public LogitRows Logits { get; init; } = LogitRows.None;
    /// <summary>Hook points to record or edit.</summary>
    public HookSet? Hooks { get; init; }
    /// <summary>Keep what <see cref="TransformerModel.Backward"/> needs (<see cref="ForwardResult.Tape"/>); no cache.</summary>
    public bool Record { get; init; }
    /// <summary>Skip writing the attention probabilities (generation steps that only need logits).</summary>
    public bool SkipAttention { get; init; }
    /// <summary>
    /// Receives every head's probabilities one block of query rows at a time (long inputs: reduce while computing).
    /// With a sink and <see cref="SkipAttention"/> the [layers, heads, m, T] stack is never allocated.
    /// </summary>
    public IAttentionRowSink? AttentionSink { get; init; }
    /// <summary>
    /// Packed sequences: the lengths of several sequences whose tokens are concatenated in <see cref="Ids"/> (they
    /// sum to its length). Positions restart at 0 in each; attention (and its causal mask) stays inside a sequence;
    /// projections and MLPs run as one product over all rows. No cache, hooks or Q/K/V capture; the result's
    /// attention tensors are null (a recorded pass keeps them on its tape).
    /// </summary>
    public int[]? Segments { get; init; }
    /// <summary>With <see cref="Segments"/> in a cross-attending stack: the lengths of the matching encoder
    /// outputs packed in <see cref="Memory"/> (sequence i reads memory segment i).</summary>
    public int[]? MemorySegments { get; init; }
    /// <summary>Training-mode dropout: each embedding and sub-layer output element is zeroed with this probability
    /// and the rest scaled by 1/(1 − p); 0 (inference) leaves the pass untouched.</summary>
    public float Dropout { get; init; }
    /// <summary>The seed of the dropout masks: the same seed draws the same masks.</summary>
    public ulong DropoutSeed { get; init; }
    /// <summary>A tape of an earlier recorded pass of this model that this recorded pass may overwrite (training
    /// loops: its arrays are reused instead of allocated). That tape must not be used afterwards.</summary>
    public CoreTape? Reuse { get; init; }
}

/// <summary>
/// Takes attention probabilities as the core computes them, a block of query rows of one head at a time.
/// Called from worker threads: blocks of different heads may arrive concurrently, blocks of one head arrive in
/// query order from one thread.
/// </summary>
internal interface IAttentionRowSink
{
    /// <summary>
    /// Rows <paramref name="firstQuery"/> … <paramref name="firstQuery"/> + <paramref name="count"/> − 1 (positions,
    /// cache included) of head <paramref name="head"/> in layer <paramref name="layer"/>: <paramref name="count"/> ×
    /// <paramref name="keys"/> probabilities, row-major, 0 where a mask hides a key. The span is reused after the call.
    /// </summary>
    void Rows(int layer, int head, int firstQuery, int count, int keys, ReadOnlySpan<float> probabilities);
}

/// <summary>What a backward pass can hand back besides parameter gradients (the caller sets what it wants).</summary>
internal sealed class BackwardOutputs
{
    /// <summary>∂f/∂memory [source rows, hidden] of a cross-attending stack: the encoder's backward continues from it.</summary>
    public float[]? MemoryGradient { get; set; }
    /// <summary>Ask for ∂f/∂P of the cross-attention probabilities.</summary>
    public bool CrossProbabilityGradients { get; init; }
    /// <summary>Per layer [heads, m, source] when asked for (single-sequence passes).</summary>
    public float[][]? CrossProbabilityGradient { get; set; }
}

internal enum LogitRows { None, Last, All }

/// <summary>
/// What a forward pass of m new tokens over T keys (T = cached + m) computed. Attention is [layers, heads, m, T]
/// (zeros where a causal or windowed mask hides a key); with <see cref="ForwardInput.CaptureQkv"/> Q is
/// [layers, heads, m, d_head] and K, V are [layers, heads, T, d_head] per query head (a grouped-query model repeats
/// each key/value head for the query heads that share it), all after rotary; scores [layers, heads, m, T] are the
/// scaled pre-softmax values (plus ALiBi), 0 where masked.
/// </summary>
internal sealed class ForwardResult
{
    /// <summary>[m, hidden]: the last block's output, after the final norm where the family has one.</summary>
    public required FloatTensor Hidden { get; init; }
    public FloatTensor? Attention { get; init; }
    /// <summary>Cross-attention [layers, heads, m, source tokens] of an encoder-decoder's decoder.</summary>
    public FloatTensor? CrossAttention { get; init; }
    public FloatTensor? Query { get; init; }
    public FloatTensor? Key { get; init; }
    public FloatTensor? Value { get; init; }
    public FloatTensor? Scores { get; init; }
    /// <summary>[rows, vocab] for the rows asked for (all m, or the last).</summary>
    public FloatTensor? Logits { get; init; }
    /// <summary>The recorded activations when <see cref="ForwardInput.Record"/> was set.</summary>
    public CoreTape? Tape { get; init; }
    /// <summary>Position of the first new token.</summary>
    public int PositionOffset { get; init; }
}
