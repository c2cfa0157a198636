using System.Text.Json.Nodes;
using AttnScope.Analyses.Results;
using AttnScope.Capture;

namespace AttnScope.Tests.Support;

/// <summary>
/// Captures holding analysis results with known values, built from the typed result records (not computed): for
/// the views of analyses and the viewer's Analyses tab.
/// </summary>
public static class AnalysisCaptures
{
    public static readonly string[] StatNames = ["entropy", "entropy_norm", "mean_distance", "max_weight", "special_share", "punctuation_share", "sink_share", "previous_token", "next_token", "diagonal", "positional_offset", "positional_score"];

    /// <summary>Role of head h in layer l: the eight roles in turn.</summary>
    public static string Role(int l, int h, int heads) => global::AttnScope.Views.Analyses.RoleColors.Known[(l * heads + h) % 8];

    /// <summary>Statistic s of head (l, h): a distinct, recognisable value (l + h/10 + s/100).</summary>
    public static float Stat(int l, int h, int s) => l + h / 10f + s / 100f;

    /// <summary>Rollout step i, row q: weight 1 − (i+1)/(steps+1) on the diagonal, the rest on [CLS] (token 0).</summary>
    public static float RolloutValue(int step, int steps, int q, int k)
    {
        float keep = 1f - (step + 1f) / (steps + 1f);
        return (q == k ? keep : 0) + (k == 0 ? 1 - keep : 0);
    }

    /// <summary>Flow row q: 0.6 on key (q + 1) mod n, 0.4 on key q.</summary>
    public static float FlowValue(int q, int k, int n) => (k == (q + 1) % n ? 0.6f : 0) + (k == q ? 0.4f : 0);

    /// <summary>Norm-based attention: attention × (1 + key index), so values above 1 occur.</summary>
    public static float NormValue(AttentionStack s, int l, int h, int q, int k) => s.Attention[l, h, q, k] * (1 + k);

    /// <summary>Saliency of token i: 1 at <paramref name="peak"/>, 0 at peak + 1, i / n elsewhere.</summary>
    public static float SaliencyValue(int i, int n, int peak) => i == peak ? 1f : i == peak + 1 ? 0f : (float)i / n;

    public static IEnumerable<CaptureAnalysis> For(AttentionCapture cap, string stack, int rolloutStart = 0)
    {
        var s = cap.Stack(stack);
        int n = s.Queries, k = s.Keys, steps = s.Layers - rolloutStart;
        var joint = new FloatTensor([steps, n, k]);
        for (int i = 0; i < steps; i++)
            for (int q = 0; q < n; q++)
                for (int j = 0; j < k; j++)
                    joint.Data[(i * n + q) * k + j] = RolloutValue(i, steps, q, j);
        foreach (var a in new[] { new RolloutResult(stack, HeadFusion.Mean, 0.5f, rolloutStart, joint).ToAnalysis() }) yield return a;

        var flow = new FloatTensor([n, k]);
        for (int q = 0; q < n; q++)
            for (int j = 0; j < k; j++)
                flow.Data[q * k + j] = FlowValue(q, j, k);
        foreach (var a in new FlowResult(stack, s.Layers, flow, flow).ToAnalyses()) yield return a;

        var stats = new FloatTensor([s.Layers, s.Heads, StatNames.Length]);
        var roles = new List<IReadOnlyList<string>>();
        for (int l = 0; l < s.Layers; l++)
        {
            var row = new List<string>();
            for (int h = 0; h < s.Heads; h++)
            {
                row.Add(Role(l, h, s.Heads));
                for (int i = 0; i < StatNames.Length; i++) stats.Data[(l * s.Heads + h) * StatNames.Length + i] = Stat(l, h, i);
            }
            roles.Add(row);
        }
        yield return new HeadStatsResult(stack, StatNames, stats, roles).ToAnalysis();

        var norms = new FloatTensor((int[])s.Attention.Shape.Clone());
        for (int l = 0; l < s.Layers; l++)
            for (int h = 0; h < s.Heads; h++)
                for (int q = 0; q < n; q++)
                    for (int j = 0; j < k; j++)
                        norms[l, h, q, j] = NormValue(s, l, h, q, j);
        yield return new NormAttentionResult(stack, "value", norms).ToAnalysis();
    }

    /// <summary>Saliency of an embedding model: source only, the cosine target.</summary>
    public static IEnumerable<CaptureAnalysis> CosineSaliency(AttentionCapture cap, int peak, string compare = "A cat rested.", float similarity = 0.8125f)
    {
        var src = new FloatTensor([cap.Tokens.Count]);
        for (int i = 0; i < src.Data.Length; i++) src.Data[i] = SaliencyValue(i, src.Data.Length, peak);
        var info = new JsonObject { ["target"] = "cosine", ["compare_text"] = compare, ["similarity"] = similarity };
        return new SaliencyResult(src, null, new Dictionary<string, FloatTensor>(), info).ToAnalyses();
    }

    /// <summary>Saliency of a translation model: source and target prefix, a target token's log-probability.</summary>
    public static IEnumerable<CaptureAnalysis> LogProbSaliency(AttentionCapture cap, int peak, int targetPeak, string token, float logProb)
    {
        var src = new FloatTensor([cap.Tokens.Count]);
        for (int i = 0; i < src.Data.Length; i++) src.Data[i] = SaliencyValue(i, src.Data.Length, peak);
        var tgt = new FloatTensor([cap.TargetTokens.Count]);
        for (int i = 0; i < tgt.Data.Length; i++) tgt.Data[i] = SaliencyValue(i, tgt.Data.Length, targetPeak) * 0.5f;
        var info = new JsonObject { ["target"] = "log_prob", ["target_index"] = cap.TargetTokens.Count - 1, ["target_token"] = token, ["log_prob"] = logProb };
        return new SaliencyResult(src, tgt, new Dictionary<string, FloatTensor>(), info).ToAnalyses();
    }

    /// <summary>An encoder capture (tokens with word pieces and special tokens) with every analysis.</summary>
    public static AttentionCapture Encoder(int n = 12, int layers = 3, int heads = 4, int peak = 3)
    {
        var cap = SyntheticCaptures.Realistic(n, layers, heads);
        return With(cap, For(cap, AttentionStack.Encoder).Concat(CosineSaliency(cap, peak)));
    }

    /// <summary>The capture with the analyses added, saved and read back, as views meet it in a file.</summary>
    public static AttentionCapture With(AttentionCapture cap, IEnumerable<CaptureAnalysis> analyses) =>
        AttentionCapture.FromBytes(cap.WithAnalyses(analyses).ToBytes());
}
