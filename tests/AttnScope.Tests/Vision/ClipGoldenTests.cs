using AttnScope.Analyses.Vision;
using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Sources.Vision;
using AttnScope.Views.Vision;
using Xunit;
using Xunit.Abstractions;

namespace AttnScope.Tests.Vision;

/// <summary>
/// CLIP on the core (two stacks) against golden outputs of an independent PyTorch reference
/// (tests/AttnScope.Tests/Golden/make_clip_goldens.py: nn.Conv2d without bias, nn.Linear, nn.LayerNorm, torch.softmax,
/// quick_gelu, following Hugging Face's modeling_clip; nothing of AttnScope's code). The golden pixels come from PIL's
/// bicubic resize of the shortest edge, centre crop and CLIP's mean/std; the attention gradients from torch.autograd.
/// </summary>
public class ClipGoldenTests(ITestOutputHelper output)
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "Golden", "tiny-clip");
    private static SafeTensorsFile Golden => SafeTensorsFile.Open(Path.Combine(Folder, "golden.safetensors"));
    private static int[] Ids(SafeTensorsFile g) => g.ReadFloat("input_ids").Data.Select(x => (int)x).ToArray();

    private float Near(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> got, float tol)
    {
        Assert.Equal(expected.Length, got.Length);
        float worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = MathF.Max(worst, MathF.Abs(expected[i] - got[i]));
        output.WriteLine($"{what}: max |Δ| {worst:E2}");
        Assert.True(worst <= tol, $"{what}: max |Δ| {worst} > {tol}");
        return worst;
    }

    [Fact]
    public void PixelValuesMatchPil()
    {
        var model = ClipModel.Load(Folder);
        var pixels = model.Preprocessor.Pixels(ImageFile.Load(Path.Combine(Folder, "image.png")));
        Near("pixel_values", Golden.ReadFloat("pixel_values").Data, pixels.Data, 1e-5f);
    }

    [Fact]
    public void BothTowersMatchPyTorchReference()
    {
        var model = ClipModel.Load(Folder);
        var g = Golden;
        var ids = Ids(g);
        foreach (var (tower, core) in new[] { ("vision", model.Vision), ("text", model.Text) })
        {
            var hooks = new HookSet().Record("blocks.*.hook_resid_post", HookPoints.Embed, HookPoints.PosEmbed);
            var r = tower == "vision" ? model.ForwardImage(g.ReadFloat("pixel_values"), hooks: hooks) : model.ForwardText(ids, hooks: hooks);
            var s = core.Spec;
            int T = tower == "vision" ? model.Config.ImageTokens : ids.Length, len = s.Heads * T * T;
            var emb = hooks.Recorded[HookPoints.Embed].Data.ToArray();
            System.Numerics.Tensors.TensorPrimitives.Add(emb, hooks.Recorded[HookPoints.PosEmbed].Data, emb);
            Near($"{tower}.embeddings", g.ReadFloat($"{tower}.embeddings").Data, emb, 1e-5f);
            for (int l = 0; l < s.Layers; l++)
            {
                Near($"{tower}.attention.{l}", g.ReadFloat($"{tower}.attention.{l}").Data, r.Attention!.Data.AsSpan(l * len, len), 1e-5f);
                Near($"{tower}.hidden.{l}", g.ReadFloat($"{tower}.hidden.{l}").Data, hooks.Recorded[HookPoints.ResidPost(l)].Data, 1e-4f);
            }
            if (tower == "text") Near("text.final_norm", g.ReadFloat("text.final_norm").Data, r.Hidden.Data, 1e-4f);
        }
        var pass = model.Run(g.ReadFloat("pixel_values"), ids);
        Assert.Equal(ids.Length - 1, pass.EosIndex);
        Near("image_embeds", g.ReadFloat("image_embeds").Data, pass.ImageEmbeds, 1e-4f);
        Near("text_embeds", g.ReadFloat("text_embeds").Data, pass.TextEmbeds, 1e-4f);
        Near("similarity", g.ReadFloat("similarity").Data, [pass.Similarity], 1e-4f);
    }

    /// <summary>∂similarity/∂A of both towers against torch.autograd on the reference.</summary>
    [Fact]
    public void AttentionGradientsMatchAutograd()
    {
        var model = ClipModel.Load(Folder);
        var g = Golden;
        var pass = model.Run(g.ReadFloat("pixel_values"), Ids(g), record: true);
        var (gi, gt) = model.SimilarityGradients(pass);
        for (int l = 0; l < model.Vision.Spec.Layers; l++) Near($"vision.attention_grad.{l}", g.ReadFloat($"vision.attention_grad.{l}").Data, gi[l], 1e-4f);
        for (int l = 0; l < model.Text.Spec.Layers; l++) Near($"text.attention_grad.{l}", g.ReadFloat($"text.attention_grad.{l}").Data, gt[l], 1e-4f);
    }

    /// <summary>
    /// ∂similarity/∂A against central finite differences of the similarity itself: one probability at a time is moved
    /// through the core's editable hook_pattern (the edited pattern weights the values) and the whole pass rerun.
    /// </summary>
    [Fact]
    public void AttentionGradientsMatchFiniteDifferences()
    {
        var model = ClipModel.Load(Folder);
        var g = Golden;
        var pixels = g.ReadFloat("pixel_values");
        var ids = Ids(g);
        var pass = model.Run(pixels, ids, record: true);
        var (gi, gt) = model.SimilarityGradients(pass);
        const float h = 1e-2f;
        float Sim(bool vision, int layer, int index, float delta)
        {
            var hooks = new HookSet().Edit(HookPoints.Pattern(layer), (v, _) => v[index] += delta);
            var img = vision ? model.ForwardImage(pixels, hooks: hooks) : model.ForwardImage(pixels);
            var txt = vision ? model.ForwardText(ids) : model.ForwardText(ids, hooks: hooks);
            return model.Similarity(model.ImageEmbeds(img.Hidden), model.TextEmbeds(txt.Hidden, model.EosIndex(ids)));
        }
        var rng = new Random(5);
        double worst = 0;
        int checkedCount = 0;
        foreach (var (vision, grads, T) in new[] { (true, gi, model.Config.ImageTokens), (false, gt, ids.Length) })
            for (int l = 0; l < grads.Length; l++)
                for (int k = 0; k < 6; k++)
                {
                    int head = rng.Next(4), q = rng.Next(T), key = rng.Next(vision ? T : q + 1);
                    if (vision && k == 0) q = 0; // the [CLS] row, which the relevance reads
                    int index = (head * T + q) * T + key;
                    double fd = (Sim(vision, l, index, h) - Sim(vision, l, index, -h)) / (2 * h);
                    double err = Math.Abs(fd - grads[l][index]);
                    worst = Math.Max(worst, err);
                    checkedCount++;
                    Assert.True(err <= 2e-3 + 1e-2 * Math.Abs(fd), $"{(vision ? "vision" : "text")} layer {l} [{head},{q},{key}]: backward {grads[l][index]}, finite difference {fd}");
                }
        output.WriteLine($"{checkedCount} probabilities, worst |backward − finite difference| {worst:E2}");
    }

    [Fact]
    public void RelevanceReadsEosRowAndClsRow()
    {
        var model = ClipModel.Load(Folder);
        var g = Golden;
        var ids = Ids(g);
        var r = ClipRelevance.Compute(model, g.ReadFloat("pixel_values"), ids);
        Assert.Equal(ids.Length, r.Text.Length);
        Assert.Equal(16, r.Image.Values.Length);
        // R = I + Σ non-negative terms: the EOS token keeps at least its own 1, causal rows see nothing after EOS.
        Assert.True(r.Text[r.EosIndex] >= 1f);
        Assert.All(r.Image.Values, v => Assert.True(v >= 0));
        Assert.Contains(r.Image.Values, v => v > 0);
        Assert.Contains(r.Text.Take(r.EosIndex), v => v > 0);
        output.WriteLine($"similarity {r.Similarity:F4}; text relevance {string.Join(" ", r.Text.Select(v => v.ToString("F3")))}");
    }

    private static string CopyFolder(Action<string> edit)
    {
        var dir = Path.Combine(Path.GetTempPath(), "clip-bad-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Folder)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        edit(dir);
        return dir;
    }

    [Theory]
    [InlineData("\"text_config\"", "\"text_configX\"", "no text_config")]
    [InlineData("\"vision_config\"", "\"vision_configX\"", "no vision_config")]
    [InlineData("\"vocab_size\"", "\"vocab_sizeX\"", "vocab_size")]
    [InlineData("\"patch_size\": 8", "\"patch_size\": 7", "multiple of patch_size")]
    [InlineData("\"vocab_size\": 554", "\"vocab_size\": 555", "shape")]
    [InlineData("\"hidden_act\": \"quick_gelu\"", "\"hidden_act\": \"swish2\"", "not supported")]
    public void BadConfigsAreClearErrors(string from, string to, string expected)
    {
        var dir = CopyFolder(d =>
        {
            var p = Path.Combine(d, "config.json");
            var text = File.ReadAllText(p);
            Assert.Contains(from, text);
            File.WriteAllText(p, text.Replace(from, to));
        });
        try
        {
            var e = Assert.Throws<AttnScopeException>(() => ClipModel.Load(dir));
            Assert.Contains(expected, e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>A tensor missing, a wrong shape, a non-scalar or non-finite logit_scale, a NaN weight: one line naming it.</summary>
    [Theory]
    [InlineData("drop", "visual_projection.weight", "no tensor 'visual_projection.weight'")]
    [InlineData("drop", "vision_model.pre_layrnorm.bias", "no tensor 'vision_model.pre_layrnorm.bias'")]
    [InlineData("shape", "text_projection.weight", "'text_projection.weight' has shape")]
    [InlineData("shape", "logit_scale", "expected a scalar")]
    [InlineData("nan", "logit_scale", "logit_scale")]
    [InlineData("nan", "text_model.encoder.layers.1.mlp.fc1.weight", "holds NaN")]
    public void BadWeightsAreClearErrors(string how, string name, string expected)
    {
        var dir = CopyFolder(d =>
        {
            var w = AttnScope.Sources.Models.SafetensorsWeights.Load(Path.Combine(Folder, "model.safetensors"));
            var tensors = new List<(string, FloatTensor)>();
            foreach (var n in w.Names.Order(StringComparer.Ordinal))
            {
                var t = w.Get(n);
                if (n == name && how == "drop") continue;
                if (n == name && how == "shape") t = new FloatTensor([t.Data.Length + 1], new float[t.Data.Length + 1]);
                if (n == name && how == "nan") { var data = t.Data.ToArray(); data[0] = float.NaN; t = new FloatTensor(t.Shape.ToArray(), data); }
                tensors.Add((n, t));
            }
            SafeTensorsFile.Write(Path.Combine(d, "model.safetensors"), tensors, new Dictionary<string, string>());
        });
        try
        {
            var e = Assert.Throws<AttnScopeException>(() => ClipModel.Load(dir));
            Assert.Contains(expected, e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void BadInputsAreClearErrors()
    {
        var model = ClipModel.Load(Folder);
        Assert.Contains("[3, 32, 32]", Assert.Throws<AttnScopeException>(() => model.ForwardImage(new FloatTensor([3, 16, 16]))).Message);
        Assert.Contains("vocabulary", Assert.Throws<AttnScopeException>(() => model.ForwardText([1, 554])).Message);
        Assert.Contains("at most 16", Assert.Throws<AttnScopeException>(() => model.ForwardText(new int[17])).Message);
        Assert.Throws<AttnScopeException>(() => model.ForwardText([]));
        Assert.True(ClipModel.IsClipFolder(Folder));
        Assert.False(ClipModel.IsClipFolder(Path.Combine(AppContext.BaseDirectory, "Golden", "tiny-vit")));
    }

    /// <summary>quick_gelu's backward against a central difference of its forward.</summary>
    [Fact]
    public void QuickGeluBackwardMatchesFiniteDifference()
    {
        float[] xs = [-4f, -1.3f, -0.2f, 0f, 0.4f, 1.1f, 3.5f];
        var dx = new float[xs.Length];
        CoreOps.ActivationBackward("quick_gelu", xs, Enumerable.Repeat(1f, xs.Length).ToArray(), dx);
        for (int i = 0; i < xs.Length; i++)
        {
            double f(double x) => x / (1 + Math.Exp(-1.702 * x));
            double fd = (f(xs[i] + 1e-4) - f(xs[i] - 1e-4)) / 2e-4;
            Assert.True(Math.Abs(fd - dx[i]) < 1e-4, $"x={xs[i]}: {dx[i]} vs {fd}");
            var y = new[] { xs[i] };
            CoreOps.Activate("quick_gelu", y);
            Assert.True(Math.Abs(y[0] - f(xs[i])) < 1e-6);
        }
    }
}
