using System.CommandLine;
using System.Text;
using AttnScope.Analyses.Heads;
using AttnScope.Capture;

namespace AttnScope.Cli;

/// <summary>
/// <c>attnscope inspect FILE</c>: a readable summary of a capture: model, texts, a generation, stacks (with shared
/// key/value heads), analyses, attention sinks per layer × head, tokens.
/// </summary>
internal static class InspectCommand
{
    public static Command Create(CliOutput output)
    {
        var file = new Argument<string>("capture") { Description = "a capture file (.safetensors)" };
        var all = new Option<bool>("--all-tokens") { Description = "list every token (default: the first and last 20)" };
        var cmd = new Command("inspect", "Summarise a capture: model, tokens, stacks and shapes, attention sinks.") { file, all };
        cmd.SetAction(r => output.Guard(() =>
        {
            var path = r.GetValue(file)!;
            if (AttnScope.Capture.Long.LongCapture.IsLongCapture(path))
            {
                using var lc = AttnScope.Capture.Long.LongCapture.Open(path);
                output.Out.Write(DescribeLong(lc, r.GetValue(all)));
                return 0;
            }
            var cap = AttentionCapture.Load(path);
            output.Out.Write(Describe(cap, r.GetValue(all)));
            return 0;
        }));
        return cmd;
    }

    /// <summary>A long capture (attnscope.long/1), from its header alone: nothing of the tensor data is read.</summary>
    public static string DescribeLong(AttnScope.Capture.Long.LongCapture c, bool allTokens)
    {
        var sb = new StringBuilder();
        var m = c.Metadata;
        var L = c.Layout;
        sb.AppendLine($"model:        {TokenText.Escaped(m.ModelId)} ({TokenText.Escaped(m.Architecture)})");
        sb.AppendLine($"format:       {AttnScope.Capture.Long.LongCaptureLayout.FormatId} (long capture; open it with serve's /long view)");
        foreach (var w in m.Warnings) sb.AppendLine($"warning:      {TokenText.Escaped(w)}");
        sb.AppendLine($"stack:        {L.Stack}, {L.Layers} layers × {L.Heads} heads × {L.Tokens} tokens");
        sb.AppendLine($"rows:         {(L.Chosen.Count == 0 ? "none" : string.Join(" ", L.Chosen.Select(p => $"l{p.Layer}h{p.Head}")))}" +
            (L.Chosen.Count > 0 ? $" ({AttnScope.Capture.Long.AttentionQuantizer.Name(L.Storage)}, [{L.Tokens}, {L.Tokens}] each)" : ""));
        sb.AppendLine($"pyramid:      {(L.Blocks.Count == 0 ? "none" : "blocks " + string.Join(", ", L.Blocks) + " (max and mean, F16, every head)")}");
        AppendTokens(sb, "tokens", c.Tokens, allTokens);
        return sb.ToString();
    }

