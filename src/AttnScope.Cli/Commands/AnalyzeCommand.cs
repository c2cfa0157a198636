using System.CommandLine;
using System.Diagnostics;
using AttnScope.Analyses.Flow;
using AttnScope.Analyses.Heads;
using AttnScope.Analyses.Norms;
using AttnScope.Analyses.Results;
using AttnScope.Analyses.Rollout;
using AttnScope.Capture;

namespace AttnScope.Cli;

/// <summary>
/// <c>attnscope analyze CAPTURE [--rollout] [--flow] [--heads] [--norm] [--relevance ...] [-o OUT]</c>: computes
/// analyses and keeps them in the capture (in place unless -o names another file), where views and the viewer find them.
/// </summary>
internal static partial class AnalyzeCommand
{
    public sealed record Options
    {
        public bool Rollout { get; init; }
        public bool Flow { get; init; }
        public bool Heads { get; init; }
        public bool Norm { get; init; }
        public bool Relevance { get; init; }
        public string Stack { get; init; } = "all";
        public HeadFusion Fusion { get; init; } = HeadFusion.Mean;
        public float DiscardRatio { get; init; }
        public int StartLayer { get; init; }
        public int? FlowLayer { get; init; }
        public IReadOnlyList<int>? FlowRows { get; init; }
        public bool FlowLayers { get; init; }
        public string? Compare { get; init; }
        public int? Target { get; init; }
        public string? Model { get; init; }
    }

