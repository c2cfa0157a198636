using System.Numerics.Tensors;
using AttnScope.Capture;
using AttnScope.Sources.Engine;
using AttnScope.Sources.Models;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;

namespace AttnScope.Sources.Vision;

/// <summary>One image–text pass of CLIP: both towers' results (with tapes when recorded), embeddings and the similarity.</summary>
internal sealed class ClipPass
{
    public required ForwardResult Image { get; init; }
    public required ForwardResult Text { get; init; }
    /// <summary>The text row pooled (the EOS token).</summary>
    public required int EosIndex { get; init; }
    public required float[] ImageEmbeds { get; init; }
    public required float[] TextEmbeds { get; init; }
    /// <summary>exp(logit_scale)·cos(image_embeds, text_embeds).</summary>
    public required float Similarity { get; init; }
}

/// <summary>
/// CLIP on the one Transformer core: a vision stack (patch embedding and class embedding computed here and passed as
/// input rows; the core adds positions and runs <c>pre_layrnorm</c> as its embedding norm) and a causal text stack.
/// Image tokens are [CLS] then the patches row by row.
/// </summary>
internal sealed class ClipModel
{
    public TransformerModel Text { get; }
    public TransformerModel Vision { get; }
    public ClipConfig Config { get; }
    public ClipTensors Tensors { get; }
    public ImagePreprocessor Preprocessor { get; }
    public string Origin { get; }

    public ClipModel(TransformerModel text, TransformerModel vision, ClipConfig config, ClipTensors tensors, ImagePreprocessor preprocessor, string origin)
    {
        Text = text; Vision = vision; Config = config; Tensors = tensors; Preprocessor = preprocessor; Origin = origin;
        var (h, w) = preprocessor.OutputSize(config.ImageSize, config.ImageSize);
        if (h != config.ImageSize || w != config.ImageSize)
            throw new AttnScopeException($"{origin}: the image processor makes {w}×{h} images but the model takes {config.ImageSize}×{config.ImageSize}");
    }

    /// <summary>Whether a folder holds a CLIP (config.json with model_type clip).</summary>
    public static bool IsClipFolder(string dir)
    {
        var path = Path.Combine(dir, "config.json");
        return File.Exists(path) && ModelFamilies.ModelType(path) is { } t && ClipFamily.ModelTypes.Contains(t);
    }

