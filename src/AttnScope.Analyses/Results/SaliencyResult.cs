using System.Text.Json.Nodes;
using AttnScope.Capture;

namespace AttnScope.Analyses.Results;

/// <summary>
/// Gradient-weighted relevance (Chefer et al. 2021) for one chosen output. <see cref="Source"/>[j] is the relevance
/// of input token j; <see cref="Target"/>[j] (translation models) that of output-side token j. <see cref="Relevance"/>
/// holds the full relevance matrices by stack name (<c>encoder</c>: R^ss, <c>decoder</c>: R^tt, <c>cross</c>: R^ts).
/// <see cref="Info"/> says what the output was: <c>target</c> = <c>cosine</c> (with <c>compare_text</c> and
/// <c>similarity</c>) or <c>log_prob</c> (with <c>target_index</c>, <c>target_token</c> and <c>log_prob</c>).
/// </summary>
internal sealed record SaliencyResult(FloatTensor Source, FloatTensor? Target, IReadOnlyDictionary<string, FloatTensor> Relevance, JsonObject Info)
{
    public IEnumerable<CaptureAnalysis> ToAnalyses()
    {
        yield return new CaptureAnalysis(AnalysisNames.SaliencySource, Source, (JsonObject)Info.DeepClone());
        if (Target is not null) yield return new CaptureAnalysis(AnalysisNames.SaliencyTarget, Target, (JsonObject)Info.DeepClone());
        foreach (var (stack, r) in Relevance)
            yield return new CaptureAnalysis(AnalysisNames.Of(stack, AnalysisNames.Relevance), r, (JsonObject)Info.DeepClone());
    }

    public static SaliencyResult? From(AttentionCapture capture)
    {
        if (capture.Analysis(AnalysisNames.SaliencySource) is not { } s) return null;
        ResultChecks.Rank(s, 1);
        ResultChecks.Shape(s, capture.Tokens.Count);
        var t = capture.Analysis(AnalysisNames.SaliencyTarget);
        if (t is not null)
        {
            ResultChecks.Rank(t, 1);
            ResultChecks.Shape(t, capture.TargetTokens.Count);
        }
        var rel = new Dictionary<string, FloatTensor>(StringComparer.Ordinal);
        foreach (var stack in AttentionStack.Names)
            if (capture.Analysis(AnalysisNames.Of(stack, AnalysisNames.Relevance)) is { } r)
            {
                ResultChecks.Rank(r, 2);
                var (q, k) = ResultChecks.Axes(capture, stack);
                ResultChecks.Shape(r, q, k);
                rel[stack] = r.Tensor;
            }
        return new SaliencyResult(s.Tensor, t?.Tensor, rel, s.Info);
    }
}
