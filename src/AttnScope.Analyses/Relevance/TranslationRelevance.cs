using System.Text.Json.Nodes;
using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Training.Decoding;
using AttnScope.Sources.Transformer;
using AttnScope.Training.Model;
using AttnScope.Training.Text;

namespace AttnScope.Analyses.Relevance;

/// <summary>
/// Gradient-weighted relevance for a translation model (an encoder-decoder <see cref="Transformer"/>): which source
/// pieces and which earlier target pieces make the model give a chosen target piece its probability. The explained
/// output is log p(y_{t+1} | source, y_≤t) of decoder row t, teacher-forced on the capture's target tokens (row t
/// of a capture from <see cref="Translator.Capture"/> reads BOS and the first t pieces and predicts piece t+1, or
/// the end of sentence on the last row). Uses the core's float32 forward and backward passes; not for use while the
/// model is training.
/// </summary>
internal sealed class TranslationRelevance
{
    /// <summary>Largest difference allowed between the capture's attention and this model's for the same tokens.</summary>
    public const double AttentionTolerance = 1e-4;

    private readonly Translator _translator;

    public TranslationRelevance(Translator translator)
    {
        ArgumentNullException.ThrowIfNull(translator);
        _translator = translator;
    }

    /// <summary>The gradients of one target's log-probability with respect to every attention probability.</summary>
    internal sealed record Gradients(
        double LogProb, int TargetId,
        double[][] EncoderAttention, double[][] EncoderGradient,
        double[][] DecoderAttention, double[][] DecoderGradient,
        double[][] CrossAttention, double[][] CrossGradient);

    /// <summary>
    /// Relevance for decoder row <paramref name="targetIndex"/> (0 … target tokens − 1) of <paramref name="capture"/>.
    /// Source saliency = row t of R^ts; target saliency = row t of R^tt − I (the earlier target tokens; the row's
    /// own residual share is left out).
    /// </summary>
    /// <exception cref="AttnScopeException">The capture is not a translation capture of this model, or the index is out of range.</exception>
    public SaliencyResult Explain(AttentionCapture capture, int targetIndex)
    {
        var (sourceIds, targetIds) = InputOf(capture, targetIndex);
        var g = Compute(sourceIds, targetIds, targetIndex, capture);
        var c = _translator.Model.Config;
        int s = sourceIds.Length, t = targetIds.Length + 1, heads = c.Heads;

        var rss = RelevanceRules.Identity(s);
        for (int l = 0; l < c.EncoderLayers; l++)
            RelevanceRules.ApplySelf(rss, s, s, RelevanceRules.WeightedAttention(g.EncoderAttention[l], g.EncoderGradient[l], heads, s, s));
        var rtt = RelevanceRules.Identity(t);
        var rts = new double[t * s];
        for (int l = 0; l < c.DecoderLayers; l++)
        {
            var self = RelevanceRules.WeightedAttention(g.DecoderAttention[l], g.DecoderGradient[l], heads, t, t);
            RelevanceRules.ApplySelf(rtt, t, t, self);
            RelevanceRules.ApplySelf(rts, t, s, self);
            var cross = RelevanceRules.WeightedAttention(g.CrossAttention[l], g.CrossGradient[l], heads, t, s);
            RelevanceRules.ApplyCross(rts, rtt, rss, cross, t, s);
        }

        var source = new float[s];
        for (int j = 0; j < s; j++) source[j] = (float)rts[targetIndex * s + j];
        var target = new float[t];
        for (int j = 0; j < t; j++) target[j] = (float)(rtt[targetIndex * t + j] - (j == targetIndex ? 1 : 0));
        var info = new JsonObject
        {
            ["method"] = "chefer2021",
            ["target"] = "log_prob",
            ["target_index"] = targetIndex,
            ["target_token"] = _translator.Vocabulary.PieceText(g.TargetId),
            ["target_id"] = g.TargetId,
            ["log_prob"] = g.LogProb,
            ["saliency"] = "source: row target_index of R^ts; target: row target_index of R^tt - I",
            ["model"] = _translator.ModelId,
        };
        return new SaliencyResult(new FloatTensor([s], source), new FloatTensor([t], target),
            new Dictionary<string, FloatTensor>(StringComparer.Ordinal)
            {
                [AttentionStack.Encoder] = EmbeddingRelevance.ToTensor(rss, s, s),
                [AttentionStack.Decoder] = EmbeddingRelevance.ToTensor(rtt, t, t),
                [AttentionStack.Cross] = EmbeddingRelevance.ToTensor(rts, t, s),
            }, info);
    }