    public static string Describe(AttentionCapture cap, bool allTokens)
    {
        var sb = new StringBuilder();
        var m = cap.Metadata;
        // Everything below comes from the file: printed escaped, like token text.
        sb.AppendLine($"model:        {TokenText.Escaped(m.ModelId)} ({TokenText.Escaped(m.Architecture)})");
        sb.AppendLine($"source:       {TokenText.Escaped(m.Source)}");
        if (m.Extra.TryGetValue("config", out var cfg)) sb.AppendLine($"config:       {TokenText.Printable(cfg, 200)}");
        for (int i = 0; i < m.Texts.Count; i++)
            sb.AppendLine($"text {(i == 0 ? "A" : "B")}:       {TokenText.Printable(m.Texts[i], 200)}");
        foreach (var w in m.Warnings) sb.AppendLine($"warning:      {TokenText.Escaped(w)}");
        if (GenerationInfo.Of(cap) is { } g)
        {
            var how = new[] { g.Strategy is { Length: > 0 } st ? TokenText.Printable(st, 40) : null, g.StopReason is { } why ? $"stopped: {why}" : null }
                .Where(x => x is not null).ToList();
            sb.AppendLine($"generation:   {g.PromptTokens} prompt tokens + {g.Tokens - g.PromptTokens} generated{(how.Count > 0 ? $" ({string.Join(", ", how)})" : "")}; {g.Steps} steps");
        }
        sb.AppendLine("stacks:");
        foreach (var s in cap.Stacks.Values)
        {
            sb.AppendLine($"  {s.Name,-8} attention {s.Attention.ShapeText}  ({s.Layers} layers × {s.Heads} heads × {s.Queries} queries × {s.Keys} keys)");
            if (KeyValueHeads.Note(s.Heads, KeyValueHeads.Of(cap, s.Name)) is { } kv) sb.AppendLine($"  {"",-8} {kv}");
            foreach (var part in AttentionStack.OptionalParts)
                if (s.Part(part) is { } t) sb.AppendLine($"  {"",-8} {part,-9} {t.ShapeText}");
        }
        if (cap.Analyses.Count > 0)
        {
            sb.AppendLine("analyses:");
            foreach (var a in cap.Analyses.Values) sb.AppendLine($"  {a.Name,-22} {a.Tensor.ShapeText}");
        }
        foreach (var s in cap.Stacks.Values) AppendSinks(sb, cap, s);
        AppendTokens(sb, "tokens", cap.Tokens, allTokens);
        if (cap.TargetTokens.Count > 0) AppendTokens(sb, "target tokens", cap.TargetTokens, allTokens);
        return sb.ToString();
    }

    /// <summary>The first-token and top-1 key shares of every head as two layers × heads tables, and the strongest first-token sink.</summary>
    private static void AppendSinks(StringBuilder sb, AttentionCapture cap, AttentionStack s)
    {
        var r = SinkStatistics.Compute(cap, s.Name);
        var kv = KeyValueHeads.Of(cap, s.Name);
        var first = cap.AxisTokens(s.Name).Keys[0];
        string rows = r.FirstRow == 1 ? $"query rows 1..{r.Rows}, as row 0 sees only the first token" : $"all {r.Rows} query rows";
        sb.AppendLine($"attention sinks ({s.Name}; first token '{TokenText.Printable(first.Text, 20)}'; means over {rows}):");
        foreach (var (name, value) in new (string, Func<int, int, float>)[] { ("first-token share", r.FirstTokenShare), ("top-1 key share", r.TopKeyShare) })
        {
            sb.AppendLine($"  {name}, layer × head:");
            sb.Append("    layer");
            for (int h = 0; h < r.Heads; h++) sb.Append($" {"h" + h,5}");
            sb.AppendLine();
            for (int l = 0; l < r.Layers; l++)
            {
                sb.Append($"    {l,-5}");
                for (int h = 0; h < r.Heads; h++) sb.Append(' ').Append(value(l, h).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture).PadLeft(5));
                sb.AppendLine();
            }
        }
        int bl = 0, bh = 0;
        for (int l = 0; l < r.Layers; l++)
            for (int h = 0; h < r.Heads; h++)
                if (r.FirstTokenShare(l, h) > r.FirstTokenShare(bl, bh)) { bl = l; bh = h; }
        sb.AppendLine($"  strongest first-token sink: layer {bl} {KeyValueHeads.HeadName(bh, r.Heads, kv)}, " +
            r.FirstTokenShare(bl, bh).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void AppendTokens(StringBuilder sb, string title, IReadOnlyList<CaptureToken> tokens, bool all)
    {
        sb.AppendLine($"{title} ({tokens.Count}):");
        sb.AppendLine("  #     token                 id      chars        seg");
        for (int i = 0; i < tokens.Count; i++)
        {
            if (!all && tokens.Count > 40 && i == 20) { sb.AppendLine($"  ... {tokens.Count - 40} more (use --all-tokens)"); i = tokens.Count - 20; }
            var t = tokens[i];
            var span = t.IsSpecial ? "special" : $"{t.Start}..{t.End}";
            sb.AppendLine($"  {i,-5} {TokenText.Printable(t.Text, 20),-21} {t.Id,-7} {span,-12} {t.Segment}");
        }
    }
}
