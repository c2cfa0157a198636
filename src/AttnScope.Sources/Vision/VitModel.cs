using System.Numerics.Tensors;
using AttnScope.Capture;
using AttnScope.Sources.Models;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;

namespace AttnScope.Sources.Vision;

/// <summary>
/// A ViT / DeiT image model on the one Transformer core: the image processor, the patch embedding with the class
/// (and distillation) token, and the core, which adds the learned positions and runs the blocks. Tokens are
/// [CLS], [DIST] (DeiT), then the patches row by row.
/// </summary>
internal sealed class VitModel
{
    public TransformerModel Core { get; }
    public VitConfig Config { get; }
    public VitTensors Vision { get; }
    public ImagePreprocessor Preprocessor { get; }
    /// <summary>Where it came from (for messages and captures).</summary>
    public string Origin { get; }

    public VitModel(TransformerModel core, VitConfig config, VitTensors vision, ImagePreprocessor preprocessor, string origin)
    {
        Core = core; Config = config; Vision = vision; Preprocessor = preprocessor; Origin = origin;
        var (h, w) = preprocessor.OutputSize(config.ImageSize, config.ImageSize);
        if (h != config.ImageSize || w != config.ImageSize)
            throw new AttnScopeException($"{origin}: the image processor makes {w}×{h} images but the model takes {config.ImageSize}×{config.ImageSize}");
    }

    /// <summary>
    /// The local folder of a vision model (ViT, DeiT, CLIP): a folder as given, or <c>hf:ORG/NAME[@revision]</c> downloaded into the
    /// Hugging Face cache layout (config.json, model.safetensors, and preprocessor_config.json, vocab.json, merges.txt when the repository has them).
    /// </summary>
    public static string ResolveFolder(string name, HubClient? hub = null)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new AttnScopeException("no model named");
        if (!name.StartsWith("hf:", StringComparison.Ordinal)) return name;
        var (repo, rev) = HubClient.ParseModelName(name);
        hub ??= new HubClient();
        return hub.EnsureAsync(repo, rev,
        [
            (["config.json"], true),
            (["model.safetensors"], true),
            (["preprocessor_config.json"], false),
            // CLIP's tokenizer (ClipModel shares this path).
            (["vocab.json"], false),
            (["merges.txt"], false),
        ]).GetAwaiter().GetResult();
    }

    /// <summary>Whether a folder holds a ViT / DeiT (config.json with model_type vit or deit).</summary>
    public static bool IsVisionFolder(string dir)
    {
        var path = Path.Combine(dir, "config.json");
        if (!File.Exists(path)) return false;
        return ModelFamilies.ModelType(path) is { } t && VitFamily.ModelTypes.Contains(t);
    }

    /// <summary>Loads config.json, preprocessor_config.json (defaults when absent) and model.safetensors of a folder.</summary>
    public static VitModel Load(string dir)
    {
        if (!Directory.Exists(dir)) throw new AttnScopeException($"model folder '{dir}' does not exist");
        var configPath = Path.Combine(dir, "config.json");
        if (!File.Exists(configPath)) throw new AttnScopeException($"'{dir}' has no config.json");
        var config = ConfigJson.Parse(ModelFamilies.ReadConfigText(configPath), configPath);
        var (spec, vit) = VitFamily.ReadConfig(config);
        var ppPath = Path.Combine(dir, "preprocessor_config.json");
        var pp = File.Exists(ppPath) ? ImagePreprocessor.Load(ppPath)
            : new ImagePreprocessor { ResizeHeight = vit.ImageSize, ResizeWidth = vit.ImageSize };
        var weightsPath = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(weightsPath)) throw new AttnScopeException($"'{dir}' has no model.safetensors");
        var weights = SafetensorsWeights.Load(weightsPath);
        var (core, vision) = VitFamily.MapWeights(spec, vit, weights);
        return new VitModel(new TransformerModel(spec, core, weights.Origin), vit, vision, pp, dir);
    }

    /// <summary>Token names: [CLS], [DIST], then "patch r,c".</summary>
    public IReadOnlyList<string> TokenNames()
    {
        var names = new List<string> { "[CLS]" };
        if (Config.Distillation) names.Add("[DIST]");
        for (int r = 0; r < Config.Grid; r++)
            for (int c = 0; c < Config.Grid; c++) names.Add($"patch {r},{c}");
        return names;
    }

    /// <summary>Flattened patches [grid², channels·patch·patch] (channel, row, column within a patch) of pixel_values [3, size, size].</summary>
    public float[] Patches(FloatTensor pixels)
    {
        int size = Config.ImageSize, p = Config.PatchSize, g = Config.Grid, ch = Config.Channels, k = ch * p * p;
        if (pixels.Rank != 3 || pixels.Shape[0] != ch || pixels.Shape[1] != size || pixels.Shape[2] != size)
            throw new AttnScopeException($"pixel values have shape {pixels.ShapeText}; the model takes [{ch}, {size}, {size}]");
        var patches = new float[g * g * k];
        for (int r = 0; r < g; r++)
            for (int c = 0; c < g; c++)
            {
                var dst = patches.AsSpan((r * g + c) * k, k);
                for (int cc = 0; cc < ch; cc++)
                    for (int y = 0; y < p; y++)
                        pixels.Data.AsSpan((cc * size + r * p + y) * size + c * p, p).CopyTo(dst.Slice((cc * p + y) * p, p));
            }
        return patches;
    }

    /// <summary>The input rows [tokens, hidden]: class token, distillation token, patch embeddings (positions not yet added).</summary>
    public float[] InputRows(float[] patches)
    {
        int d = Core.Spec.Hidden, k = Config.Channels * Config.PatchSize * Config.PatchSize, n = Config.Grid * Config.Grid, extra = Config.SpecialTokens;
        var rows = new float[Config.Tokens * d];
        Vision.ClassToken.CopyTo(rows, 0);
        Vision.DistillationToken?.CopyTo(rows, d);
        var w = Vision.PatchWeight;
        Parallel.For(0, n, i =>
        {
            var x = patches.AsSpan(i * k, k);
            var row = rows.AsSpan((extra + i) * d, d);
            for (int o = 0; o < d; o++) row[o] = TensorPrimitives.Dot(w.AsSpan(o * k, k), x) + Vision.PatchBias[o];
        });
        return rows;
    }

    /// <summary>Runs pixel_values through the model (every layer's attention in the result).</summary>
    public ForwardResult Forward(FloatTensor pixels, bool record = false, HookSet? hooks = null) =>
        Core.Forward(new ForwardInput { Ids = new int[Config.Tokens], InputEmbeddings = InputRows(Patches(pixels)), Record = record, Hooks = hooks });

    /// <summary>Class logits from the final hidden state [tokens, hidden] (DeiT with a teacher head: the mean of both heads).</summary>
    public float[] Logits(FloatTensor hidden)
    {
        if (Vision.Classifiers.Count == 0) throw new AttnScopeException($"{Origin} has no classifier head");
        int d = Core.Spec.Hidden, labels = Vision.Classifiers[0].Bias.Length;
        var logits = new float[labels];
        foreach (var (w, b, token) in Vision.Classifiers)
            for (int j = 0; j < labels; j++)
                logits[j] += (TensorPrimitives.Dot(w.AsSpan(j * d, d), hidden.Data.AsSpan(token * d, d)) + b[j]) / Vision.Classifiers.Count;
        return logits;
    }

    /// <summary>The label of class index i (id2label, or "class i").</summary>
    public string Label(int i) => i < Config.Labels.Count ? Config.Labels[i] : $"class {i}";
}
