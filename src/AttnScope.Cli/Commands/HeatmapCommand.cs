using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Views.Static;

namespace AttnScope.Cli;

/// <summary><c>attnscope heatmap CAPTURE --layer L --head H -o FILE.png|.svg</c>: one readable single-head heatmap.</summary>
internal static class HeatmapCommand
{
    public static Command Create(CliOutput output)
    {
        var file = new Argument<string>("capture") { Description = "a capture file (.safetensors)" };
        var layer = new Option<int>("--layer", "-l") { Description = "layer index (from 0)", DefaultValueFactory = _ => 0 };
        var head = new Option<string>("--head") { Description = "head index (from 0), mean or max", DefaultValueFactory = _ => "0" };
        var stack = new Option<string?>("--stack") { Description = "encoder, decoder or cross; default: encoder, or decoder for a decoder language model" };
        var cmap = new Option<string>("--colormap") { Description = $"colour map: {string.Join(", ", ColorMap.Names)}", DefaultValueFactory = _ => "viridis" };
        var scale = new Option<float>("--scale") { Description = "resolution multiplier (2 for high-DPI / print)", DefaultValueFactory = _ => 1f };
        var outPath = new Option<string>("--output", "-o") { Description = "image to write: .png or .svg", Required = true };
        var cmd = new Command("heatmap", "Draw one head (or the mean/max of a layer's heads) as a queries × keys heatmap.")
        {
            file, layer, head, stack, cmap, scale, outPath,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            var cap = AttentionCapture.Load(r.GetValue(file)!);
            var options = new HeatmapOptions
            {
                Stack = r.GetValue(stack) ?? AttentionStack.Encoder,
                Layer = r.GetValue(layer),
                Heads = HeadSelection.Parse(r.GetValue(head)!),
                ColorMap = r.GetValue(cmap)!,
                Scale = r.GetValue(scale),
            };
            if (r.GetValue(stack) is null) options = options with { Stack = CaptureStacks.Default(cap) };
            var path = r.GetValue(outPath)!;
            Write(cap, options, path);
            output.Out.WriteLine($"wrote {path}");
            return 0;
        }));
        return cmd;
    }

    public static void Write(AttentionCapture cap, HeatmapOptions options, string path)
    {
        var renderer = new HeatmapRenderer();
        var ext = Path.GetExtension(path).ToLowerInvariant();
        switch (ext)
        {
            case ".png": renderer.SavePng(cap, options, path); break;
            case ".svg": renderer.SaveSvg(cap, options, path); break;
            default: throw new AttnScopeException($"cannot tell the image format of '{path}': use a .png or .svg file name");
        }
    }
}
