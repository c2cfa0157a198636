using AttnScope.Analyses.Vision;
using AttnScope.Capture;
using AttnScope.Sources.Tokenization;
using AttnScope.Sources.Vision;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using AttnScope.Views.Vision;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace AttnScope.Tests.Vision;

/// <summary>The CLIP capture (vision tower = encoder stack, text tower = decoder stack), its relevance analyses, the
/// words → patches view and the command line, on the tiny-clip golden model.</summary>
public class ClipCaptureViewTests(ITestOutputHelper output)
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "Golden", "tiny-clip");

    [Fact]
    public void CaptureHoldsBothTowersAndRoundTrips()
    {
        using var tmp = new TempDir();
        var model = ClipModel.Load(Folder);
        var tok = ClipTokenizer.Load(Folder);
        var image = Path.Combine(Folder, "image.png");
        var cap = ClipCapture.Capture(model, tok, ImageFile.Load(image), image, "a photo of a cat", "tiny-clip");
        var path = Path.Combine(tmp.Path, "c.safetensors");
        cap.Save(path);
        cap = AttentionCapture.Load(path);
        Assert.Equal(17, cap.Tokens.Count);
        Assert.Equal(["<|startoftext|>", "a", "photo", "of", "a", "cat", "<|endoftext|>"], cap.TargetTokens.Select(t => t.Text));
        Assert.Equal([2, 4, 17, 17], cap.Stack(AttentionStack.Encoder).Attention.Shape);
        Assert.Equal([2, 4, 7, 7], cap.Stack(AttentionStack.Decoder).Attention.Shape);
        // The golden text is "a photo of a cat": the capture's attention and similarity are the reference's.
        var golden = AttnScope.Capture.SafeTensors.SafeTensorsFile.Open(Path.Combine(Folder, "golden.safetensors"));
        var t1 = golden.ReadFloat("text.attention.1").Data;
        var got = cap.Stack(AttentionStack.Decoder).Attention.Data.AsSpan(4 * 49, 4 * 49);
        for (int i = 0; i < t1.Length; i++) Assert.True(Math.Abs(t1[i] - got[i]) < 1e-5f);
        float sim = float.Parse(cap.Metadata.Extra["clip.similarity"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(sim - golden.ReadFloat("similarity").Data[0]) < 1e-4f);
        Assert.Equal([4, 4], cap.Analysis(ClipCapture.ImageRelevance)!.Tensor.Shape);
        Assert.Equal([5, 4, 4], cap.Analysis(ClipCapture.WordRelevance)!.Tensor.Shape);
        Assert.NotNull(VisionLayout.Of(cap));
    }

    [Fact]
    public void CliCapturesAndDrawsWordsToPatches()
    {
        using var tmp = new TempDir();
        string cap = Path.Combine(tmp.Path, "c.safetensors"), image = Path.Combine(Folder, "image.png");
        var (code, text, err) = CliTests.Run("capture", "--model", Folder, "--image", image, "--text", "a photo of a <b>cat</b>", "-o", cap);
        Assert.True(code == 0, err);
        output.WriteLine(text);
        Assert.Contains("similarity", text);
        var png = Path.Combine(tmp.Path, "clip.png");
        (code, _, err) = CliTests.Run("vision", cap, "--view", "clip", "-o", png);
        Assert.True(code == 0, err);
        using (var b = SKBitmap.Decode(File.ReadAllBytes(png))) Assert.True(b.Width > 500 && b.Height > 250, $"{b.Width}×{b.Height}");
        (code, _, err) = CliTests.Run("vision", cap, "--view", "clip", "--word", "2", "-o", png);
        Assert.True(code == 0, err);
        (code, _, err) = CliTests.Run("vision", cap, "--view", "clip", "--word", "0", "-o", png);
        CliTests.AssertOneLineError(code, err, "not a word token");
        (code, _, err) = CliTests.Run("capture", "--model", Folder, "--image", image, "-o", cap);
        CliTests.AssertOneLineError(code, err, "give --text");
        (code, _, err) = CliTests.Run("capture", "--model", Folder, "--text", "a cat", "-o", cap);
        CliTests.AssertOneLineError(code, err, "give --image");
        // A ViT capture is not a CLIP capture.
        string vit = Path.Combine(tmp.Path, "v.safetensors");
        (code, _, err) = CliTests.Run("capture", "--model", Path.Combine(AppContext.BaseDirectory, "Golden", "tiny-vit"), "--image", image, "-o", vit);
        Assert.True(code == 0, err);
        (code, _, err) = CliTests.Run("vision", vit, "--view", "clip", "-o", png);
        CliTests.AssertOneLineError(code, err, "not a CLIP");
    }

    /// <summary>hf:ORG/NAME for CLIP through the vision hf: path, against a loopback server in the Hub's layout.</summary>
    [Fact]
    public void AHubClipModelDownloadsWithItsTokenizer()
    {
        using var hub = new LoopbackHub();
        using var cache = new TempDir();
        var files = new[] { "config.json", "model.safetensors", "preprocessor_config.json", "vocab.json", "merges.txt" }
            .ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(Folder, f)));
        hub.AddRepo("org/tiny-clip", files);
        var folder = VitModel.ResolveFolder("hf:org/tiny-clip", new AttnScope.Sources.Models.HubClient(hub.Endpoint, cache.Path, false, ""));
        Assert.True(ClipModel.IsClipFolder(folder));
        var model = ClipModel.Load(folder);
        var ids = ClipTokenizer.Load(folder).Encode("a photo of a cat").Ids;
        var golden = AttnScope.Capture.SafeTensors.SafeTensorsFile.Open(Path.Combine(Folder, "golden.safetensors"));
        Assert.Equal(golden.ReadFloat("input_ids").Data.Select(x => (int)x), ids);
        var pass = model.Run(model.Preprocessor.Pixels(ImageFile.Load(Path.Combine(Folder, "image.png"))), ids);
        Assert.True(Math.Abs(pass.Similarity - golden.ReadFloat("similarity").Data[0]) < 1e-4f);
    }
}
