using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Vision;
using AttnScope.Views.Vision;
using Xunit;
using Xunit.Abstractions;

namespace AttnScope.Tests.Vision;

/// <summary>
/// ViT and DeiT on the core against golden outputs of a PyTorch reference (nn.Conv2d patch embedding, nn.Linear
/// projections, nn.LayerNorm, nn.GELU; its attention also checked there against nn.MultiheadAttention) on small
/// random-weight models in Hugging Face's layout: tests/AttnScope.Tests/Golden/make_vision_goldens.py. The golden
/// pixel tensor comes from the same script, where PIL (Debian's python3-pil) resizes the image as Hugging Face's image
/// processors do; so the preprocessing (PNG decode, PIL-exact resize, crop, rescale, normalise) is checked too.
/// </summary>
public class VitGoldenTests(ITestOutputHelper output)
{
    public static readonly TheoryData<string> Models = new() { "tiny-vit", "tiny-deit" };

    internal static string Folder(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", name);

    private void Near(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> got, float tol)
    {
        Assert.Equal(expected.Length, got.Length);
        float worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = MathF.Max(worst, MathF.Abs(expected[i] - got[i]));
        output.WriteLine($"{what}: max |Δ| {worst:E2}");
        Assert.True(worst <= tol, $"{what}: max |Δ| {worst} > {tol}");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void PixelValuesMatchPilAndHuggingFaceSteps(string name)
    {
        var model = VitModel.Load(Folder(name));
        var golden = SafeTensorsFile.Open(Path.Combine(Folder(name), "golden.safetensors"));
        var pixels = model.Preprocessor.Pixels(ImageFile.Load(Path.Combine(Folder(name), "image.png")));
        Near("pixel_values", golden.ReadFloat("pixel_values").Data, pixels.Data, 1e-6f);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void ForwardMatchesPyTorchReference(string name)
    {
        var model = VitModel.Load(Folder(name));
        var golden = SafeTensorsFile.Open(Path.Combine(Folder(name), "golden.safetensors"));
        var s = model.Core.Spec;
        var hooks = new HookSet().Record("blocks.*.hook_resid_post", HookPoints.ResidPre(0));
        var r = model.Forward(golden.ReadFloat("pixel_values"), hooks: hooks);
        int T = model.Config.Tokens, len = s.Heads * T * T;
        Assert.Equal(T, golden.ReadFloat("embeddings").Shape[0]);
        Near("embeddings", golden.ReadFloat("embeddings").Data, hooks.Recorded[HookPoints.ResidPre(0)].Data, 1e-5f);
        for (int l = 0; l < s.Layers; l++)
        {
            Near($"attention.{l}", golden.ReadFloat($"attention.{l}").Data, r.Attention!.Data.AsSpan(l * len, len), 1e-5f);
            Near($"hidden.{l}", golden.ReadFloat($"hidden.{l}").Data, hooks.Recorded[HookPoints.ResidPost(l)].Data, 1e-4f);
        }
        Near("final_norm", golden.ReadFloat("final_norm").Data, r.Hidden.Data, 1e-4f);
        Near("logits", golden.ReadFloat("logits").Data, model.Logits(r.Hidden), 1e-4f);
    }

    [Fact]
    public void DeitHasClassAndDistillationTokens()
    {
        var model = VitModel.Load(Folder("tiny-deit"));
        var names = model.TokenNames();
        Assert.Equal(["[CLS]", "[DIST]", "patch 0,0", "patch 0,1"], names.Take(4));
        Assert.Equal(2 + 16, names.Count);
        Assert.Equal(2, model.Vision.Classifiers.Count);
        Assert.Equal(1, model.Vision.Classifiers[1].Token);
    }

    /// <summary>PIL's six filters, shrinking and enlarging, byte for byte (the golden is PIL's own output).</summary>
    [Theory]
    [InlineData(0)] [InlineData(1)] [InlineData(2)] [InlineData(3)] [InlineData(4)] [InlineData(5)]
    public void ResizeMatchesPilByteForByte(int filter)
    {
        var dir = Folder("vision-preprocess");
        var image = ImageFile.Load(Path.Combine(dir, "image.png"));
        var golden = SafeTensorsFile.Open(Path.Combine(dir, "resized.safetensors"));
        foreach (var tag in new[] { "down", "up" })
        {
            var expected = golden.ReadFloat($"resample{filter}.{tag}");
            int h = expected.Shape[0], w = expected.Shape[1];
            var got = PilResample.Resize(image, w, h, (ResampleFilter)filter);
            int differ = 0, worst = 0;
            for (int i = 0; i < got.Pixels.Length; i++)
            {
                int d = Math.Abs(got.Pixels[i] - (int)expected.Data[i]);
                if (d != 0) differ++;
                worst = Math.Max(worst, d);
            }
            output.WriteLine($"filter {(ResampleFilter)filter} {tag} {w}×{h}: {differ} of {got.Pixels.Length} bytes differ, worst {worst}");
            Assert.Equal(0, differ);
        }
    }

    /// <summary>
    /// Lossy formats: SkiaSharp's JPEG and WebP decoders against PIL's decoding of the same files. Measured here, not
    /// assumed equal; the bound is what docs/vision.md reports (PNG, lossless, is exact: the tests above).
    /// </summary>
    [Theory]
    [InlineData("jpg", 0)]
    [InlineData("webp", 0)]
    public void LossyDecodersAgreeWithPil(string ext, int tolerance)
    {
        var dir = Folder("vision-preprocess");
        var got = ImageFile.Load(Path.Combine(dir, "image." + ext));
        var expected = SafeTensorsFile.Open(Path.Combine(dir, "decoded.safetensors")).ReadFloat(ext);
        Assert.Equal([got.Height, got.Width, 3], expected.Shape);
        int differ = 0, worst = 0;
        for (int i = 0; i < got.Pixels.Length; i++)
        {
            int d = Math.Abs(got.Pixels[i] - (int)expected.Data[i]);
            if (d != 0) differ++;
            worst = Math.Max(worst, d);
        }
        output.WriteLine($"{ext}: {differ} of {got.Pixels.Length} bytes differ from PIL, worst by {worst}");
        Assert.True(worst <= tolerance, $"{ext}: worst difference {worst} > {tolerance}");
    }

    [Fact]
    public void BadInputsAreOneLine()
    {
        var model = VitModel.Load(Folder("tiny-vit"));
        var e = Assert.Throws<AttnScopeException>(() => model.Forward(new FloatTensor([3, 16, 16])));
        Assert.Contains("[3, 32, 32]", e.Message);
        Assert.Throws<AttnScopeException>(() => ImageFile.Decode([1, 2, 3, 4], "junk"));
        Assert.Throws<AttnScopeException>(() => ImagePreprocessor.Parse("{\"image_std\": [0, 1, 1]}", "pp"));
        Assert.Throws<AttnScopeException>(() => ImagePreprocessor.Parse("{\"resample\": 9}", "pp"));
        Assert.Throws<AttnScopeException>(() => model.Core.Forward(new ForwardInput { Ids = new int[17], InputEmbeddings = new float[5] }));
    }
}
