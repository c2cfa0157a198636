using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Training.Decoding;

namespace AttnScope.Analyses.Relevance;

/// <summary>
/// Gradient-weighted relevance (Chefer et al. 2021) of a capture for a chosen output: entry points that load the
/// model once per call. To explain many captures with one model, keep an <see cref="EmbeddingRelevance"/> or a
/// <see cref="TranslationRelevance"/>.
/// </summary>
internal static class GradientRelevance
{
    /// <summary>Which tokens of the capture's text make its embedding similar to <paramref name="compareText"/>'s (see <see cref="EmbeddingRelevance"/>).</summary>
    public static SaliencyResult ForEmbedding(ModelSession session, AttentionCapture capture, string compareText) =>
        new EmbeddingRelevance(session).Explain(capture, compareText);

    /// <summary>As above for a model name (<c>minilm</c>, a Hugging Face folder, an .onnx file, hf:ORG/NAME).</summary>
    public static SaliencyResult ForEmbedding(string model, AttentionCapture capture, string compareText)
    {
        using var session = ModelSession.Open(model);
        return ForEmbedding(session, capture, compareText);
    }

    /// <summary>Which source and earlier target tokens decide the log-probability of the token decoder row
    /// <paramref name="targetIndex"/> predicts (see <see cref="TranslationRelevance"/>).</summary>
    public static SaliencyResult ForTranslation(Translator translator, AttentionCapture capture, int targetIndex) =>
        new TranslationRelevance(translator).Explain(capture, targetIndex);

    /// <summary>Which earlier tokens decide a decoder language model's log-probability of token
    /// <paramref name="targetIndex"/> (see <see cref="DecoderRelevance"/>).</summary>
    public static SaliencyResult ForDecoder(DecoderSession session, AttentionCapture capture, int? targetIndex = null) =>
        new DecoderRelevance(session).Explain(capture, targetIndex);

    /// <summary>As above for a training run folder (its newest checkpoint).</summary>
    public static SaliencyResult ForTranslation(string runFolder, AttentionCapture capture, int targetIndex) =>
        ForTranslation(Translator.Open(runFolder), capture, targetIndex);
}
