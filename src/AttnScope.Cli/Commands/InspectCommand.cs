using System.CommandLine;
using System.Text;
using AttnScope.Capture;

namespace AttnScope.Cli;

/// <summary><c>attnscope inspect FILE</c>: a readable summary of a capture.</summary>
public static class InspectCommand
{
    public static Command Create(CliOutput output)
    {
        var file = new Argument<string>("capture") { Description = "a capture file (.safetensors)" };
        var all = new Option<bool>("--all-tokens") { Description = "list every token (default: the first and last 20)" };
        var cmd = new Command("inspect", "Summarise a capture: model, tokens, stacks and shapes.") { file, all };
        cmd.SetAction(r => output.Guard(() =>
        {
            var cap = AttentionCapture.Load(r.GetValue(file)!);
            output.Out.Write(Describe(cap, r.GetValue(all)));
            return 0;
        }));
        return cmd;
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
        sb.AppendLine("stacks:");
        foreach (var s in cap.Stacks.Values)
        {
            sb.AppendLine($"  {s.Name,-8} attention {s.Attention.ShapeText}  ({s.Layers} layers × {s.Heads} heads × {s.Queries} queries × {s.Keys} keys)");
            foreach (var part in AttentionStack.OptionalParts)
                if (s.Part(part) is { } t) sb.AppendLine($"  {"",-8} {part,-9} {t.ShapeText}");
        }
        if (cap.Analyses.Count > 0)
        {
            sb.AppendLine("analyses:");
            foreach (var a in cap.Analyses.Values) sb.AppendLine($"  {a.Name,-22} {a.Tensor.ShapeText}");
        }
        AppendTokens(sb, "tokens", cap.Tokens, allTokens);
        if (cap.TargetTokens.Count > 0) AppendTokens(sb, "target tokens", cap.TargetTokens, allTokens);
        return sb.ToString();
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
