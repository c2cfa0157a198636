using System.Text.Json.Nodes;
using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Analyses.Relevance;

/// <summary>
/// Gradient-weighted relevance for a BERT-family embedding model (the default all-MiniLM-L6-v2): which tokens of a
/// capture's text make its sentence embedding similar to that of a second text. The explained output is the cosine
/// similarity of the two mean-pooled last hidden states (sentence-transformers pooling: the mean over every token of
/// the input, [CLS] and [SEP] included); the second text's embedding is a constant.
/// Runs the one Transformer core (its recorded forward and backward passes); reusable for many captures, not from
/// several threads at once.
/// </summary>
internal sealed class EmbeddingRelevance
{
    /// <summary>Largest difference allowed between the capture's attention and this model's for the same tokens.</summary>
    public const double AttentionTolerance = 1e-4;

    private readonly ModelSession _session;
    internal EncoderGradients Model { get; }

    public EmbeddingRelevance(ModelSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        _session = session;
        Model = EncoderGradients.Load(session.Files, session.Config);
    }

    /// <summary>
    /// Relevance of each token of <paramref name="capture"/> (which must be a single text captured with this model)
    /// to the cosine similarity between its embedding and that of <paramref name="compareText"/>.
    /// </summary>
    /// <exception cref="AttnScopeException">The capture is not a single-text capture of this model, or the compare text is empty.</exception>
    public SaliencyResult Explain(AttentionCapture capture, string compareText)
    {
        ArgumentNullException.ThrowIfNull(capture);
        var input = InputOf(capture);
        if (string.IsNullOrWhiteSpace(compareText)) throw new AttnScopeException("the text to compare with is empty");
        var compare = _session.Encode(compareText);

        var pass = Model.Forward(input);
        CheckAttention(capture, pass);
        var other = Model.Forward(compare);
        var (cosine, dHidden) = CosineTarget(pass.LastHidden, other.LastHidden, Model.Config.HiddenSize);
        var gradients = Model.Backward(pass, dHidden);

        int n = pass.Length, heads = Model.Config.NumHeads;
        var r = RelevanceRules.Identity(n);
        for (int l = 0; l < gradients.Length; l++)
            RelevanceRules.ApplySelf(r, n, n, RelevanceRules.WeightedAttention(pass.Attention(l), gradients[l], heads, n, n));

        var info = new JsonObject
        {
            ["method"] = "chefer2021",
            ["target"] = "cosine",
            ["compare_text"] = compareText,
            ["similarity"] = cosine,
            ["pooling"] = "mean",
            ["saliency"] = "mean over all rows of R - I",
            ["model"] = _session.Files.Id,
        };
        // the compare text was cut to the model's length: say so, since the similarity is of the part that was kept
        if (compare.Warnings.Count > 0) info["warnings"] = new JsonArray([.. compare.Warnings.Select(w => (JsonNode?)("compare text: " + w))]);
        return new SaliencyResult(new FloatTensor([n], PooledSaliency(r, n)), null,
            new Dictionary<string, FloatTensor>(StringComparer.Ordinal) { [AttentionStack.Encoder] = ToTensor(r, n, n) }, info);
    }

    /// <summary>
    /// Token j's saliency for the pooled output: (1/n)·Σᵢ (R − I)[i, j]. The pooled embedding is the mean of all n
    /// token outputs, so its relevance row is the mean of R's rows; the identity (each token's residual path to
    /// itself) only adds the same 1/n to every token, so it is left out.
    /// </summary>
    internal static float[] PooledSaliency(double[] r, int n)
    {
        var s = new float[n];
        for (int j = 0; j < n; j++)
        {
            double sum = -1; // the identity's 1 in column j
            for (int i = 0; i < n; i++) sum += r[i * n + j];
            s[j] = (float)(sum / n);
        }
        return s;
    }

