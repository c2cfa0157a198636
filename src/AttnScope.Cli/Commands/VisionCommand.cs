using System.CommandLine;
using System.Globalization;
using AttnScope.Analyses.Vision;
using AttnScope.Capture;
using AttnScope.Sources.Vision;
using AttnScope.Views.Vision;

namespace AttnScope.Cli;

/// <summary>
/// <c>attnscope capture --model DIR --image FILE -o CAP</c> (an image through a ViT / DeiT) and
/// <c>attnscope vision CAP --view heads|rollout|relevance|animate [--layer L] [--query cls|R,C] [--model DIR] -o OUT</c>:
/// maps over the image's patch grid drawn on the image.
/// </summary>
internal static class VisionCommand
{
    public static int Capture(CliOutput output, string modelName, string imagePath, string path, string? text = null)
    {
        var modelDir = VitModel.ResolveFolder(modelName);
        if (Directory.Exists(modelDir) && ClipModel.IsClipFolder(modelDir))
            return ClipCaptureCommand(output, modelName, modelDir, imagePath, path, text);
        if (text is not null) throw new AttnScopeException($"'{modelName}' is an image classifier: --text goes with an image–text model (CLIP)");
        if (!Directory.Exists(modelDir) || !VitModel.IsVisionFolder(modelDir))
            throw new AttnScopeException($"--image needs a vision model (a folder or hf:ORG/NAME whose config.json has model_type vit, deit or clip); '{modelName}' is not one");
        var model = VitModel.Load(modelDir);
        var cap = VisionCapture.Capture(model, ImageFile.Load(imagePath), imagePath, modelName);
        cap.Save(path);
        var enc = cap.Stacks[AttentionStack.Encoder];
        var layout = VisionLayout.Require(cap);
        string pred = cap.Metadata.Extra.TryGetValue("vision.prediction", out var p) ? $", predicted '{p}'" : "";
        output.Out.WriteLine($"wrote {path}: {cap.Tokens.Count} tokens ({layout.SpecialTokens} special, {layout.GridRows}×{layout.GridCols} patches), encoder.attention {enc.Attention.ShapeText}{pred}");
        return 0;
    }

    private static int ClipCaptureCommand(CliOutput output, string modelName, string modelDir, string imagePath, string path, string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new AttnScopeException($"'{modelName}' is CLIP (image–text): give --text \"a photo of …\" with --image");
        var model = ClipModel.Load(modelDir);
        var tokenizer = AttnScope.Sources.Tokenization.ClipTokenizer.Load(modelDir);
        var cap = ClipCapture.Capture(model, tokenizer, ImageFile.Load(imagePath), imagePath, text, modelName);
        cap.Save(path);
        output.Out.WriteLine($"wrote {path}: image {cap.Tokens.Count} tokens (encoder.attention {cap.Stacks[AttentionStack.Encoder].Attention.ShapeText}), " +
            $"text {cap.TargetTokens.Count} tokens (decoder.attention {cap.Stacks[AttentionStack.Decoder].Attention.ShapeText}), similarity {cap.Metadata.Extra["clip.similarity"]}");
        return 0;
    }