    public static Command Create(CliOutput output)
    {
        var file = new Argument<string>("capture") { Description = "a capture file (.safetensors); the analyses are added to it" };
        var rollout = new Option<bool>("--rollout") { Description = "attention rollout (Abnar & Zuidema 2020), every layer kept" };
        var flow = new Option<bool>("--flow") { Description = "exact attention flow (max-flow per output × input token pair)" };
        var heads = new Option<bool>("--heads") { Description = "per-head statistics and roles" };
        var norm = new Option<bool>("--norm") { Description = "norm-based attention ‖α f(x)‖ (needs a capture made with --qkv)" };
        var relevance = new Option<bool>("--relevance") { Description = "gradient-weighted relevance (needs --compare for embedding models; --target for translation models)" };
        var stack = new Option<string>("--stack") { Description = "encoder, decoder, cross or all (every stack the capture has)", DefaultValueFactory = _ => "all" };
        var fusion = new Option<string>("--fusion") { Description = "how rollout fuses the heads of a layer: mean, max or min", DefaultValueFactory = _ => "mean" };
        var discard = new Option<float>("--discard-ratio") { Description = "rollout: share of the lowest weights of each row set to 0 before the residual (0 ≤ r < 1)" };
        var start = new Option<int>("--start-layer") { Description = "rollout: first layer (0-based)" };
        var flowRows = new Option<string?>("--flow-rows") { Description = "flow: only from these output tokens (comma-separated indices, e.g. 0 for [CLS]); long inputs go much faster" };
        var flowLayers = new Option<bool>("--flow-layers") { Description = "flow from the output of every layer (render it as a .gif); costs about layers/2 times --flow" };
        var flowLayer = new Option<int?>("--flow-layer") { Description = "flow: output of which layer the flow starts from (1..layers; default the top)" };
        var compare = new Option<string?>("--compare") { Description = "relevance for an embedding model: the text whose embedding the capture's text is compared with (cosine similarity)" };
        var target = new Option<int?>("--target") { Description = "relevance for a translation model: index of the target token whose log-probability is explained (default: the last); for a decoder language model: the index of the explained token (default: the last)" };
        var model = new Option<string?>("--model", "-m") { Description = "the model for relevance and norm projections (default: the model named in the capture)" };
        var outPath = new Option<string?>("--output", "-o") { Description = "write the analysed capture here instead of updating CAPTURE in place" };
        var cmd = new Command("analyze", "Compute rollout, exact flow, head statistics and roles, norm-based attention and gradient relevance, and keep them in the capture.")
        {
            file, rollout, flow, heads, norm, relevance, stack, fusion, discard, start, flowLayer, flowRows, flowLayers, compare, target, model, outPath,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            var options = new Options
            {
                Rollout = r.GetValue(rollout), Flow = r.GetValue(flow), Heads = r.GetValue(heads), Norm = r.GetValue(norm),
                Relevance = r.GetValue(relevance), Stack = r.GetValue(stack)!, Fusion = HeadFusionNames.Parse(r.GetValue(fusion)!),
                DiscardRatio = r.GetValue(discard), StartLayer = r.GetValue(start), FlowLayer = r.GetValue(flowLayer),
                FlowRows = ParseRows(r.GetValue(flowRows)), FlowLayers = r.GetValue(flowLayers),
                Compare = r.GetValue(compare), Target = r.GetValue(target), Model = r.GetValue(model),
            };
            var input = r.GetValue(file)!;
            var dest = r.GetValue(outPath) ?? input;
            if (!dest.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
                throw new AttnScopeException($"output '{dest}' must be a .safetensors capture file");
            AttnScope.Capture.Io.AtomicFile.CheckWritable(dest);
            var cap = AttentionCapture.Load(input);
            var analysed = Run(cap, options, output);
            analysed.Save(dest);
            output.Out.WriteLine($"wrote {dest}: {analysed.Analyses.Count} analyses ({string.Join(", ", analysed.Analyses.Keys)})");
            return 0;
        }));
        return cmd;
    }

    /// <summary>Runs the requested analyses (all that apply when none is named) and returns the capture with them added.</summary>
    /// <param name="normModel">The model whose output projection norm-based attention uses (default: --model or the capture's model).</param>
    public static AttentionCapture Run(AttentionCapture cap, Options o, CliOutput output, string? normModel = null)
    {
        bool any = o.Rollout || o.Flow || o.Heads || o.Norm || o.Relevance || o.FlowLayers;
        if (o.FlowLayers && o.FlowLayer is not null)
            throw new AttnScopeException("--flow-layers computes the flow from every layer; leave out --flow-layer");
        if (!o.Relevance && (o.Compare is not null || o.Target is not null))
            throw new AttnScopeException($"{(o.Compare is not null ? "--compare" : "--target")} chooses what relevance explains: add --relevance");
        if (any && !o.Rollout && (o.Fusion != HeadFusion.Mean || o.DiscardRatio != 0 || o.StartLayer != 0))
            throw new AttnScopeException("--fusion, --discard-ratio and --start-layer set up the rollout, which was not asked for: add --rollout");
        if (any && !o.Flow && !o.FlowLayers && o.FlowLayer is not null)
            throw new AttnScopeException("--flow-layer sets up the flow, which was not asked for: add --flow");
        var stacks = SelectStacks(cap, o.Stack);
        var results = new List<CaptureAnalysis>();
        var watch = Stopwatch.StartNew();
        foreach (var s in stacks)
        {
            bool self = s.Name != AttentionStack.Cross && s.Queries == s.Keys;
            if ((o.Rollout || !any) && self)
            {
                var r = AttentionRollout.Compute(cap, s.Name, o.Fusion, o.DiscardRatio, o.StartLayer);
                results.Add(r.ToAnalysis());
                output.Out.WriteLine($"{s.Name} rollout ({o.Fusion.Name()} of heads, discard {o.DiscardRatio:0.##}, layers {o.StartLayer}–{s.Layers - 1}): " +
                    $"most traced-back inputs {TopInputs(r.Final, cap.AxisTokens(s.Name).Keys)}");
            }
            else if (o.Rollout && !self) output.Warn($"rollout skips the {s.Name} stack (it maps one sequence onto another; see relevance)");

            if (!o.Flow && !any && self && o.FlowRows is null && s.Queries > DefaultFlowTokens)
                output.Out.WriteLine($"{s.Name} flow skipped: {s.Queries}² exact max-flows take minutes at this length; " +
                    "--flow computes them anyway, --flow-rows 0 only from the first token");
            else if ((o.Flow || !any || o.FlowRows is not null || o.FlowLayers) && self) results.AddRange(RunFlow(cap, s, o, output));
            else if ((o.Flow || o.FlowLayers) && !self) output.Warn($"flow skips the {s.Name} stack (it maps one sequence onto another; see relevance)");

            if (o.Heads || !any)
            {
                var h = HeadStatistics.Compute(cap, s.Name);
                var a = h.ToAnalysis();
                a.Info["thresholds"] = HeadStatistics.Thresholds(h, cap);
                results.Add(a);
                var counts = h.Roles.SelectMany(x => x).GroupBy(x => x).OrderByDescending(g => g.Count()).Select(g => $"{g.Count()} {g.Key}");
                output.Out.WriteLine($"{s.Name} heads ({h.Layers} × {h.Heads}): {string.Join(", ", counts)}");
            }

            if (o.Norm || (!any && s.Value is not null))
                results.Add(RunNorm(cap, s, o, output, normModel));
        }
        if (o.Relevance) results.AddRange(RunRelevance(cap, o, output));
        output.Out.WriteLine($"analysed in {watch.Elapsed.TotalSeconds:0.00} s");
        return cap.WithAnalyses(results);
    }

    private static List<AttentionStack> SelectStacks(AttentionCapture cap, string stack)
    {
        if (stack == "all") return [.. AttentionStack.Names.Where(cap.Stacks.ContainsKey).Select(n => cap.Stacks[n])];
        if (Array.IndexOf(AttentionStack.Names, stack) < 0)
            throw new AttnScopeException($"unknown stack '{stack}' (expected encoder, decoder, cross or all)");
        return [cap.Stack(stack)];
    }

    /// <summary>Above this many tokens, <c>analyze</c> without named analyses leaves flow out (it grows about as n⁴).</summary>
    public const int DefaultFlowTokens = 160;

    private static IEnumerable<CaptureAnalysis> RunFlow(AttentionCapture cap, AttentionStack s, Options o, CliOutput output)
    {
        var watch = Stopwatch.StartNew();
        int rowsWanted = o.FlowRows?.Count ?? s.Queries;
        var nextReport = TimeSpan.FromSeconds(5);
        var gate = new object();
        void Progress(int done, int all)
        {
            lock (gate)
            {
                if (watch.Elapsed < nextReport || done == all) return;
                var left = TimeSpan.FromSeconds(watch.Elapsed.TotalSeconds / done * (all - done));
                output.Err.WriteLine($"attnscope: {s.Name} flow: {done}/{all} output tokens after {watch.Elapsed.TotalSeconds:0} s, about {left.TotalSeconds:0} s left");
                nextReport = watch.Elapsed + TimeSpan.FromSeconds(10);
            }
        }
        FlowResult f;
        FlowLayersResult? layers = null;
        if (o.FlowLayers) (layers, f) = AttentionFlow.ComputeLayers(cap, s.Name, o.FlowRows, Progress);
        else f = AttentionFlow.Compute(cap, s.Name, o.FlowLayer, o.FlowRows, Progress);
        var rowsText = f.Rows is null ? "" : $", from output token(s) {string.Join(", ", f.Rows)}";
        output.Out.WriteLine($"{s.Name} flow (exact max-flow, output of layer {f.OutputLayer}, {rowsWanted}×{s.Keys} pairs in {watch.Elapsed.TotalSeconds:0.00} s{rowsText}): " +
            $"most flow-receiving inputs {TopInputs(f.Flow.Data, cap.AxisTokens(s.Name).Keys, f.Rows)}" +
            (layers is null ? "" : $"; and from the output of each of the {layers.Steps} layers"));
        return layers is null ? f.ToAnalyses() : [.. f.ToAnalyses(), layers.ToAnalysis()];
    }

    private static IReadOnlyList<int>? ParseRows(string? text)
    {
        if (text is null) return null;
        var list = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            list.Add(int.TryParse(part, out var v) && v >= 0 ? v : throw new AttnScopeException($"--flow-rows: '{part}' is not a token index (use e.g. 0 or 0,5,9)"));
        if (list.Count == 0) throw new AttnScopeException("--flow-rows: give at least one token index (e.g. 0)");
        return list;
    }

    private static CaptureAnalysis RunNorm(AttentionCapture cap, AttentionStack s, Options o, CliOutput output, string? normModel)
    {
        IReadOnlyList<float[]>? projection = null;
        var modelId = normModel ?? o.Model ?? cap.Metadata.ModelId;
        if (s.Value is not null && s.Name == AttentionStack.Encoder && cap.Metadata.Architecture == "bert" && modelId.Length > 0)
        {
            try
            {
                projection = OutputProjections.ForBert(modelId);
            }
            catch (AttnScopeException e)
            {
                output.Warn($"norm-based attention uses the value vectors alone: the output projection of model '{modelId}' could not be loaded ({e.Message})");
            }
        }
        var n = NormAttention.Compute(cap, s.Name, projection);
        output.Out.WriteLine($"{s.Name} norm-based attention ({(projection is null ? "‖α v‖, value vectors" : "‖α v W_O‖, value vectors through each head's output projection")})");
        return n.ToAnalysis();
    }

    /// <summary>The five input tokens with the largest mean share over the rows (or the given rows) of a [queries, keys] matrix.</summary>
    internal static string TopInputs(ReadOnlySpan<float> m, IReadOnlyList<CaptureToken> keys, IReadOnlyList<int>? rows = null)
    {
        int k = keys.Count, q = m.Length / Math.Max(k, 1);
        var share = new double[k];
        var which = rows ?? Enumerable.Range(0, q).ToArray();
        foreach (var i in which)
            for (int j = 0; j < k; j++) share[j] += m[i * k + j] / which.Count;
        var top = Enumerable.Range(0, k).OrderByDescending(j => share[j]).Take(5);
        return string.Join(", ", top.Select(j => $"{TokenText.Printable(keys[j].Text, 20)} {share[j]:0.000}"));
    }
}