    /// <summary>
    /// cos(e, c) of the mean-pooled rows of <paramref name="hidden"/> (e) and <paramref name="compareHidden"/> (c),
    /// and its gradient with respect to <paramref name="hidden"/>: (c/(|e||c|) − cos·e/|e|²)/n on every row.
    /// </summary>
    internal static (double Cosine, double[] Gradient) CosineTarget(double[] hidden, double[] compareHidden, int width)
    {
        var e = MeanRows(hidden, width);
        var c = MeanRows(compareHidden, width);
        double ee = 0, cc = 0, ec = 0;
        for (int k = 0; k < width; k++) { ee += e[k] * e[k]; cc += c[k] * c[k]; ec += e[k] * c[k]; }
        double ne = Math.Sqrt(ee), nc = Math.Sqrt(cc);
        if (ne == 0 || nc == 0) throw new AttnScopeException("an embedding is zero, so its cosine similarity is undefined");
        double cosine = ec / (ne * nc);
        int n = hidden.Length / width;
        var g = new double[hidden.Length];
        for (int k = 0; k < width; k++)
        {
            double gk = (c[k] / (ne * nc) - cosine * e[k] / ee) / n;
            for (int i = 0; i < n; i++) g[i * width + k] = gk;
        }
        return (cosine, g);
    }

    internal static double[] MeanRows(double[] x, int width)
    {
        int n = x.Length / width;
        var m = new double[width];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < width; k++) m[k] += x[i * width + k];
        for (int k = 0; k < width; k++) m[k] /= n;
        return m;
    }

    /// <summary>The capture's own tokens as model input, after checking that re-tokenising its text gives them back.</summary>
    private EncodedInput InputOf(AttentionCapture capture)
    {
        string model = _session.Files.Id;
        if (capture.Stacks.ContainsKey(AttentionStack.Decoder) || capture.Stacks.ContainsKey(AttentionStack.Cross) || capture.TargetTokens.Count > 0)
            throw new AttnScopeException($"the capture is from an encoder-decoder (translation) model, not from the embedding model '{model}'; explain it with the translation relevance and its run folder");
        if (!capture.Stacks.TryGetValue(AttentionStack.Encoder, out var stack))
            throw new AttnScopeException("the capture has no encoder attention to explain");
        if (capture.Metadata.Texts.Count != 1)
            throw new AttnScopeException($"the capture holds a sentence pair ({capture.Metadata.Texts.Count} texts); the embedding similarity explains one text: capture the text alone");
        var c = _session.Config;
        if (stack.Layers != c.NumLayers || stack.Heads != c.NumHeads)
            throw new AttnScopeException($"the capture does not belong to model '{model}': it has {stack.Layers} layers × {stack.Heads} heads, the model {c.NumLayers} × {c.NumHeads}");
        var encoded = _session.Encode(capture.Metadata.Texts[0]);
        var tokens = capture.Tokens;
        if (encoded.Length != tokens.Count)
            throw new AttnScopeException($"the capture does not belong to model '{model}': re-tokenising its text gives {encoded.Length} tokens, the capture has {tokens.Count}");
        for (int i = 0; i < tokens.Count; i++)
            if (encoded.Ids[i] != tokens[i].Id)
                throw new AttnScopeException($"the capture does not belong to model '{model}': token {i} is {TokenText.Printable(tokens[i].Text)} (id {tokens[i].Id}) in the capture but id {encoded.Ids[i]} for this model's tokenizer");
        if (stack.Queries != tokens.Count || stack.Keys != tokens.Count)
            throw new AttnScopeException($"the capture's attention is {stack.Queries}×{stack.Keys} but it has {tokens.Count} tokens");
        return encoded;
    }

    /// <summary>Refuses a capture whose attention is not what this model computes for its tokens.</summary>
    private void CheckAttention(AttentionCapture capture, EncoderGradients.Pass pass)
    {
        var stack = capture.Stack(AttentionStack.Encoder);
        for (int l = 0; l < stack.Layers; l++)
        {
            var mine = pass.Attention(l);
            for (int h = 0; h < stack.Heads; h++)
            {
                var theirs = stack.Head(l, h);
                int offset = h * theirs.Length;
                for (int i = 0; i < theirs.Length; i++)
                {
                    double diff = Math.Abs(mine[offset + i] - theirs[i]);
                    if (!(diff <= AttentionTolerance))
                        throw new AttnScopeException($"the capture's attention differs from what model '{_session.Files.Id}' computes for its tokens (by {diff:G3} in layer {l}, head {h}): it was made with other weights");
                }
            }
        }
    }

    internal static FloatTensor ToTensor(double[] values, int rows, int cols)
    {
        var t = new FloatTensor([rows, cols]);
        for (int i = 0; i < values.Length; i++) t.Data[i] = (float)values[i];
        return t;
    }
}
