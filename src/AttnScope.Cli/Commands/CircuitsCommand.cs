using System.CommandLine;
using System.Globalization;
using AttnScope.Analyses.Circuits;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Views.Analyses;

namespace AttnScope.Cli;

/// <summary>
/// <c>attnscope circuits lens|dla|ablate|patch|heads --model M …  -o FILE</c>: the TransformerLens-style analyses of
/// docs/analyses.md ("Circuits") on a decoder language model. <c>-o</c> ending in .png, .svg or .pdf draws the map;
/// ending in .safetensors writes a capture of the (clean) text with the maps kept as <c>circuits.*</c> analyses.
/// </summary>
internal static class CircuitsCommand
{
    private sealed record Common(Option<string> Model, Option<string> Output, Option<float> Scale);

    private static Common Shared(Command cmd)
    {
        var model = new Option<string>("--model", "-m") { Description = "a decoder model: a Hugging Face folder (GPT-2, Llama, Mistral, Qwen2, SmolLM) or hf:ORG/NAME[@revision]", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "figure (.png, .svg, .pdf) or capture with the maps (.safetensors)", Required = true };
        var scale = new Option<float>("--scale") { Description = "figure scale (DPI factor)", DefaultValueFactory = _ => 1f };
        cmd.Options.Add(model); cmd.Options.Add(output); cmd.Options.Add(scale);
        return new Common(model, output, scale);
    }

    public static Command Create(CliOutput output)
    {
        var root = new Command("circuits", "TransformerLens-style analyses of a decoder language model: logit lens, direct logit attribution, head ablation, activation patching, head detector.");
        root.Subcommands.Add(Lens(output));
        root.Subcommands.Add(Dla(output));
        root.Subcommands.Add(Ablate(output));
        root.Subcommands.Add(Patch(output));
        root.Subcommands.Add(Heads(output));
        return root;
    }

    private static Option<string> TextOption(string name, string what) => new(name) { Description = what, Required = true };

    private static (Option<string> Target, Option<string> Distractor) DiffOptions(Command cmd)
    {
        var target = new Option<string>("--target") { Description = "the target token: text that is one token (e.g. \" Paris\"), or #ID", Required = true };
        var distractor = new Option<string>("--distractor") { Description = "the distractor token: text that is one token, or #ID", Required = true };
        cmd.Options.Add(target); cmd.Options.Add(distractor);
        return (target, distractor);
    }

