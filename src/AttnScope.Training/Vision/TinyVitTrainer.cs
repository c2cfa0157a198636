using System.Globalization;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Sources.Vision;

namespace AttnScope.Training.Vision;

/// <summary>
/// Trains a small ViT classifier on the one Transformer core (forward with input rows, the core's backward pass)
/// on <see cref="ShapeImages"/>: which shape is in the image. The patch embedding, class token and classifier
/// are trained beside the core's tensors: the gradient of each input row is read off the position table's
/// gradient (the rows and the positions are summed, so both get the same gradient). Adam with a cosine schedule,
/// seeded; the result is saved as a Hugging Face ViT folder that <see cref="VitModel.Load"/> reads.
/// </summary>
internal sealed class TinyVitTrainer
{
    public TransformerSpec Spec { get; }
    public VitConfig Config { get; }
    public CoreTensors Core { get; }
    public VitTensors Vision { get; }
    public ImagePreprocessor Preprocessor { get; } = new() { ResizeHeight = 48, ResizeWidth = 48 };
    private readonly CoreGradients _grads;
    private readonly float[] _dPatchW, _dPatchB, _dCls, _dHeadW, _dHeadB;
    private readonly List<(float[] Value, float[] Grad, bool Decay)> _params = [];
    private readonly Dictionary<float[], (float[] M, float[] V)> _moments = new(ReferenceEqualityComparer.Instance);
    public long Steps { get; private set; }

