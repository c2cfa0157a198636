using AttnScope.Capture;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Sources.Transformer;

internal sealed partial class TransformerModel
{
    /// <summary>
    /// Runs one tokenized sequence at its own length (no padding, no cache). Returns the last hidden state
    /// [n, hidden] and the attention [layers, heads, n, n]; with <paramref name="captureQkv"/> also Q, K, V
    /// [layers, heads, n, d_head] (after bias and rotary, before scaling) and the scaled scores.
    /// </summary>
    /// <exception cref="AttnScopeException">Empty input, too long for the model, or an id out of range.</exception>
    public SequenceAttention Run(EncodedInput input, bool captureQkv = false)
    {
        if (input is null) throw new AttnScopeException("input is null");
        if (input.Ids is null || input.TypeIds is null) throw new AttnScopeException("input has no token ids");
        var r = Forward(new ForwardInput { Ids = input.Ids, TypeIds = Spec.TypeVocab > 0 ? input.TypeIds : null, CaptureQkv = captureQkv });
        return new SequenceAttention { LastHidden = r.Hidden, Attention = r.Attention!, Query = r.Query, Key = r.Key, Value = r.Value, Scores = r.Scores };
    }

    /// <summary>
    /// Runs several sequences, possibly of different lengths, each at its own length — mathematically identical
    /// to one padded batch with an attention mask (a masked key gets exactly zero probability, so padding never
    /// changes the real tokens). All inputs are validated before any is run; results are in input order.
    /// </summary>
    public IReadOnlyList<SequenceAttention> RunBatch(IReadOnlyList<EncodedInput> inputs, bool captureQkv = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        for (int i = 0; i < inputs.Count; i++)
        {
            var x = inputs[i];
            string which = $"input {i}";
            if (x is null) throw new AttnScopeException($"{which} is null");
            if (x.Ids is null || x.TypeIds is null) throw new AttnScopeException($"{which} has no token ids");
            if (x.Ids.Length == 0) throw new AttnScopeException($"{which} has no tokens");
            if (x.TypeIds.Length != x.Ids.Length) throw new AttnScopeException($"{which} has {x.Ids.Length} token ids but {x.TypeIds.Length} token type ids");
            try { Validate(new ForwardInput { Ids = x.Ids, TypeIds = Spec.TypeVocab > 0 ? x.TypeIds : null }, 0); }
            catch (AttnScopeException e) { throw new AttnScopeException($"{which}: {e.Message}"); }
        }
        var results = new SequenceAttention[inputs.Count];
        for (int i = 0; i < inputs.Count; i++) results[i] = Run(inputs[i], captureQkv);
        return results;
    }
}