    private static Command Lens(CliOutput output)
    {
        var cmd = new Command("lens", "Plain logit lens: each layer's residual through the final norm and the unembedding; top tokens per position.");
        var c = Shared(cmd);
        var text = TextOption("--text", "the prompt");
        var token = new Option<string?>("--token") { Description = "also track this token's probability and rank (text that is one token, or #ID)" };
        var topK = new Option<int>("--top-k") { Description = "tokens kept per layer and position", DefaultValueFactory = _ => 5 };
        cmd.Options.Add(text); cmd.Options.Add(token); cmd.Options.Add(topK);
        cmd.SetAction(r => output.Guard(() =>
        {
            var session = Open(r.GetValue(c.Model)!);
            var ids = Encode(session, r.GetValue(text)!);
            int? tok = r.GetValue(token) is { } t ? TokenId(session, t, "--token") : null;
            var lens = LogitLens.Run(session.Model, ids, r.GetValue(topK), tok);
            string Text(int id) => session.Tokenizer.Decode([id]);
            int m = ids.Length;
            output.Out.WriteLine($"{LogitLens.Variant}; last position, top token after each layer:");
            for (int row = 0; row < lens.Rows; row++)
            {
                var (id, p) = lens.Top(row, m - 1);
                string tracked = tok is null ? "" : string.Create(CultureInfo.InvariantCulture, $"   tracked p={lens.TokenProbs![row * m + m - 1]:0.####} rank {lens.TokenRanks![row * m + m - 1]}");
                output.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {lens.RowLabel(row),6}: '{TokenText.Printable(Text(id), 40)}' p={p:0.####}{tracked}"));
            }
            Write(output, session, r.GetValue(text)!, lens.ToMap(Text), lens.ToAnalyses(Text), r.GetValue(c.Output)!, r.GetValue(c.Scale));
            return 0;
        }));
        return cmd;
    }

    private static Command Dla(CliOutput output)
    {
        var cmd = new Command("dla", "Direct logit attribution of a logit difference to every head and MLP at the last position.");
        var c = Shared(cmd);
        var text = TextOption("--text", "the prompt");
        cmd.Options.Add(text);
        var (target, distractor) = DiffOptions(cmd);
        cmd.SetAction(r => output.Guard(() =>
        {
            var session = Open(r.GetValue(c.Model)!);
            var ids = Encode(session, r.GetValue(text)!);
            var diff = Diff(session, r.GetValue(target)!, r.GetValue(distractor)!);
            var dla = DirectLogitAttribution.Run(session.Model, ids, diff);
            string Text(int id) => session.Tokenizer.Decode([id]);
            output.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{diff.Describe(Text)} = {dla.ModelLogitDiff:0.####}; components sum to {dla.Total:0.####} (embed {dla.Embed:0.####}, constant {dla.Constant:0.####})"));
            var heads = dla.ToHeadMap(Text);
            Write(output, session, r.GetValue(text)!, heads, [heads.ToAnalysis(), dla.ToLayerMap(Text).ToAnalysis()], r.GetValue(c.Output)!, r.GetValue(c.Scale));
            return 0;
        }));
        return cmd;
    }

    private static Command Ablate(CliOutput output)
    {
        var cmd = new Command("ablate", "Ablate each head (zero, or --mean over positions) and measure the change of a logit difference.");
        var c = Shared(cmd);
        var text = TextOption("--text", "the prompt");
        var mean = new Option<bool>("--mean") { Description = "replace the head's z by its mean over positions instead of zero" };
        cmd.Options.Add(text); cmd.Options.Add(mean);
        var (target, distractor) = DiffOptions(cmd);
        cmd.SetAction(r => output.Guard(() =>
        {
            var session = Open(r.GetValue(c.Model)!);
            var ids = Encode(session, r.GetValue(text)!);
            var diff = Diff(session, r.GetValue(target)!, r.GetValue(distractor)!);
            var result = HeadAblation.Run(session.Model, ids, diff, r.GetValue(mean) ? AblationKind.Mean : AblationKind.Zero);
            string Text(int id) => session.Tokenizer.Decode([id]);
            var map = result.ToMap(Text);
            Report(output, map);
            Write(output, session, r.GetValue(text)!, map, [map.ToAnalysis()], r.GetValue(c.Output)!, r.GetValue(c.Scale));
            return 0;
        }));
        return cmd;
    }

    private static Command Patch(CliOutput output)
    {
        var cmd = new Command("patch", "Activation patching from a clean into a corrupted prompt of the same token length: recovery of a logit difference.");
        var c = Shared(cmd);
        var clean = TextOption("--clean", "the clean prompt");
        var corrupted = TextOption("--corrupted", "the corrupted prompt (same number of tokens)");
        var site = new Option<string>("--site") { Description = "heads (each head's z, all positions) or resid (resid_pre of each layer at each position)", DefaultValueFactory = _ => "heads" };
        cmd.Options.Add(clean); cmd.Options.Add(corrupted); cmd.Options.Add(site);
        var (target, distractor) = DiffOptions(cmd);
        cmd.SetAction(r => output.Guard(() =>
        {
            var session = Open(r.GetValue(c.Model)!);
            var cleanIds = Encode(session, r.GetValue(clean)!);
            var corruptIds = Encode(session, r.GetValue(corrupted)!);
            var diff = Diff(session, r.GetValue(target)!, r.GetValue(distractor)!);
            string Text(int id) => session.Tokenizer.Decode([id]);
            var result = r.GetValue(site)!.Trim().ToLowerInvariant() switch
            {
                "heads" => ActivationPatching.Heads(session.Model, cleanIds, corruptIds, diff),
                "resid" or "resid_pre" => ActivationPatching.ResidPre(session.Model, cleanIds, corruptIds, diff),
                var other => throw new AttnScopeException($"--site '{other}' is not known (heads, resid)"),
            };
            var labels = cleanIds.Select((id, p) => cleanIds[p] == corruptIds[p] ? $"{p} {Text(id)}" : $"{p} {Text(id)}/{Text(corruptIds[p])}").ToList();
            var map = result.ToMap(Text, labels);
            Report(output, map);
            Write(output, session, r.GetValue(clean)!, map, [map.ToAnalysis()], r.GetValue(c.Output)!, r.GetValue(c.Scale));
            return 0;
        }));
        return cmd;
    }

    private static Command Heads(CliOutput output)
    {
        var cmd = new Command("heads", "Head detector scores (TransformerLens detect_head) on the repeated-random-token test.");
        var c = Shared(cmd);
        var kind = new Option<string>("--kind") { Description = "induction, previous or duplicate", DefaultValueFactory = _ => "induction" };
        var length = new Option<int>("--length") { Description = "random tokens per copy (S: prompts are [BOS] r r)", DefaultValueFactory = _ => 50 };
        var batch = new Option<int>("--batch") { Description = "random prompts averaged", DefaultValueFactory = _ => 4 };
        var seed = new Option<int>("--seed") { Description = "random seed", DefaultValueFactory = _ => 0 };
        var measure = new Option<string>("--measure") { Description = "mul (share of attention on the pattern) or abs (1 − Σ|A − P|/n)", DefaultValueFactory = _ => "mul" };
        var noBos = new Option<bool>("--exclude-bos") { Description = "leave attention to the first token out" };
        var noCurrent = new Option<bool>("--exclude-current") { Description = "leave attention to the current token out" };
        cmd.Options.Add(kind); cmd.Options.Add(length); cmd.Options.Add(batch); cmd.Options.Add(seed);
        cmd.Options.Add(measure); cmd.Options.Add(noBos); cmd.Options.Add(noCurrent);
        cmd.SetAction(r => output.Guard(() =>
        {
            var session = Open(r.GetValue(c.Model)!);
            var k = r.GetValue(kind)!.Trim().ToLowerInvariant() switch
            {
                "induction" or "induction_head" => DetectedHead.Induction,
                "previous" or "previous_token" or "previous_token_head" => DetectedHead.PreviousToken,
                "duplicate" or "duplicate_token" or "duplicate_token_head" => DetectedHead.DuplicateToken,
                var other => throw new AttnScopeException($"--kind '{other}' is not known (induction, previous, duplicate)"),
            };
            var m = r.GetValue(measure)!.Trim().ToLowerInvariant() switch
            {
                "mul" => DetectionMeasure.Mul,
                "abs" => DetectionMeasure.Abs,
                var other => throw new AttnScopeException($"--measure '{other}' is not known (mul, abs)"),
            };
            var prompts = HeadDetector.RepeatedTokens(session.Spec, r.GetValue(length), r.GetValue(batch), r.GetValue(seed));
            var result = HeadDetector.Detect(session.Model, prompts, k, m, r.GetValue(noBos), r.GetValue(noCurrent));
            var map = result.ToMap();
            Report(output, map);
            Write(output, session, null, map, [map.ToAnalysis()], r.GetValue(c.Output)!, r.GetValue(c.Scale), prompts[0]);
            return 0;
        }));
        return cmd;
    }

    private static DecoderSession Open(string model)
    {
        var files = AttnScope.Sources.Models.ModelResolver.Resolve(model);
        if (!DecoderSession.IsDecoder(files))
            throw new AttnScopeException($"'{files.Id}' is not a decoder language model (circuits run GPT-2, Llama, Mistral and Qwen2 families)");
        return DecoderSession.Open(files);
    }

    private static int[] Encode(DecoderSession session, string text)
    {
        var input = session.Tokenizer.Encode(text);
        if (input.Warnings.Count > 0) throw new AttnScopeException($"the prompt does not fit: {input.Warnings[0]}");
        return input.Ids;
    }

    /// <summary>A token given as #ID or as text that encodes to exactly one ordinary token.</summary>
    internal static int TokenId(DecoderSession session, string value, string option)
    {
        if (value.StartsWith('#'))
        {
            if (!int.TryParse(value.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int id) || id >= session.Spec.Vocab)
                throw new AttnScopeException($"{option} '{value}' is not a token id below {session.Spec.Vocab}");
            return id;
        }
        if (value.Length == 0) throw new AttnScopeException($"{option} is empty");
        var tokens = session.Tokenizer.Encode(value).Tokens.Where(t => !t.IsSpecial).ToList();
        if (tokens.Count != 1)
            throw new AttnScopeException($"{option} '{TokenText.Printable(value, 40)}' is {tokens.Count} tokens ({string.Join(" ", tokens.Select(t => $"'{TokenText.Printable(t.Text, 20)}'"))}); give text that is one token, or #ID");
        return tokens[0].Id;
    }

    private static LogitDiff Diff(DecoderSession session, string target, string distractor) =>
        new(TokenId(session, target, "--target"), TokenId(session, distractor, "--distractor"));

    private static void Report(CliOutput output, CircuitMap map)
    {
        output.Out.WriteLine(map.Metric);
        int best = 0;
        for (int i = 1; i < map.Values.Data.Length; i++) if (MathF.Abs(map.Values.Data[i]) > MathF.Abs(map.Values.Data[best])) best = i;
        output.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"largest: {map.RowAxis} {map.RowLabels[best / map.Cols]}, {map.ColumnAxis} {map.ColumnLabels[best % map.Cols]}: {map.Values.Data[best]:0.####}"));
    }