    /// <summary>Loads config.json, preprocessor_config.json (CLIP's defaults when absent) and model.safetensors.</summary>
    public static ClipModel Load(string dir)
    {
        if (!Directory.Exists(dir)) throw new AttnScopeException($"model folder '{dir}' does not exist");
        var configPath = Path.Combine(dir, "config.json");
        if (!File.Exists(configPath)) throw new AttnScopeException($"'{dir}' has no config.json");
        var config = ConfigJson.Parse(ModelFamilies.ReadConfigText(configPath), configPath);
        var (ts, vs, cc) = ClipFamily.ReadConfig(config);
        var ppPath = Path.Combine(dir, "preprocessor_config.json");
        var pp = File.Exists(ppPath) ? ImagePreprocessor.Load(ppPath)
            : new ImagePreprocessor
            {
                ShortestEdge = cc.ImageSize, Resample = ResampleFilter.Bicubic, DoCenterCrop = true, CropHeight = cc.ImageSize, CropWidth = cc.ImageSize,
                Mean = [0.48145466f, 0.4578275f, 0.40821073f], Std = [0.26862954f, 0.26130258f, 0.27577711f],
            };
        var weightsPath = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(weightsPath)) throw new AttnScopeException($"'{dir}' has no model.safetensors");
        var weights = SafetensorsWeights.Load(weightsPath);
        var (text, vision, clip) = ClipFamily.MapWeights(ts, vs, cc, weights);
        return new ClipModel(new TransformerModel(ts, text, weights.Origin), new TransformerModel(vs, vision, weights.Origin), cc, clip, pp, dir);
    }

    /// <summary>Image token names: [CLS], then "patch r,c".</summary>
    public IReadOnlyList<string> ImageTokenNames()
    {
        var names = new List<string> { "[CLS]" };
        for (int r = 0; r < Config.Grid; r++)
            for (int c = 0; c < Config.Grid; c++) names.Add($"patch {r},{c}");
        return names;
    }

    /// <summary>The input rows [1 + grid², hidden] of pixel_values [3, size, size]: class embedding, then the bias-free patch convolution.</summary>
    public float[] ImageRows(FloatTensor pixels)
    {
        int size = Config.ImageSize, p = Config.PatchSize, g = Config.Grid, k = 3 * p * p, d = Vision.Spec.Hidden;
        if (pixels.Rank != 3 || pixels.Shape[0] != 3 || pixels.Shape[1] != size || pixels.Shape[2] != size)
            throw new AttnScopeException($"pixel values have shape {pixels.ShapeText}; the model takes [3, {size}, {size}]");
        var rows = new float[Config.ImageTokens * d];
        Tensors.ClassEmbedding.CopyTo(rows, 0);
        var w = Tensors.PatchWeight;
        Parallel.For(0, g * g, i =>
        {
            int r = i / g, c = i % g;
            Span<float> x = new float[k];
            for (int cc = 0; cc < 3; cc++)
                for (int y = 0; y < p; y++)
                    pixels.Data.AsSpan((cc * size + r * p + y) * size + c * p, p).CopyTo(x.Slice((cc * p + y) * p, p));
            var row = rows.AsSpan((1 + i) * d, d);
            for (int o = 0; o < d; o++) row[o] = TensorPrimitives.Dot(w.AsSpan(o * k, k), x);
        });
        return rows;
    }

    /// <summary>The vision tower over pixel_values (its hidden state before post_layernorm).</summary>
    public ForwardResult ForwardImage(FloatTensor pixels, bool record = false, HookSet? hooks = null) =>
        Vision.Forward(new ForwardInput { Ids = new int[Config.ImageTokens], InputEmbeddings = ImageRows(pixels), Record = record, Hooks = hooks });

    /// <summary>The text tower over token ids (its hidden state after final_layer_norm).</summary>
    public ForwardResult ForwardText(int[] ids, bool record = false, HookSet? hooks = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Length == 0) throw new AttnScopeException("the text has no tokens");
        if (ids.Length > Text.Spec.MaxPositions) throw new AttnScopeException($"the text has {ids.Length} tokens; the model takes at most {Text.Spec.MaxPositions}");
        foreach (var id in ids)
            if (id < 0 || id >= Text.Spec.Vocab) throw new AttnScopeException($"token id {id} is outside the vocabulary (0…{Text.Spec.Vocab - 1})");
        return Text.Forward(new ForwardInput { Ids = ids, Record = record, Hooks = hooks });
    }

    /// <summary>The pooled text row: with eos_token_id 2 (the original CLIP) the largest id (first of equals), as Hugging Face
    /// does; otherwise the first eos_token_id, or the last token when there is none.</summary>
    public int EosIndex(int[] ids)
    {
        if (Config.EosId == 2)
        {
            int best = 0;
            for (int i = 1; i < ids.Length; i++) if (ids[i] > ids[best]) best = i;
            return best;
        }
        int at = Array.IndexOf(ids, Config.EosId);
        return at >= 0 ? at : ids.Length - 1;
    }

    private static float[] Project(float[] w, ReadOnlySpan<float> x, int outDim)
    {
        var y = new float[outDim];
        for (int o = 0; o < outDim; o++) y[o] = TensorPrimitives.Dot(w.AsSpan(o * x.Length, x.Length), x);
        return y;
    }

    /// <summary>visual_projection(post_layernorm(hidden[CLS])).</summary>
    public float[] ImageEmbeds(FloatTensor hidden)
    {
        int d = Vision.Spec.Hidden;
        var cls = hidden.Data.AsSpan(0, d).ToArray();
        RowOps.LayerNorm(cls, Tensors.PostNormGain, Tensors.PostNormBias, Vision.Spec.NormEps);
        return Project(Tensors.VisualProjection, cls, Config.ProjectionDim);
    }

    /// <summary>text_projection(hidden[eos]).</summary>
    public float[] TextEmbeds(FloatTensor hidden, int eos)
    {
        int d = Text.Spec.Hidden;
        return Project(Tensors.TextProjection, hidden.Data.AsSpan(eos * d, d), Config.ProjectionDim);
    }

    /// <summary>exp(logit_scale)·cos(a, b).</summary>
    public float Similarity(float[] image, float[] text)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < image.Length; i++) { ab += (double)image[i] * text[i]; aa += (double)image[i] * image[i]; bb += (double)text[i] * text[i]; }
        if (aa == 0 || bb == 0) throw new AttnScopeException("an embedding is zero; the cosine similarity is undefined");
        return (float)(Math.Exp(Tensors.LogitScale) * ab / Math.Sqrt(aa * bb));
    }

    /// <summary>Both towers, the embeddings and the similarity.</summary>
    public ClipPass Run(FloatTensor pixels, int[] ids, bool record = false)
    {
        var image = ForwardImage(pixels, record);
        var text = ForwardText(ids, record);
        int eos = EosIndex(ids);
        var ie = ImageEmbeds(image.Hidden);
        var te = TextEmbeds(text.Hidden, eos);
        return new ClipPass { Image = image, Text = text, EosIndex = eos, ImageEmbeds = ie, TextEmbeds = te, Similarity = Similarity(ie, te) };
    }

    /// <summary>
    /// ∂similarity/∂P for every attention probability of both towers (per layer [heads, T, T]) of a recorded pass:
    /// the cosine's gradient through the projections, post_layernorm (vision, [CLS] row) and the core's backward passes.
    /// </summary>
    public (float[][] Image, float[][] Text) SimilarityGradients(ClipPass pass)
    {
        ArgumentNullException.ThrowIfNull(pass);
        if (pass.Image.Tape is null || pass.Text.Tape is null) throw new ArgumentException("the pass was not recorded", nameof(pass));
        var a = pass.ImageEmbeds; var b = pass.TextEmbeds;
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++) { ab += (double)a[i] * b[i]; aa += (double)a[i] * a[i]; bb += (double)b[i] * b[i]; }
        double k = Math.Exp(Tensors.LogitScale), na = Math.Sqrt(aa), nb = Math.Sqrt(bb);
        int p = a.Length, dv = Vision.Spec.Hidden, dt = Text.Spec.Hidden;
        var da = new double[p]; var db = new double[p];
        for (int i = 0; i < p; i++)
        {
            da[i] = k * (b[i] / (na * nb) - ab * a[i] / (na * na * na * nb));
            db[i] = k * (a[i] / (na * nb) - ab * b[i] / (nb * nb * nb * na));
        }
        // Vision: through visual_projection, then post_layernorm on the [CLS] row.
        var dCls = new float[dv];
        for (int o = 0; o < p; o++)
            for (int j = 0; j < dv; j++) dCls[j] += (float)(da[o] * Tensors.VisualProjection[o * dv + j]);
        CoreOps.LayerNormBackward(pass.Image.Hidden.Data.AsSpan(0, dv), Tensors.PostNormGain, Vision.Spec.NormEps, dCls, default, default);
        var dImage = new float[pass.Image.Hidden.Data.Length];
        dCls.CopyTo(dImage, 0);
        var gImage = Vision.Backward(pass.Image.Tape, dImage, null, probabilityGradients: true)!;
        // Text: through text_projection at the EOS row (the core's backward handles final_layer_norm).
        var dText = new float[pass.Text.Hidden.Data.Length];
        for (int o = 0; o < p; o++)
            for (int j = 0; j < dt; j++) dText[pass.EosIndex * dt + j] += (float)(db[o] * Tensors.TextProjection[o * dt + j]);
        var gText = Text.Backward(pass.Text.Tape, dText, null, probabilityGradients: true)!;
        return (gImage, gText);
    }
}