    public TinyVitTrainer(int seed, int hidden = 32, int layers = 3, int heads = 4, int image = 48, int patch = 8)
    {
        var labels = ShapeImages.Labels;
        Config = new VitConfig { ModelType = "vit", ImageSize = image, PatchSize = patch, Channels = 3, Distillation = false, Labels = labels };
        Preprocessor = new ImagePreprocessor { ResizeHeight = image, ResizeWidth = image };
        Spec = new TransformerSpec
        {
            Family = "vit", Layers = layers, Hidden = hidden, Heads = heads, KvHeads = heads, HeadDim = hidden / heads, Intermediate = 2 * hidden,
            Vocab = 1, MaxPositions = Config.Tokens, Norm = NormKind.LayerNorm, Placement = NormPlacement.Pre, NormEps = 1e-12f, FinalNorm = true,
            Positions = PositionKind.Learned, Causal = false, Activation = "gelu",
        };
        Spec.Validate("tiny ViT");
        var rng = new Random(seed);
        float[] N(int n, double std) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(std * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())); return a; }
        float[] Ones(int n) { var a = new float[n]; Array.Fill(a, 1f); return a; }
        int d = hidden, I = Spec.Intermediate, k = 3 * patch * patch;
        Core = new CoreTensors
        {
            TokenEmbeddings = new float[d], PositionEmbeddings = N(Config.Tokens * d, 0.1),
            Layers = Enumerable.Range(0, layers).Select(_ => new CoreLayerTensors
            {
                Query = N(d * d, 1 / Math.Sqrt(d)), QueryBias = new float[d], Key = N(d * d, 1 / Math.Sqrt(d)), KeyBias = new float[d],
                Value = N(d * d, 1 / Math.Sqrt(d)), ValueBias = new float[d], Output = N(d * d, 1 / Math.Sqrt(d)), OutputBias = new float[d],
                Norm1Gain = Ones(d), Norm1Bias = new float[d], Norm2Gain = Ones(d), Norm2Bias = new float[d],
                Up = N(I * d, 1 / Math.Sqrt(d)), UpBias = new float[I], Down = N(d * I, 1 / Math.Sqrt(I)), DownBias = new float[d],
            }).ToArray(),
            FinalNormGain = Ones(d), FinalNormBias = new float[d],
        };
        Vision = new VitTensors
        {
            PatchWeight = N(d * k, 1 / Math.Sqrt(k)), PatchBias = new float[d], ClassToken = N(d, 0.1),
            Classifiers = [(N(labels.Length * d, 1 / Math.Sqrt(d)), new float[labels.Length], 0)],
        };
        _grads = CoreGradients.For(Core);
        _dPatchW = new float[Vision.PatchWeight.Length]; _dPatchB = new float[d]; _dCls = new float[d];
        _dHeadW = new float[Vision.Classifiers[0].Weight.Length]; _dHeadB = new float[labels.Length];
        foreach (var (name, v, g) in _grads.Pairs())
            if (name != "embed.W_E") _params.Add((v, g, v.Length > d && name != "pos_embed.W_pos"));
        _params.Add((Vision.PatchWeight, _dPatchW, true)); _params.Add((Vision.PatchBias, _dPatchB, false)); _params.Add((Vision.ClassToken, _dCls, false));
        _params.Add((Vision.Classifiers[0].Weight, _dHeadW, true)); _params.Add((Vision.Classifiers[0].Bias, _dHeadB, false));
    }

    /// <summary>The current weights as a model (packed afresh).</summary>
    public VitModel Model() => new(new TransformerModel(Spec, Core, "tiny ViT"), Config, Vision, Preprocessor, "tiny ViT (training)");

    /// <summary>One Adam step on a batch; returns the mean cross-entropy and the batch accuracy (before the step).</summary>
    public (double Loss, double Accuracy) Step(IReadOnlyList<ShapeSample> batch, double learningRate, double weightDecay = 0.01)
    {
        var result = Gradients(batch);
        Adam(learningRate, weightDecay);
        return result;
    }

    /// <summary>∂(mean loss)/∂ patch weights, after <see cref="Gradients"/>.</summary>
    public ReadOnlySpan<float> PatchWeightGradient => _dPatchW;
    /// <summary>∂(mean loss)/∂ class token, after <see cref="Gradients"/>.</summary>
    public ReadOnlySpan<float> ClassTokenGradient => _dCls;
    /// <summary>The core tensors' gradients, after <see cref="Gradients"/>.</summary>
    public CoreGradients CoreGradients => _grads;

    /// <summary>Mean cross-entropy and accuracy of a batch, and every gradient (no step).</summary>
    public (double Loss, double Accuracy) Gradients(IReadOnlyList<ShapeSample> batch)
    {
        var model = Model();
        var core = model.Core;
        int d = Spec.Hidden, n = Config.Tokens, labels = ShapeImages.Labels.Length, k = 3 * Config.PatchSize * Config.PatchSize;
        _grads.Clear();
        foreach (var a in new[] { _dPatchW, _dPatchB, _dCls, _dHeadW, _dHeadB }) Array.Clear(a);
        var (hw, hb, _) = Vision.Classifiers[0];
        double loss = 0;
        int correct = 0;
        float scale = 1f / batch.Count;
        var posGrad = _grads.Grads.PositionEmbeddings!;
        var before = new float[posGrad.Length];
        foreach (var sample in batch)
        {
            var patches = model.Patches(Preprocessor.Pixels(sample.Image));
            var pass = core.Forward(new ForwardInput { Ids = new int[n], InputEmbeddings = model.InputRows(patches), Record = true });
            var h0 = pass.Hidden.Data.AsSpan(0, d);
            var logits = new double[labels];
            for (int j = 0; j < labels; j++) logits[j] = System.Numerics.Tensors.TensorPrimitives.Dot(hw.AsSpan(j * d, d), h0) + hb[j];
            double max = logits.Max(), z = logits.Sum(x => Math.Exp(x - max));
            loss += -(logits[sample.Label] - max - Math.Log(z));
            if (Array.IndexOf(logits, logits.Max()) == sample.Label) correct++;
            var dHidden = new float[n * d];
            for (int j = 0; j < labels; j++)
            {
                float g = (float)((Math.Exp(logits[j] - max) / z - (j == sample.Label ? 1 : 0)) * scale);
                _dHeadB[j] += g;
                for (int c = 0; c < d; c++) { _dHeadW[j * d + c] += g * h0[c]; dHidden[c] += g * hw[j * d + c]; }
            }
            posGrad.CopyTo(before, 0);
            core.Backward(pass.Tape!, dHidden, _grads);
            // ∂L/∂(input row i) = what this pass added to position row i.
            for (int c = 0; c < d; c++) _dCls[c] += posGrad[c] - before[c];
            for (int i = 1; i < n; i++)
            {
                var x = patches.AsSpan((i - 1) * k, k);
                for (int o = 0; o < d; o++)
                {
                    float g = posGrad[i * d + o] - before[i * d + o];
                    if (g == 0) continue;
                    _dPatchB[o] += g;
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(x, g, _dPatchW.AsSpan(o * k, k), _dPatchW.AsSpan(o * k, k));
                }
            }
        }
        return (loss / batch.Count, (double)correct / batch.Count);
    }

    private void Adam(double lr, double decay)
    {
        Steps++;
        const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
        double c1 = 1 - Math.Pow(b1, Steps), c2 = 1 - Math.Pow(b2, Steps);
        foreach (var (v, g, wd) in _params)
        {
            if (!_moments.TryGetValue(v, out var mv)) _moments[v] = mv = (new float[v.Length], new float[v.Length]);
            for (int i = 0; i < v.Length; i++)
            {
                mv.M[i] = (float)(b1 * mv.M[i] + (1 - b1) * g[i]);
                mv.V[i] = (float)(b2 * mv.V[i] + (1 - b2) * g[i] * g[i]);
                double update = mv.M[i] / c1 / (Math.Sqrt(mv.V[i] / c2) + eps) + (wd ? decay * v[i] : 0);
                v[i] -= (float)(lr * update);
            }
        }
    }

    /// <summary>Trains for <paramref name="steps"/> batches of fresh images; reports every <paramref name="every"/> steps.</summary>
    public void Train(int steps, int batchSize, double peakRate, int seed, Action<long, double, double>? report = null, int every = 50, bool distractor = false)
    {
        if (steps is < 1 or > 1_000_000 || batchSize is < 1 or > 4096) throw new AttnScopeException($"steps {steps} and batch size {batchSize} must be 1…1,000,000 and 1…4096");
        var rng = new Random(seed);
        int warm = Math.Max(1, steps / 20);
        double lossSum = 0, accSum = 0;
        for (int s = 0; s < steps; s++)
        {
            double lr = s < warm ? peakRate * (s + 1) / warm : peakRate * 0.5 * (1 + Math.Cos(Math.PI * (s - warm) / Math.Max(1, steps - warm)));
            var batch = Enumerable.Range(0, batchSize).Select(_ => ShapeImages.Make(rng, Config.ImageSize, distractor)).ToList();
            var (loss, acc) = Step(batch, lr);
            lossSum += loss; accSum += acc;
            if ((s + 1) % every == 0 || s == steps - 1)
            {
                int count = (s + 1) % every == 0 ? every : (s + 1) % every;
                report?.Invoke(s + 1, lossSum / count, accSum / count);
                lossSum = accSum = 0;
            }
        }
    }

    /// <summary>Writes config.json, preprocessor_config.json and model.safetensors in Hugging Face's ViT layout.</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        int d = Spec.Hidden, p = Config.PatchSize;
        var id2label = new JsonObject();
        var label2id = new JsonObject();
        for (int i = 0; i < Config.Labels.Count; i++) { id2label[i.ToString(CultureInfo.InvariantCulture)] = Config.Labels[i]; label2id[Config.Labels[i]] = i; }
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("ViTForImageClassification"), ["model_type"] = "vit", ["hidden_size"] = d,
            ["num_hidden_layers"] = Spec.Layers, ["num_attention_heads"] = Spec.Heads, ["intermediate_size"] = Spec.Intermediate,
            ["hidden_act"] = "gelu", ["layer_norm_eps"] = 1e-12, ["image_size"] = Config.ImageSize, ["patch_size"] = p,
            ["num_channels"] = 3, ["qkv_bias"] = true, ["id2label"] = id2label, ["label2id"] = label2id,
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        var pp = new JsonObject
        {
            ["do_normalize"] = true, ["do_rescale"] = true, ["do_resize"] = true, ["image_mean"] = new JsonArray(0.5, 0.5, 0.5),
            ["image_std"] = new JsonArray(0.5, 0.5, 0.5), ["resample"] = 2, ["rescale_factor"] = 1.0 / 255,
            ["size"] = new JsonObject { ["height"] = Config.ImageSize, ["width"] = Config.ImageSize }, ["image_processor_type"] = "ViTImageProcessor",
        };
        File.WriteAllText(Path.Combine(dir, "preprocessor_config.json"), pp.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        var t = new List<(string, FloatTensor)>
        {
            ("vit.embeddings.patch_embeddings.projection.weight", new FloatTensor([d, 3, p, p], Vision.PatchWeight)),
            ("vit.embeddings.patch_embeddings.projection.bias", new FloatTensor([d], Vision.PatchBias)),
            ("vit.embeddings.cls_token", new FloatTensor([1, 1, d], Vision.ClassToken)),
            ("vit.embeddings.position_embeddings", new FloatTensor([1, Config.Tokens, d], Core.PositionEmbeddings!)),
            ("vit.layernorm.weight", new FloatTensor([d], Core.FinalNormGain!)),
            ("vit.layernorm.bias", new FloatTensor([d], Core.FinalNormBias!)),
            ("classifier.weight", new FloatTensor([Config.Labels.Count, d], Vision.Classifiers[0].Weight)),
            ("classifier.bias", new FloatTensor([Config.Labels.Count], Vision.Classifiers[0].Bias)),
        };
        int I = Spec.Intermediate;
        for (int l = 0; l < Spec.Layers; l++)
        {
            var c = Core.Layers[l];
            string q = $"vit.encoder.layer.{l}.";
            void Add(string name, float[] v, params int[] shape) => t.Add((q + name, new FloatTensor(shape, v)));
            Add("attention.attention.query.weight", c.Query, d, d); Add("attention.attention.query.bias", c.QueryBias!, d);
            Add("attention.attention.key.weight", c.Key, d, d); Add("attention.attention.key.bias", c.KeyBias!, d);
            Add("attention.attention.value.weight", c.Value, d, d); Add("attention.attention.value.bias", c.ValueBias!, d);
            Add("attention.output.dense.weight", c.Output, d, d); Add("attention.output.dense.bias", c.OutputBias!, d);
            Add("layernorm_before.weight", c.Norm1Gain, d); Add("layernorm_before.bias", c.Norm1Bias!, d);
            Add("layernorm_after.weight", c.Norm2Gain!, d); Add("layernorm_after.bias", c.Norm2Bias!, d);
            Add("intermediate.dense.weight", c.Up!, I, d); Add("intermediate.dense.bias", c.UpBias!, I);
            Add("output.dense.weight", c.Down!, d, I); Add("output.dense.bias", c.DownBias!, d);
        }
        SafeTensorsFile.Write(Path.Combine(dir, "model.safetensors"), t, new Dictionary<string, string> { ["format"] = "pt" });
    }
}
