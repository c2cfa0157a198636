using AttnScope.Capture;

namespace AttnScope.Sources;

/// <summary>
/// What a source computes for one sequence of n real tokens (padding removed): last hidden state [n, hidden],
/// attention [layers, heads, n, n], and when asked Q/K/V [layers, heads, n, head_dim] and scaled pre-softmax
/// scores [layers, heads, n, n] before masking.
/// </summary>
internal sealed class SequenceAttention
{
    public required FloatTensor LastHidden { get; init; }
    public required FloatTensor Attention { get; init; }
    public FloatTensor? Query { get; init; }
    public FloatTensor? Key { get; init; }
    public FloatTensor? Value { get; init; }
    public FloatTensor? Scores { get; init; }
}