    /// <summary>A figure of the map, or a capture of the text (or of the given ids) holding the analyses.</summary>
    private static void Write(CliOutput output, DecoderSession session, string? text, CircuitMap map, IEnumerable<CaptureAnalysis> analyses,
        string path, float scale, int[]? ids = null)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext == ".safetensors")
        {
            AttentionCapture cap;
            if (text is not null) cap = session.Capture(text);
            else
            {
                var r = session.Model.Forward(new AttnScope.Sources.Transformer.ForwardInput { Ids = ids! });
                var tokens = ids!.Select(id => new CaptureToken(session.Tokenizer.TokenText(id), id, -1, -1, Segment.A, session.Tokenizer.IsSpecial(id))).ToList();
                cap = new AttentionCapture(new CaptureMetadata { ModelId = session.Files.Id, Architecture = session.Spec.Family, Source = "managed" },
                    tokens, [new AttentionStack(AttentionStack.Decoder, r.Attention!)]);
            }
            cap = cap.WithAnalyses(analyses);
            cap.Save(path);
            output.Out.WriteLine($"wrote {path}: capture with {string.Join(", ", analyses.Select(a => a.Name))}");
            return;
        }
        CircuitViews.Save(map, path, new CircuitViewOptions { ModelId = session.Files.Id, Scale = scale });
        output.Out.WriteLine($"wrote {path}");
    }
}
