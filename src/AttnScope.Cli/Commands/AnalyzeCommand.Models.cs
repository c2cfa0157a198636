using AttnScope.Analyses.Relevance;
using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Training.Checkpoints;

namespace AttnScope.Cli;

internal static partial class AnalyzeCommand
{

    /// <summary>
    /// Gradient relevance for the model the capture came from (or --model): a translation run folder explains the
    /// log-probability of one target token (--target, default the last produced piece); any other model explains the
    /// cosine similarity of the capture's text with --compare; a decoder language model explains token --target's
    /// log-probability (default the last token).
    /// </summary>
    private static IEnumerable<CaptureAnalysis> RunRelevance(AttentionCapture cap, Options o, CliOutput output)
    {
        var model = o.Model ?? cap.Metadata.ModelId;
        if (string.IsNullOrEmpty(model))
            throw new AttnScopeException("relevance needs the model: the capture does not name one, so give --model");
        bool translation = cap.Stacks.ContainsKey(AttentionStack.Cross);
        bool decoderLm = !translation && cap.Stacks.ContainsKey(AttentionStack.Decoder) && !cap.Stacks.ContainsKey(AttentionStack.Encoder);
        SaliencyResult r;
        if (decoderLm)
        {
            if (o.Compare is not null) throw new AttnScopeException("--compare is for embedding models; a decoder capture explains a token's log-probability (--target N)");
            var session = DecoderSession.Open(model);
            r = GradientRelevance.ForDecoder(session, cap, o.Target);
            output.Out.WriteLine($"relevance for log p({TokenText.Printable((string?)r.Info["target_token"] ?? "?", 30)}) at token {(int?)r.Info["target_index"]} = " +
                $"{(double?)r.Info["log_prob"] ?? double.NaN:0.000}: {TopTokens(r.Source.Data, cap.Tokens)}");
        }
        else if (translation)
        {
            if (o.Compare is not null) throw new AttnScopeException("--compare is for embedding models; a translation capture explains a target token (--target)");
            if (!RunFolder.IsRunFolder(model))
                throw new AttnScopeException($"relevance of a translation capture needs its training run folder; '{model}' is not one (give --model RUN_FOLDER)");
            int target = o.Target ?? Math.Max(cap.TargetTokens.Count - 2, 0);
            r = GradientRelevance.ForTranslation(model, cap, target);
            output.Out.WriteLine($"relevance for log p({TokenText.Printable((string?)r.Info["target_token"] ?? "?", 30)}) at target row {target} = " +
                $"{(double?)r.Info["log_prob"] ?? double.NaN:0.000}: source {TopTokens(r.Source.Data, cap.Tokens)}");
        }
        else
        {
            if (o.Target is not null) throw new AttnScopeException("--target is for translation captures; for an embedding model give --compare TEXT");
            if (o.Compare is null) throw new AttnScopeException("relevance for an embedding model needs --compare TEXT (which tokens make the capture's text similar to it?)");
            r = GradientRelevance.ForEmbedding(model, cap, o.Compare);
            if (r.Info["warnings"] is System.Text.Json.Nodes.JsonArray warnings)
                foreach (var w in warnings) output.Warn((string?)w ?? "");
            output.Out.WriteLine($"relevance for cos(text, compare) = {(double?)r.Info["similarity"] ?? double.NaN:0.000}: {TopTokens(r.Source.Data, cap.Tokens)}");
        }
        return r.ToAnalyses();
    }

    private static string TopTokens(float[] saliency, IReadOnlyList<CaptureToken> tokens) =>
        string.Join(", ", Enumerable.Range(0, Math.Min(saliency.Length, tokens.Count)).OrderByDescending(j => saliency[j]).Take(5)
            .Select(j => $"{TokenText.Printable(tokens[j].Text, 20)} {saliency[j].ToString("G3", System.Globalization.CultureInfo.InvariantCulture)}"));
}