    public static Command Create(CliOutput output)
    {
        var file = new Argument<string>("capture") { Description = "a capture of an image (attnscope capture --image)" };
        var view = new Option<string>("--view") { Description = "heads (every head of a layer), rollout, relevance (needs --model), animate (GIF over layers), clip (CLIP captures: words → patches)", DefaultValueFactory = _ => "heads" };
        var layer = new Option<int>("--layer", "-l") { Description = "layer for --view heads (from 0; default the last)", DefaultValueFactory = _ => -1 };
        var query = new Option<string>("--query") { Description = "the token whose attention is drawn: cls, dist, or a patch as ROW,COL", DefaultValueFactory = _ => "cls" };
        var model = new Option<string?>("--model", "-m") { Description = "the model, a folder or hf:ORG/NAME (for --view relevance)" };
        var target = new Option<int?>("--target") { Description = "class index to explain (relevance; default the predicted class)" };
        var image = new Option<string?>("--image") { Description = "the image file for --view relevance (default: the path kept in the capture)" };
        var cmap = new Option<string>("--colormap") { Description = "colour map (magma, viridis, …)", DefaultValueFactory = _ => "magma" };
        var word = new Option<int?>("--word") { Description = "--view clip: the text token (index, from 0) whose patches alone are drawn (default every word's)" };
        var outPath = new Option<string>("--output", "-o") { Description = "image to write (.png; .gif for animate)", Required = true };
        var cmd = new Command("vision", "Draw attention, rollout or relevance of an image capture over the image.")
        {
            file, view, layer, query, model, target, image, cmap, word, outPath,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            var cap = AttentionCapture.Load(r.GetValue(file)!);
            if (r.GetValue(view) == "clip")
            {
                ClipRenderer.SavePng(r.GetValue(outPath)!, cap, r.GetValue(word), r.GetValue(cmap)!);
                output.Out.WriteLine($"wrote {r.GetValue(outPath)}");
                return 0;
            }
            var layout = VisionLayout.Require(cap);
            var stack = cap.Stack(AttentionStack.Encoder);
            int q = ParseQuery(r.GetValue(query)!, layout);
            var options = new OverlayOptions
            {
                ColorMap = r.GetValue(cmap)!,
                Marked = q >= layout.SpecialTokens ? ((q - layout.SpecialTokens) / layout.GridCols, (q - layout.SpecialTokens) % layout.GridCols) : null,
            };
            var path = r.GetValue(outPath)!;
            string who = cap.Tokens[q].Text;
            switch (r.GetValue(view))
            {
                case "heads":
                {
                    int l = r.GetValue(layer) < 0 ? stack.Layers - 1 : r.GetValue(layer);
                    var maps = Enumerable.Range(0, stack.Heads).Select(h => VisionMaps.Attention(cap, l, h, q)).Append(VisionMaps.Attention(cap, l, -1, q)).ToList();
                    ImageOverlayRenderer.SavePng(path, layout.Image, maps, $"attention of {who}, layer {l}, every head and their mean", options);
                    break;
                }
                case "rollout":
                    ImageOverlayRenderer.SavePng(path, layout.Image, [VisionMaps.Rollout(cap, q)[^1]], $"attention rollout of {who}", options with { Columns = 1 });
                    break;
                case "relevance":
                {
                    var dir = r.GetValue(model) ?? throw new AttnScopeException("--view relevance needs --model DIR (the gradients come from the model)");
                    var vit = VitModel.Load(VitModel.ResolveFolder(dir));
                    var imagePath = r.GetValue(image) ?? layout.ImagePath;
                    if (string.IsNullOrEmpty(imagePath)) throw new AttnScopeException("the capture does not name its image file: give --image FILE");
                    var pixels = vit.Preprocessor.Pixels(ImageFile.Load(imagePath));
                    CheckSameRun(stack, vit.Forward(pixels).Attention!, dir, imagePath);
                    var (map, t) = VisionMaps.Relevance(vit, pixels, r.GetValue(target));
                    ImageOverlayRenderer.SavePng(path, layout.Image, [map], $"gradient relevance (Chefer et al. 2021) for class {t} '{vit.Label(t)}'", options with { Columns = 1 });
                    break;
                }
                case "animate":
                {
                    var maps = Enumerable.Range(0, stack.Layers).Select(l => VisionMaps.Attention(cap, l, -1, q)).ToList();
                    ImageOverlayRenderer.SaveGif(path, layout.Image, maps, options);
                    break;
                }
                default:
                    throw new AttnScopeException($"--view '{r.GetValue(view)}' is not one of heads, rollout, relevance, animate, clip");
            }
            output.Out.WriteLine($"wrote {path}");
            return 0;
        }));
        return cmd;
    }

    /// <summary>Refuses a model or image other than the capture's: their attention must agree within 1e-4.</summary>
    private static void CheckSameRun(AttentionStack stack, FloatTensor attention, string model, string image)
    {
        bool same = stack.Attention.Shape.SequenceEqual(attention.Shape);
        for (int i = 0; same && i < attention.Data.Length; i++) same = Math.Abs(attention.Data[i] - stack.Attention.Data[i]) <= 1e-4f;
        if (!same) throw new AttnScopeException($"model '{model}' on image '{image}' does not give the capture's attention: relevance needs the model and image the capture was made with");
    }

    /// <summary>cls → 0, dist → 1 (DeiT), "R,C" → that patch's token.</summary>
    public static int ParseQuery(string text, VisionLayout layout)
    {
        var t = text.Trim().ToLowerInvariant();
        if (t == "cls") return 0;
        if (t == "dist")
            return layout.SpecialTokens > 1 ? 1 : throw new AttnScopeException("the model has no distillation token (DeiT has one)");
        var parts = t.Split(',');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int row)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int col))
        {
            if (row >= layout.GridRows || col >= layout.GridCols)
                throw new AttnScopeException($"patch {row},{col} is outside the {layout.GridRows}×{layout.GridCols} grid");
            return layout.TokenOf(row, col);
        }
        throw new AttnScopeException($"--query '{text}' is not cls, dist or ROW,COL");
    }
}
