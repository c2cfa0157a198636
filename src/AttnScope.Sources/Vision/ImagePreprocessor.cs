using System.Text.Json;
using AttnScope.Capture;

namespace AttnScope.Sources.Vision;

/// <summary>
/// A Hugging Face image processor's steps for ViT / DeiT, read from preprocessor_config.json: resize (to
/// height×width, or the shortest edge to a length keeping the aspect ratio) with PIL's filter, centre crop,
/// multiply by rescale_factor, then (x − mean) / std per channel. Output [3, height, width] float32 (channels first),
/// as <c>pixel_values</c>.
/// </summary>
internal sealed class ImagePreprocessor
{
    public bool DoResize { get; init; } = true;
    /// <summary>Target size; <see cref="ShortestEdge"/> instead when set.</summary>
    public int ResizeHeight { get; init; } = 224;
    public int ResizeWidth { get; init; } = 224;
    /// <summary>Resize the shorter side to this many pixels, keeping the aspect ratio (int(long · n / short)).</summary>
    public int? ShortestEdge { get; init; }
    public ResampleFilter Resample { get; init; } = ResampleFilter.Bilinear;
    public bool DoCenterCrop { get; init; }
    public int CropHeight { get; init; } = 224;
    public int CropWidth { get; init; } = 224;
    public bool DoRescale { get; init; } = true;
    public double RescaleFactor { get; init; } = 1.0 / 255;
    public bool DoNormalize { get; init; } = true;
    public float[] Mean { get; init; } = [0.5f, 0.5f, 0.5f];
    public float[] Std { get; init; } = [0.5f, 0.5f, 0.5f];

    /// <summary>The model's input size after every step.</summary>
    public (int Height, int Width) OutputSize(int imageWidth, int imageHeight)
    {
        if (DoCenterCrop) return (CropHeight, CropWidth);
        if (!DoResize) return (imageHeight, imageWidth);
        return ResizeTarget(imageWidth, imageHeight) is var (w, h) ? (h, w) : default;
    }

    private (int W, int H) ResizeTarget(int width, int height)
    {
        if (ShortestEdge is not int n) return (ResizeWidth, ResizeHeight);
        int shortSide = Math.Min(width, height), longSide = Math.Max(width, height);
        int other = (int)((long)n * longSide / shortSide);
        return width <= height ? (n, other) : (other, n);
    }

    /// <summary>The image after resize and crop (8-bit, what the model sees before normalisation).</summary>
    public RgbImage Prepare(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var im = image;
        if (DoResize)
        {
            var (w, h) = ResizeTarget(image.Width, image.Height);
            if (w != im.Width || h != im.Height) im = PilResample.Resize(im, w, h, Resample);
        }
        if (DoCenterCrop)
        {
            // Hugging Face's center_crop pads with zeros when the crop is larger; that is refused here.
            if (CropHeight > im.Height || CropWidth > im.Width)
                throw new AttnScopeException($"crop {CropWidth}×{CropHeight} is larger than the resized image {im.Width}×{im.Height}");
            im = im.Crop((im.Width - CropWidth) / 2, (im.Height - CropHeight) / 2, CropWidth, CropHeight);
        }
        return im;
    }

    /// <summary>pixel_values [3, height, width] of the image.</summary>
    public FloatTensor Pixels(RgbImage image)
    {
        var im = Prepare(image);
        int h = im.Height, w = im.Width;
        var t = new FloatTensor([3, h, w]);
        for (int c = 0; c < 3; c++)
        {
            float mean = Mean[c], std = Std[c];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    byte b = im.Pixels[(y * w + x) * 3 + c];
                    float v = DoRescale ? (float)(b * RescaleFactor) : b;
                    if (DoNormalize) v = (v - mean) / std;
                    t.Data[(c * h + y) * w + x] = v;
                }
        }
        return t;
    }

    /// <summary>Reads preprocessor_config.json; absent keys take Hugging Face's ViT defaults.</summary>
    public static ImagePreprocessor Load(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new AttnScopeException($"{path} does not exist");
        if (info.Length > 1 << 20) throw new AttnScopeException($"{path} is {info.Length:N0} bytes; a preprocessor config is at most 1 MiB");
        return Parse(File.ReadAllText(path), path);
    }

    public static ImagePreprocessor Parse(string json, string origin)
    {
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(json);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e) { throw new AttnScopeException($"{origin} is not valid JSON: {e.Message}"); }
        if (root.ValueKind != JsonValueKind.Object) throw new AttnScopeException($"{origin} is not a JSON object");
        AttnScopeException Bad(string key, string expected) => new($"{origin}: {key} must be {expected}");
        JsonElement? Get(string key) => root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;
        bool Bool(string key, bool fallback) => Get(key) is { } v
            ? v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Bad(key, "true or false")
            : fallback;
        int Side(JsonElement v, string key) => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n) && n is >= 1 and <= RgbImage.MaxSide
            ? n : throw Bad(key, $"a whole number of pixels 1…{RgbImage.MaxSide}");
        (int H, int W, int? Shortest) Size(string key, int fallback)
        {
            if (Get(key) is not { } v) return (fallback, fallback, null);
            if (v.ValueKind == JsonValueKind.Number) { int n = Side(v, key); return (n, n, null); }
            if (v.ValueKind != JsonValueKind.Object) throw Bad(key, "a number or an object with height and width (or shortest_edge)");
            if (v.TryGetProperty("shortest_edge", out var se)) return (0, 0, Side(se, key + ".shortest_edge"));
            if (!v.TryGetProperty("height", out var hh) || !v.TryGetProperty("width", out var ww)) throw Bad(key, "an object with height and width (or shortest_edge)");
            return (Side(hh, key + ".height"), Side(ww, key + ".width"), null);
        }
        float[] Triple(string key, float fallback)
        {
            if (Get(key) is not { } v) return [fallback, fallback, fallback];
            if (v.ValueKind == JsonValueKind.Number) { float f = (float)v.GetDouble(); return [f, f, f]; }
            if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() != 3 || v.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number))
                throw Bad(key, "a list of 3 numbers (one per RGB channel)");
            return v.EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        }
        var (rh, rw, shortest) = Size("size", 224);
        var (ch, cw, cropShortest) = Size("crop_size", 224);
        if (cropShortest is not null) throw Bad("crop_size", "height and width");
        int resample = Get("resample") is { } r ? (r.ValueKind == JsonValueKind.Number && r.TryGetInt32(out int ri) && ri is >= 0 and <= 5 ? ri : throw Bad("resample", "one of PIL's filters 0…5")) : 2;
        double rescale = Get("rescale_factor") is { } rf ? (rf.ValueKind == JsonValueKind.Number && rf.GetDouble() is var d && double.IsFinite(d) ? d : throw Bad("rescale_factor", "a number")) : 1.0 / 255;
        var std = Triple("image_std", 0.5f);
        if (std.Any(s => !(s > 0) || !float.IsFinite(s))) throw Bad("image_std", "positive numbers");
        var mean = Triple("image_mean", 0.5f);
        if (mean.Any(m => !float.IsFinite(m))) throw Bad("image_mean", "finite numbers");
        return new ImagePreprocessor
        {
            DoResize = Bool("do_resize", true), ResizeHeight = rh, ResizeWidth = rw, ShortestEdge = shortest,
            Resample = (ResampleFilter)resample, DoCenterCrop = Bool("do_center_crop", false), CropHeight = ch, CropWidth = cw,
            DoRescale = Bool("do_rescale", true), RescaleFactor = rescale, DoNormalize = Bool("do_normalize", true),
            Mean = mean, Std = std,
        };
    }
}
