using AttnScope.Analyses.Vision;
using AttnScope.Capture;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Vision;
using AttnScope.Views.Vision;
using AttnScope.Tests.Support;
using AttnScope.Tests.Cli;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace AttnScope.Tests.Vision;

/// <summary>Image → capture → maps → overlay views, and the gradient relevance's probability gradients for ViT.</summary>
public class VisionCaptureViewTests(ITestOutputHelper output)
{
    private static string Folder(string name) => VitGoldenTests.Folder(name);

    private static AttentionCapture DeitCapture(string dir)
    {
        var model = VitModel.Load(Folder("tiny-deit"));
        var image = Path.Combine(Folder("tiny-deit"), "image.png");
        var cap = VisionCapture.Capture(model, ImageFile.Load(image), image, "tiny-deit");
        var path = Path.Combine(dir, "cap.safetensors");
        cap.Save(path);
        return AttentionCapture.Load(path);
    }

    [Fact]
    public void CaptureKeepsTokensGridAndTheModelsViewOfTheImage()
    {
        using var tmp = new TempDir();
        var cap = DeitCapture(tmp.Path);
        var layout = VisionLayout.Require(cap);
        Assert.Equal((4, 4, 2, 8), (layout.GridRows, layout.GridCols, layout.SpecialTokens, layout.PatchSize));
        Assert.Equal(["[CLS]", "[DIST]", "patch 0,0"], cap.Tokens.Take(3).Select(t => t.Text));
        Assert.True(cap.Tokens[0].IsSpecial && cap.Tokens[1].IsSpecial && !cap.Tokens[2].IsSpecial);
        Assert.Equal("deit", cap.Metadata.Architecture);
        Assert.EndsWith("image.png", layout.ImagePath);
        // The image kept is the crop the model saw: the golden pixel tensor de-normalised gives the same bytes.
        var golden = AttnScope.Capture.SafeTensors.SafeTensorsFile.Open(Path.Combine(Folder("tiny-deit"), "golden.safetensors")).ReadFloat("pixel_values");
        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        Assert.Equal((32, 32), (layout.Image.Width, layout.Image.Height));
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 32 * 32; i++)
                Assert.Equal(golden.Data[c * 1024 + i] * std[c] + mean[c], layout.Image.Pixels[i * 3 + c] / 255f, 3);
        // The capture's attention is the golden attention.
        var att = cap.Stack(AttentionStack.Encoder).Attention;
        var g0 = AttnScope.Capture.SafeTensors.SafeTensorsFile.Open(Path.Combine(Folder("tiny-deit"), "golden.safetensors")).ReadFloat("attention.1");
        int len = g0.Data.Length;
        for (int i = 0; i < len; i++) Assert.Equal(g0.Data[i], att.Data[len + i], 4);
        Assert.Null(VisionLayout.Of(new AttentionCapture(new CaptureMetadata(), cap.Tokens, cap.Stacks.Values)));
    }

    [Fact]
    public void AttentionMapIsTheQueryRowOverPatches()
    {
        using var tmp = new TempDir();
        var cap = DeitCapture(tmp.Path);
        var s = cap.Stack(AttentionStack.Encoder);
        int n = s.Queries;
        var map = VisionMaps.Attention(cap, 1, 2, query: 5);
        for (int j = 0; j < 16; j++) Assert.Equal(s.Attention.Data[((1 * s.Heads + 2) * n + 5) * n + 2 + j], map.Values[j]);
        var mean = VisionMaps.Attention(cap, 0, -1, 0);
        float expected = Enumerable.Range(0, s.Heads).Sum(h => s.Attention.Data[(h * n + 0) * n + 2 + 7]) / s.Heads;
        Assert.Equal(expected, mean.Values[7], 6);
        // Rollout rows over every token sum to 1; the map is the class token's row without the two special tokens.
        var roll = VisionMaps.Rollout(cap);
        Assert.Equal(s.Layers, roll.Count);
        Assert.InRange(roll[^1].Values.Sum(), 0.05, 1.0);
        Assert.Throws<AttnScopeException>(() => VisionMaps.Attention(cap, 5, 0));
    }

    /// <summary>
    /// ∂logit/∂P from the core's backward pass, as relevance uses it, against central differences through an
    /// edit of the attention pattern (hook_pattern edits re-weight the values), for the class and distillation heads.
    /// </summary>
    [Fact]
    public void ProbabilityGradientsMatchFiniteDifferences()
    {
        var model = VitModel.Load(Folder("tiny-deit"));
        var pixels = model.Preprocessor.Pixels(ImageFile.Load(Path.Combine(Folder("tiny-deit"), "image.png")));
        var core = model.Core;
        int n = model.Config.Tokens, d = core.Spec.Hidden, heads = core.Spec.Heads;
        var pass = model.Forward(pixels, record: true);
        const int target = 1;
        var dHidden = new float[n * d];
        foreach (var (w, _, token) in model.Vision.Classifiers)
            for (int k = 0; k < d; k++) dHidden[token * d + k] += w[target * d + k] / 2;
        var dP = core.Backward(pass.Tape!, dHidden, null, probabilityGradients: true)!;
        double Logit(int layer, int index, float delta)
        {
            var hooks = new HookSet().Edit(HookPoints.Pattern(layer), (p, _) => p[index] += delta);
            var r = core.Forward(new ForwardInput { Ids = new int[n], InputEmbeddings = model.InputRows(model.Patches(pixels)), Hooks = hooks });
            return model.Logits(r.Hidden)[target];
        }
        foreach (var (layer, h, i, j) in new[] { (0, 1, 0, 5), (1, 3, 0, 9), (1, 0, 1, 2), (0, 2, 7, 1) })
        {
            int index = (h * n + i) * n + j;
            const float eps = 1e-2f;
            double fd = (Logit(layer, index, eps) - Logit(layer, index, -eps)) / (2 * eps);
            output.WriteLine($"layer {layer} head {h} [{i},{j}]: backward {dP[layer][index]:G5}, central difference {fd:G5}");
            Assert.True(Math.Abs(fd - dP[layer][index]) <= 2e-3 + 1e-2 * Math.Abs(fd), $"{fd} vs {dP[layer][index]}");
        }
        var (map, t) = VisionMaps.Relevance(model, pixels, target);
        Assert.Equal(target, t);
        Assert.Equal(16, map.Values.Length);
        Assert.All(map.Values, v => Assert.True(v >= 0));
        Assert.Throws<AttnScopeException>(() => VisionMaps.Relevance(model, pixels, 7));
    }

    [Fact]
    public void OverlayHighlightsTheMaximumPatchAndDimsTheRest()
    {
        var gray = new RgbImage(64, 64, Enumerable.Repeat((byte)128, 64 * 64 * 3).ToArray());
        var values = new float[16];
        values[1 * 4 + 2] = 1f; // patch (1, 2)
        using var bmp = ImageOverlayRenderer.Render(gray, [new PatchMap(values, 4, 4, "one patch")], null, new OverlayOptions { PanelSize = 128 });
        // The panel starts at (10, 10) (the margin); patch (1, 2) covers x 74…106, y 42…74.
        float Luma(SKColor c) => 0.299f * c.Red + 0.587f * c.Green + 0.114f * c.Blue;
        float hot = Luma(bmp.GetPixel(10 + 2 * 32 + 16, 10 + 32 + 16)), cold = Luma(bmp.GetPixel(10 + 16, 10 + 16));
        output.WriteLine($"luma at the maximum {hot}, at a zero {cold}");
        Assert.True(hot > cold + 40, $"{hot} vs {cold}");
        Assert.True(cold < 60);
    }

    [Fact]
    public void CliCapturesAnImageAndDrawsEveryView()
    {
        using var tmp = new TempDir();
        string cap = Path.Combine(tmp.Path, "c.safetensors"), model = Folder("tiny-vit"), image = Path.Combine(model, "image.png");
        var (code, text, err) = CliTests.Run("capture", "--model", model, "--image", image, "-o", cap);
        Assert.True(code == 0, err);
        Assert.Contains("4×4 patches", text);
        foreach (var (view, ext, extra) in new[] { ("heads", ".png", ""), ("rollout", ".png", ""), ("relevance", ".png", "--model"), ("animate", ".gif", "") })
        {
            var outPath = Path.Combine(tmp.Path, view + ext);
            var args = new List<string> { "vision", cap, "--view", view, "-o", outPath, "--query", "1,1" };
            if (extra != "") args.AddRange([extra, model]);
            (code, text, err) = CliTests.Run([.. args]);
            Assert.True(code == 0, err);
            var bytes = File.ReadAllBytes(outPath);
            if (ext == ".png") { using var b = SKBitmap.Decode(bytes); Assert.True(b.Width > 200 && b.Height > 200); }
            else Assert.Equal("GIF89a", System.Text.Encoding.ASCII.GetString(bytes, 0, 6));
        }
        (code, _, err) = CliTests.Run("vision", cap, "--query", "dist", "-o", Path.Combine(tmp.Path, "x.png"));
        CliTests.AssertOneLineError(code, err, "no distillation token");
        (code, _, err) = CliTests.Run("vision", cap, "--view", "relevance", "--model", Folder("tiny-deit"), "-o", Path.Combine(tmp.Path, "x.png"));
        CliTests.AssertOneLineError(code, err, "does not give the capture's attention");
        (code, _, err) = CliTests.Run("vision", cap, "--view", "relevance", "--model", model, "--image", Path.Combine(Folder("tiny-deit"), "image.png"), "-o", Path.Combine(tmp.Path, "x.png"));
        CliTests.AssertOneLineError(code, err, "does not give the capture's attention");
        (code, _, err) = CliTests.Run("capture", "--model", model, "--image", Path.Combine(model, "config.json"), "-o", cap);
        CliTests.AssertOneLineError(code, err, "not an image");
    }
}

/// <summary><c>hf:</c> names for vision models, against a loopback server in the Hub's layout (nothing leaves the machine).</summary>
public class VisionHubTests
{
    [Fact]
    public void AHubVisionModelDownloadsAndCaptures()
    {
        using var hub = new LoopbackHub();
        using var cache = new TempDir();
        var dir = VitGoldenTests.Folder("tiny-deit");
        var files = new[] { "config.json", "model.safetensors", "preprocessor_config.json" }.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(dir, f)));
        hub.AddRepo("org/tiny-deit", files);
        var folder = VitModel.ResolveFolder("hf:org/tiny-deit", new AttnScope.Sources.Models.HubClient(hub.Endpoint, cache.Path, false, ""));
        var model = VitModel.Load(folder);
        // The downloaded preprocessor is used: the DeiT crop (not the default resize) gives the golden pixels.
        var golden = AttnScope.Capture.SafeTensors.SafeTensorsFile.Open(Path.Combine(dir, "golden.safetensors")).ReadFloat("pixel_values");
        Assert.Equal(golden.Data, model.Preprocessor.Pixels(ImageFile.Load(Path.Combine(dir, "image.png"))).Data);
        Assert.Equal(18, model.Config.Tokens);
    }
}
