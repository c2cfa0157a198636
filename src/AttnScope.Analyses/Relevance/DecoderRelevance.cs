using System.Text.Json.Nodes;
using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Sources.Transformer;

namespace AttnScope.Analyses.Relevance;

/// <summary>
/// Gradient-weighted relevance (Chefer et al. 2021, self-attention rule) for a decoder language model: which earlier
/// tokens make the model give token t its probability. The explained output is log p(token_t | tokens_&lt;t) from
/// position t − 1, on the capture's own tokens (a generation capture's continuation included), with gradients from
/// the one Transformer core's backward pass. Saliency = row t − 1 of R − I over tokens 0 … t − 1 (later tokens are 0:
/// the model is causal).
/// </summary>
internal sealed class DecoderRelevance
{
    /// <summary>Largest difference allowed between the capture's attention and this model's for the same tokens.</summary>
    public const double AttentionTolerance = 1e-4;

    private readonly DecoderSession _session;

    public DecoderRelevance(DecoderSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        _session = session;
    }

    /// <summary>Relevance for token <paramref name="targetIndex"/> (1 … n − 1; default the last).</summary>
    /// <exception cref="AttnScopeException">The capture is not a decoder capture of this model, or the index is out of range.</exception>
    public SaliencyResult Explain(AttentionCapture capture, int? targetIndex = null)
    {
        ArgumentNullException.ThrowIfNull(capture);
        var model = _session.Model;
        var s = model.Spec;
        if (!capture.Stacks.TryGetValue(AttentionStack.Decoder, out var stack) || capture.Stacks.ContainsKey(AttentionStack.Encoder))
            throw new AttnScopeException("the capture is not from a decoder language model (it needs a decoder stack and no encoder)");
        int n = capture.Tokens.Count;
        if (stack.Layers != s.Layers || stack.Heads != s.Heads)
            throw new AttnScopeException($"the capture does not belong to model '{_session.Files.Id}': it has {stack.Layers} layers × {stack.Heads} heads, the model {s.Layers} × {s.Heads}");
        int t = targetIndex ?? n - 1;
        if (n < 2) throw new AttnScopeException("the capture has one token: there is no predicted token to explain");
        if (t < 1 || t >= n) throw new AttnScopeException($"--target {t} is out of range: the explained token must be 1 … {n - 1} (token 0 has nothing before it)");
        var ids = capture.Tokens.Select(k => k.Id).ToArray();

        var pass = model.Forward(new ForwardInput { Ids = ids, Logits = LogitRows.All, Record = true });
        CheckAttention(capture, stack, pass.Attention!);
        int v = s.Vocab;
        var row = pass.Logits!.Data.AsSpan((t - 1) * v, v);
        double max = double.NegativeInfinity;
        foreach (var x in row) max = Math.Max(max, x);
        double z = 0;
        foreach (var x in row) z += Math.Exp(x - max);
        double logProb = row[ids[t]] - max - Math.Log(z);
        var dLogits = new float[n * v];
        for (int k = 0; k < v; k++) dLogits[(t - 1) * v + k] = (float)(-Math.Exp(row[k] - max) / z);
        dLogits[(t - 1) * v + ids[t]] += 1f;
        var dP = model.BackwardFromLogits(pass.Tape!, dLogits, null, probabilityGradients: true)!;

        int heads = s.Heads, len = heads * n * n;
        var r = RelevanceRules.Identity(n);
        for (int l = 0; l < s.Layers; l++)
            RelevanceRules.ApplySelf(r, n, n, RelevanceRules.WeightedAttention(
                DoubleOps.ToDouble(pass.Attention!.Data.AsSpan(l * len, len)), DoubleOps.ToDouble(dP[l]), heads, n, n));
        var saliency = new float[n];
        for (int j = 0; j < n; j++) saliency[j] = (float)(r[(t - 1) * n + j] - (j == t - 1 ? 1 : 0));
        var info = new JsonObject
        {
            ["method"] = "chefer2021",
            ["target"] = "log_prob",
            ["target_index"] = t,
            ["target_token"] = capture.Tokens[t].Text,
            ["target_id"] = ids[t],
            ["log_prob"] = logProb,
            ["saliency"] = "row t-1 of R - I (the position that predicts token t)",
            ["model"] = _session.Files.Id,
        };
        var rel = new FloatTensor([n, n]);
        for (int i = 0; i < r.Length; i++) rel.Data[i] = (float)r[i];
        return new SaliencyResult(new FloatTensor([n], saliency), null,
            new Dictionary<string, FloatTensor>(StringComparer.Ordinal) { [AttentionStack.Decoder] = rel }, info);
    }

    private void CheckAttention(AttentionCapture capture, AttentionStack stack, FloatTensor mine)
    {
        for (int i = 0; i < mine.Data.Length; i++)
        {
            double diff = Math.Abs(mine.Data[i] - stack.Attention.Data[i]);
            if (!(diff <= AttentionTolerance))
                throw new AttnScopeException($"the capture's attention differs from what model '{_session.Files.Id}' computes for its tokens (by {diff:G3}): it was made with other weights");
        }
    }
}
