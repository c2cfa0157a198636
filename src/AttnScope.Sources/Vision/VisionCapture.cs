using System.Globalization;
using System.Text.Json.Nodes;
using AttnScope.Capture;

namespace AttnScope.Sources.Vision;

/// <summary>
/// What a vision capture says about its image: the patch grid, how many special tokens come first, and the
/// model's view of the image (after resize and crop) that views draw over. Kept in the capture's metadata
/// (<c>vision.*</c> keys) and as the analysis <c>vision.image</c> [height, width, 3] (0…255).
/// </summary>
internal sealed record VisionLayout(int GridRows, int GridCols, int SpecialTokens, int PatchSize, RgbImage Image, string ImagePath)
{
    public const string ImageAnalysis = "vision.image";

    /// <summary>Patch tokens (grid rows × columns).</summary>
    public int Patches => GridRows * GridCols;

    /// <summary>The capture's vision layout, or null when it is not a vision capture.</summary>
    public static VisionLayout? Of(AttentionCapture capture)
    {
        var x = capture.Metadata.Extra;
        if (!x.TryGetValue("vision.grid_rows", out var rows)) return null;
        int Int(string key) => x.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is >= 0 and <= 1 << 20
            ? n : throw new AttnScopeException($"the capture's metadata '{key}' is missing or not a whole number");
        var layout = new VisionLayout(Int("vision.grid_rows"), Int("vision.grid_cols"), Int("vision.special_tokens"), Int("vision.patch_size"),
            ReadImage(capture), x.GetValueOrDefault("vision.image_path", ""));
        if (layout.GridRows < 1 || layout.GridCols < 1 || layout.SpecialTokens + layout.Patches != capture.Tokens.Count)
            throw new AttnScopeException($"the capture's patch grid {layout.GridRows}×{layout.GridCols} and {layout.SpecialTokens} special tokens do not add up to its {capture.Tokens.Count} tokens");
        return layout;
    }

    /// <summary>The capture's vision layout; one line when it is not a vision capture.</summary>
    public static VisionLayout Require(AttentionCapture capture) =>
        Of(capture) ?? throw new AttnScopeException("the capture is not from an image model (no patch grid in its metadata): capture one with --image");

    private static RgbImage ReadImage(AttentionCapture capture)
    {
        var a = capture.Analysis(ImageAnalysis) ?? throw new AttnScopeException($"the capture has no '{ImageAnalysis}' (the model's view of the image)");
        var t = a.Tensor;
        if (t.Rank != 3 || t.Shape[2] != 3) throw new AttnScopeException($"'{ImageAnalysis}' has shape {t.ShapeText}; expected [height, width, 3]");
        var bytes = new byte[t.Data.Length];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)Math.Clamp(MathF.Round(t.Data[i]), 0, 255);
        return new RgbImage(t.Shape[1], t.Shape[0], bytes);
    }

    /// <summary>The values of the patch tokens of one attention (or relevance) row, [rows, cols].</summary>
    public float[] PatchValues(ReadOnlySpan<float> row)
    {
        if (row.Length != SpecialTokens + Patches) throw new AttnScopeException($"a row of {row.Length} values does not match {SpecialTokens} special tokens and {Patches} patches");
        return row.Slice(SpecialTokens, Patches).ToArray();
    }

    /// <summary>Token index of patch (r, c).</summary>
    public int TokenOf(int r, int c) => SpecialTokens + r * GridCols + c;
}

/// <summary>Runs an image through a <see cref="VitModel"/> into a capture: one <c>encoder</c> stack over [CLS], [DIST], patches.</summary>
internal static class VisionCapture
{
    public static AttentionCapture Capture(VitModel model, RgbImage image, string imagePath, string modelId)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(image);
        var prepared = model.Preprocessor.Prepare(image);
        var pixels = model.Preprocessor.Pixels(image);
        var r = model.Forward(pixels);
        var names = model.TokenNames();
        var tokens = names.Select((n, i) => new CaptureToken(n, i, -1, -1, Segment.A, IsSpecial: i < model.Config.SpecialTokens)).ToList();
        var cfg = model.Config;
        var extra = new Dictionary<string, string>
        {
            ["vision.grid_rows"] = cfg.Grid.ToString(CultureInfo.InvariantCulture),
            ["vision.grid_cols"] = cfg.Grid.ToString(CultureInfo.InvariantCulture),
            ["vision.special_tokens"] = cfg.SpecialTokens.ToString(CultureInfo.InvariantCulture),
            ["vision.patch_size"] = cfg.PatchSize.ToString(CultureInfo.InvariantCulture),
            ["vision.image_path"] = imagePath,
            ["vision.image_width"] = image.Width.ToString(CultureInfo.InvariantCulture),
            ["vision.image_height"] = image.Height.ToString(CultureInfo.InvariantCulture),
            ["vision.input_size"] = $"{prepared.Width}x{prepared.Height}",
        };
        if (model.Vision.Classifiers.Count > 0)
        {
            var logits = model.Logits(r.Hidden);
            int best = 0;
            for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
            extra["vision.prediction"] = model.Label(best);
            extra["vision.prediction_index"] = best.ToString(CultureInfo.InvariantCulture);
        }
        var imageTensor = new FloatTensor([prepared.Height, prepared.Width, 3], prepared.Pixels.Select(b => (float)b).ToArray());
        var meta = new CaptureMetadata
        {
            ModelId = modelId, Architecture = model.Core.Spec.Family, Source = "managed", Texts = [imagePath], Extra = extra,
        };
        var info = new JsonObject { ["what"] = "the model's view of the image after resize and crop, RGB 0…255", ["source"] = imagePath };
        return new AttentionCapture(meta, tokens, [new AttentionStack(AttentionStack.Encoder, r.Attention!)],
            analyses: [new CaptureAnalysis(VisionLayout.ImageAnalysis, imageTensor, info)]);
    }
}
