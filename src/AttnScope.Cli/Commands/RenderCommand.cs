using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Views.Animation;
using AttnScope.Views.Static;

namespace AttnScope.Cli;

/// <summary>
/// <c>attnscope render CAPTURE --view head|heads|layers|model ... -o FILE.png|.svg|.pdf|.gif</c>: every static view,
/// and an animation over layers (or, with <c>--animate steps</c>, over generation steps) when the output is a .gif.
/// </summary>
internal static class RenderCommand
{
    public static Command Create(CliOutput output)
    {
        var file = new Argument<string>("capture") { Description = "a capture file (.safetensors)" };
        var view = new Option<string>("--view") { Description = "head (one head of one layer), heads (all heads of a layer), layers (one head over all layers), model (layers × heads); " +
            "analyses (from attnscope analyze): rollout (--layer: after which layer; .gif: over the layers), flow, saliency (coloured text), saliency-bars, roles (layers × heads), norm, norm-heads; " +
            "sinks (layers × heads: attention share on the first token and on each row's top-1 key; needs no analyze)", DefaultValueFactory = _ => "head" };
        var layer = new Option<int?>("--layer", "-l") { Description = "layer index (from 0) for the head and heads views" };
        var head = new Option<string?>("--head") { Description = "head index (from 0), mean or max, for the head and layers views (default: 0 for head, mean for layers)" };
        var stack = new Option<string?>("--stack") { Description = "encoder, decoder or cross (cross: queries are target tokens, keys source tokens); default: encoder, or decoder for a decoder language model" };
        var values = new Option<string>("--values") { Description = "attention, or scores (pre-softmax, signed; needs a capture made with --qkv)", DefaultValueFactory = _ => ValueKind.Attention };
        var pairs = new Option<string>("--pairs") { Description = "sentence pairs: all, AA, BB, AB or BA (query sentence → key sentence)", DefaultValueFactory = _ => "all" };
        var cmap = new Option<string>("--colormap") { Description = $"colour map: {string.Join(", ", ColorMap.Names)} (rdbu is diverging, for signed values)", DefaultValueFactory = _ => "viridis" };
        var range = new Option<string?>("--range") { Description = "token window START:END (END exclusive), e.g. 100:200, for long inputs" };
        var log = new Option<bool>("--log") { Description = $"logarithmic colour scale ({ColorScale.LogDecades} decades below the top)" };
        var hideSpecial = new Option<bool>("--hide-special") { Description = "leave out special tokens ([CLS], [SEP], ...); values are not renormalised, and the title says so" };
        var colorRange = new Option<string>("--color-range") { Description = "grid views: shared (one scale for all panels) or per-head (each panel to its own maximum)", DefaultValueFactory = _ => "shared" };
        var vmax = new Option<float?>("--vmax") { Description = "fixed top of the colour scale (e.g. 1, to compare figures)" };
        var scale = new Option<float?>("--scale") { Description = "resolution multiplier (2 for high-DPI / print)" };
        var dpi = new Option<float?>("--dpi") { Description = "resolution in dots per inch (96 = scale 1); instead of --scale" };
        var cell = new Option<int?>("--cell") { Description = "cell edge in pixels (before scaling); default: from the token count" };
        var maxSize = new Option<int>("--max-size") { Description = "automatic sizes keep each image side under this many pixels", DefaultValueFactory = _ => 4000 };
        var title = new Option<string?>("--title") { Description = "replace the automatic title" };
        var animate = new Option<string?>("--animate") { Description = "layers: one frame per layer (head or heads view) written as an animated .gif, the default for a .gif output; " +
            "steps: one frame per generation step of a decoder LM's capture (head or heads view of --layer), rows computed so far" };
        var delay = new Option<int>("--delay") { Description = "animation: milliseconds per frame", DefaultValueFactory = _ => 900 };
        var outPath = new Option<string>("--output", "-o") { Description = "file to write: .png, .svg, .pdf, or .gif (animation over layers)", Required = true };
        var cmd = new Command("render", "Draw a view of a capture: one head, all heads of a layer, one head over all layers, or the whole model; or animate it over layers.")
        {
            file, view, layer, head, stack, values, pairs, cmap, range, log, hideSpecial, colorRange, vmax, scale, dpi, cell, maxSize, title,
            animate, delay, outPath,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            var (kind, analysis) = RenderAnalysisView.Parse(r.GetValue(view)!);
            var path = r.GetValue(outPath)!;
            var ext = Path.GetExtension(path).ToLowerInvariant();
            bool gif = ext == ".gif";
            if (analysis is { } an)
                RenderAnalysisView.Check(an, r.GetValue(layer) is not null, r.GetValue(head) is not null, gif, r.GetValue(values)!.Trim().ToLowerInvariant(),
                    r.GetValue(range) is not null || r.GetValue(pairs)!.Trim().ToLowerInvariant() != "all" || r.GetValue(hideSpecial));
            var animation = AnimationKind.Layers;
            if (r.GetValue(animate) is { } what)
            {
                animation = ViewRenderer.ParseAnimation(what);
                if (!gif) throw new AttnScopeException($"an animation is written as a .gif file, not '{Path.GetFileName(path)}'");
                if (analysis is not null && animation == AnimationKind.Steps)
                    throw new AttnScopeException("--animate steps shows the head or heads view of a generation, not an analysis view");
            }
            bool steps = animation == AnimationKind.Steps;
            if (r.GetValue(layer) is not null && kind is ViewKind.Layers or ViewKind.Model)
                throw new AttnScopeException($"--layer does not apply to the {kind.ToString().ToLowerInvariant()} view, which shows all layers");
            if (gif && !steps && r.GetValue(layer) is not null)
                throw new AttnScopeException("--layer does not apply to an animation over layers, which shows every layer");
            if (r.GetValue(head) is not null && kind is ViewKind.Heads or ViewKind.Model)
                throw new AttnScopeException($"--head does not apply to the {kind.ToString().ToLowerInvariant()} view, which shows all heads");
            if (r.GetValue(scale) is not null && r.GetValue(dpi) is not null)
                throw new AttnScopeException("give --scale or --dpi, not both");
            int d = r.GetValue(delay);
            if (d < 20 || d > 60000) throw new AttnScopeException($"--delay {d} is out of range (20..60000 milliseconds)");

            var options = new HeatmapOptions
            {
                Stack = r.GetValue(stack) ?? AttentionStack.Encoder,
                Layer = r.GetValue(layer) ?? 0,
                Heads = HeadSelection.Parse(r.GetValue(head) ?? (kind == ViewKind.Layers ? "mean" : "0")),
                Values = r.GetValue(values)!.Trim().ToLowerInvariant(),
                Pairs = TokenSelection.ParsePairs(r.GetValue(pairs)!),
                ColorMap = r.GetValue(cmap)!,
                Window = r.GetValue(range) is { } w ? TokenWindow.Parse(w) : null,
                LogScale = r.GetValue(log),
                HideSpecial = r.GetValue(hideSpecial),
                Range = ParseColorRange(r.GetValue(colorRange)!),
                ColorMax = r.GetValue(vmax),
                Scale = r.GetValue(scale) ?? (r.GetValue(dpi) is { } dd ? dd / 96f : 1f),
                CellSize = r.GetValue(cell),
                MaxImageSize = r.GetValue(maxSize),
                Title = r.GetValue(title),
            };
            // the drawing library and fonts get ready on another core while the capture is read
            StartupTrace.Mark("action");
            var warm = ViewRenderer.WarmUpAsync();
            // grid views draw each head as a thumbnail: keep the heads at half resolution too, made while reading
            var cap = AttentionCapture.Load(r.GetValue(file)!, halfResolution: analysis is null && kind is ViewKind.Model or ViewKind.Heads or ViewKind.Layers);
            StartupTrace.Mark("loaded");
            warm.Wait();
            StartupTrace.Mark("warm");
            if (r.GetValue(stack) is null) options = options with { Stack = CaptureStacks.Default(cap) };
            if (analysis is { } a)
            {
                RenderAnalysisView.Save(output, cap, a, options, path, r.GetValue(layer), d);
                return 0;
            }
            new ViewRenderer().Save(cap, kind, options, path, new AnimationOptions { DelayMs = d }, animation);
            StartupTrace.Mark("saved");
            output.Out.WriteLine(!gif ? $"wrote {path}"
                : steps ? $"wrote {path} ({GenerationInfo.Of(cap)!.Steps} frames, one per generation step, layer {options.Layer})"
                : $"wrote {path} ({cap.Stack(options.Stack).Layers} frames, one per layer)");
            return 0;
        }));
        return cmd;
    }

    private static ColorRange ParseColorRange(string text) => text.Trim().ToLowerInvariant() switch
    {
        "shared" => ColorRange.Shared,
        "per-head" or "per-panel" => ColorRange.PerPanel,
        _ => throw new AttnScopeException($"--color-range '{text}' is not valid: expected shared or per-head"),
    };
}