    /// <summary>Source ids (ending in EOS) and target ids (no BOS) of a capture, checked against the model.</summary>
    internal (int[] Source, int[] Target) InputOf(AttentionCapture capture, int targetIndex)
    {
        ArgumentNullException.ThrowIfNull(capture);
        var c = _translator.Model.Config;
        string model = _translator.ModelId;
        if (!capture.Stacks.ContainsKey(AttentionStack.Decoder) || !capture.Stacks.ContainsKey(AttentionStack.Cross) || capture.TargetTokens.Count == 0)
            throw new AttnScopeException("the capture is not from a translation model (it has no decoder and cross attention); explain an embedding model's capture with the embedding relevance");
        var enc = capture.Stack(AttentionStack.Encoder);
        var dec = capture.Stack(AttentionStack.Decoder);
        if (enc.Layers != c.EncoderLayers || dec.Layers != c.DecoderLayers || enc.Heads != c.Heads || dec.Heads != c.Heads)
            throw new AttnScopeException($"the capture does not belong to the translation model '{model}': it has {enc.Layers} encoder and {dec.Layers} decoder layers of {enc.Heads} heads, the model {c.EncoderLayers} and {c.DecoderLayers} of {c.Heads}");
        int s = capture.Tokens.Count, t = capture.TargetTokens.Count;
        if (s > c.MaxLength || t > c.MaxLength)
            throw new AttnScopeException($"the capture has {s} source and {t} target tokens; the model '{model}' takes at most {c.MaxLength}");
        var source = capture.Tokens.Select(x => x.Id).ToArray();
        var decoderInputs = capture.TargetTokens.Select(x => x.Id).ToArray();
        if (source[^1] != SubwordVocabulary.EosId || decoderInputs[0] != SubwordVocabulary.BosId)
            throw new AttnScopeException("the capture's tokens are not a translation model's (the source must end in the end-of-sentence token and the target start with the beginning-of-sentence token)");
        foreach (var id in source.Concat(decoderInputs))
            if ((uint)id >= (uint)c.VocabSize)
                throw new AttnScopeException($"the capture does not belong to the translation model '{model}': token id {id} is out of range for its vocabulary of {c.VocabSize}");
        if ((uint)targetIndex >= (uint)t)
            throw new AttnScopeException($"target index {targetIndex} is out of range: the capture has {t} target rows (0..{t - 1}; row t predicts target token t+1, the last row the end of sentence)");
        return (source, decoderInputs[1..]);
    }

    /// <summary>
    /// Teacher-forced forward pass on the core (encoder, then decoder over its output), then the core's backward
    /// pass of log p(target of row <paramref name="row"/>) through the decoder and, from ∂/∂memory, the encoder,
    /// keeping ∂/∂P of every attention layer (no parameter gradient is touched). With a capture, refuses it if its
    /// attention is not this model's.
    /// </summary>
    internal Gradients Compute(int[] sourceIds, int[] targetIds, int row, AttentionCapture? capture = null)
    {
        var model = _translator.Model;
        var c = model.Config;
        var encoder = model.EncoderModel;
        var decoder = model.DecoderModel;
        int t = targetIds.Length + 1, vocab = c.VocabSize;
        var encoded = encoder.Forward(new ForwardInput { Ids = sourceIds, Record = true });
        var decoded = decoder.Forward(new ForwardInput
        {
            Ids = [SubwordVocabulary.BosId, .. targetIds], Memory = encoded.Hidden, Logits = LogitRows.All, Record = true,
        });
        var stacks = new (string Name, FloatTensor Attention)[]
        {
            (AttentionStack.Encoder, encoded.Attention!), (AttentionStack.Decoder, decoded.Attention!), (AttentionStack.Cross, decoded.CrossAttention!),
        };
        if (capture is not null) CheckAttention(capture, stacks);

        int y = row < targetIds.Length ? targetIds[row] : SubwordVocabulary.EosId;
        var z = decoded.Logits!.Data.AsSpan(row * vocab, vocab);
        double max = double.NegativeInfinity;
        foreach (var v in z) max = Math.Max(max, v);
        double total = 0;
        foreach (var v in z) total += Math.Exp(v - max);
        double logSum = max + Math.Log(total);
        var dLogits = new float[t * vocab];
        for (int k = 0; k < vocab; k++) dLogits[row * vocab + k] = (float)-Math.Exp(z[k] - logSum);
        dLogits[row * vocab + y] += 1f;
        double logProb = z[y] - logSum;

        var outputs = new BackwardOutputs { CrossProbabilityGradients = true };
        var decoderDp = decoder.BackwardFromLogits(decoded.Tape!, dLogits, null, probabilityGradients: true, outputs)!;
        var encoderDp = encoder.Backward(encoded.Tape!, outputs.MemoryGradient!, null, probabilityGradients: true)!;
        static double[][] PerLayer(FloatTensor a) => Enumerable.Range(0, a.Shape[0]).Select(l => DoubleOps.ToDouble(a.Slice(l))).ToArray();
        static double[][] Grad(float[][] g) => g.Select(x => DoubleOps.ToDouble(x)).ToArray();
        return new Gradients(logProb, y, PerLayer(encoded.Attention!), Grad(encoderDp), PerLayer(decoded.Attention!), Grad(decoderDp),
            PerLayer(decoded.CrossAttention!), Grad(outputs.CrossProbabilityGradient!));
    }

    private void CheckAttention(AttentionCapture capture, IEnumerable<(string Name, FloatTensor Attention)> stacks)
    {
        foreach (var (name, attention) in stacks)
            for (int layerIndex = 0; layerIndex < attention.Shape[0]; layerIndex++)
            {
                var theirs = capture.Stack(name).Attention.Slice(layerIndex);
                var mine = attention.Slice(layerIndex);
                if (theirs.Length != mine.Length)
                    throw new AttnScopeException($"the capture's {name} attention has {theirs.Length} values per layer but its tokens need {mine.Length}");
                for (int i = 0; i < theirs.Length; i++)
                {
                    double diff = Math.Abs(mine[i] - theirs[i]);
                    if (!(diff <= AttentionTolerance))
                        throw new AttnScopeException($"the capture's {name} attention differs from what the translation model '{_translator.ModelId}' computes for its tokens (by {diff:G3} in layer {layerIndex}): it was made with another checkpoint");
                }
            }
    }
}
