using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Sources.Transformer;
using AttnScope.Tests.Core;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Cli;

/// <summary>
/// Decoder language models from the command line: capture and generate on the golden GPT-2 and Llama folders
/// (their own tokenizers), checked against the PyTorch reference outputs, then rendered and analysed.
/// </summary>
public class DecoderCliTests
{
    [Theory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    public void Capture_TokenizesLikeTheReferenceAndMatchesItsAttention(string name)
    {
        using var dir = new TempDir();
        var path = dir.File("cap.safetensors");
        var folder = DecoderGoldenTests.Folder(name);
        var prompt = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "golden.json"))).RootElement.GetProperty("prompt_text").GetString()!;
        var (code, output, err) = CliTests.Run("capture", "--model", folder, "--text", prompt, "--qkv", "-o", path);
        Assert.True(code == 0, err);
        var cap = AttentionCapture.Load(path);
        var (ids, _, golden) = DecoderGoldenTests.Golden(name);
        Assert.Equal(ids, cap.Tokens.Select(t => t.Id).ToArray());
        var att = cap.Stack(AttentionStack.Decoder).Attention;
        int n = ids.Length, h = att.Shape[1];
        for (int l = 0; l < att.Shape[0]; l++)
        {
            var expected = golden.ReadFloat($"attention.{l}").Data;
            for (int i = 0; i < expected.Length; i++) Assert.True(MathF.Abs(expected[i] - att.Data[l * h * n * n + i]) < 1e-5f);
        }
        Assert.NotNull(cap.Stack(AttentionStack.Decoder).Query);
        Assert.Contains("decoder.attention", output);
        // Views take the decoder stack without being told.
        var png = dir.File("heads.png");
        (code, _, err) = CliTests.Run("render", path, "--view", "heads", "--layer", "1", "-o", png);
        Assert.True(code == 0, err);
        Assert.True(new FileInfo(png).Length > 1000);
    }

    [Fact]
    public void Generate_RecordsEveryStepAndContinuesLikeTheReference()
    {
        using var dir = new TempDir();
        var path = dir.File("gen.safetensors");
        var folder = DecoderGoldenTests.Folder("tiny-llama");
        var (ids, generated, _) = DecoderGoldenTests.Golden("tiny-llama");
        var prompt = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "golden.json"))).RootElement.GetProperty("prompt_text").GetString()!;
        var (code, output, err) = CliTests.Run("generate", "--model", folder, "--prompt", prompt, "--max-new", generated.Length.ToString(), "-o", path);
        Assert.True(code == 0, err);
        var cap = AttentionCapture.Load(path);
        Assert.Equal(ids.Concat(generated).ToArray(), cap.Tokens.Select(t => t.Id).ToArray());
        Assert.Equal(ids.Length.ToString(), cap.Metadata.Extra[DecoderSession.PromptTokensKey]);
        Assert.Equal("greedy", cap.Metadata.Extra[DecoderSession.StrategyKey]);
        Assert.Equal("2", cap.Metadata.Extra[DecoderSession.KvHeadsKey]);
        Assert.All(cap.Tokens.Skip(ids.Length), t => Assert.Equal(Segment.B, t.Segment));
        Assert.Equal(2, cap.Metadata.Texts.Count);
        int n = ids.Length + generated.Length;
        Assert.Equal(new[] { 2, 4, n, n }, cap.Stack(AttentionStack.Decoder).Attention.Shape);
        Assert.Contains($"{ids.Length} prompt + {generated.Length} new tokens", output);
        // A continuation token's offsets point into the continuation text.
        foreach (var t in cap.Tokens.Skip(ids.Length).Where(t => !t.IsSpecial && t.End > t.Start))
            Assert.Equal(t.Text, cap.Metadata.Texts[1][t.Start..t.End]);
    }

    [Fact]
    public void SamplingIsRepeatableWithASeed()
    {
        var session = DecoderSession.Open(DecoderGoldenTests.Folder("tiny-gpt2"));
        var o = new SamplingOptions { Temperature = 1.5f, TopK = 20, Seed = 7, StopAtEos = false };
        var a = session.Generate("the cat", 10, o).Result.Ids;
        var b = session.Generate("the cat", 10, o).Result.Ids;
        var c = session.Generate("the cat", 10, o with { Seed = 8 }).Result.Ids;
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void DecoderMistakes_AreOneLine()
    {
        using var dir = new TempDir();
        var folder = DecoderGoldenTests.Folder("tiny-gpt2");
        var (code, _, err) = CliTests.Run("capture", "--model", folder, "--text", "a b", "--text-pair", "c", "-o", dir.File("x.safetensors"));
        CliTests.AssertOneLineError(code, err, "--text-pair");
        (code, _, err) = CliTests.Run("capture", "--model", folder, "--text", "a b", "--engine", "onnx", "-o", dir.File("x.safetensors"));
        CliTests.AssertOneLineError(code, err, "decoder");
        (code, _, err) = CliTests.Run("generate", "--model", folder, "--prompt", "a", "--max-new", "0", "-o", dir.File("x.safetensors"));
        CliTests.AssertOneLineError(code, err, "--max-new");
        (code, _, err) = CliTests.Run("generate", "--model", "minilm", "--prompt", "a", "-o", dir.File("x.safetensors"));
        CliTests.AssertOneLineError(code, err, "not a decoder");
        Assert.False(File.Exists(dir.File("x.safetensors")));
    }
}

/// <summary><c>capture --hook</c>: hook points recorded into the capture as <c>hooks.*</c> tensors, for decoders and BERT.</summary>
[Collection("minilm")]
public class HookCaptureCliTests
{
    [Fact]
    public void HookPointsAreRecordedIntoTheCapture()
    {
        using var dir = new TempDir();
        var path = dir.File("cap.safetensors");
        var folder = DecoderGoldenTests.Folder("tiny-llama");
        var (code, output, err) = CliTests.Run("capture", "--model", folder, "--text", "The cat sat on it", "--hook", "blocks.*.hook_resid_post", "--hook", "blocks.0.attn.hook_z", "-o", path);
        Assert.True(code == 0, err);
        Assert.Contains("3 hook tensors", output);
        var cap = AttentionCapture.Load(path);
        var (ids, _, golden) = DecoderGoldenTests.Golden("tiny-llama");
        Assert.Equal(ids, cap.Tokens.Select(t => t.Id).ToArray());
        // The residual stream after each block equals the PyTorch reference's.
        for (int l = 0; l < 2; l++)
        {
            var got = cap.Analysis($"hooks.blocks.{l}.hook_resid_post")!.Tensor;
            var expected = golden.ReadFloat($"resid_post.{l}").Data;
            Assert.Equal(new[] { ids.Length, 64 }, got.Shape);
            for (int i = 0; i < expected.Length; i++) Assert.True(MathF.Abs(expected[i] - got.Data[i]) < 1e-4f);
        }
        Assert.Equal(new[] { ids.Length, 4, 16 }, cap.Analysis("hooks.blocks.0.attn.hook_z")!.Tensor.Shape);

        (code, _, err) = CliTests.Run("capture", "--model", folder, "--text", "a", "--hook", "blocks.9.hook_resid_post", "-o", dir.File("x.safetensors"));
        CliTests.AssertOneLineError(code, err, "no hook point matches");
    }

    [Fact]
    public void BertRecordsHooksOnTheManagedEngineOnly()
    {
        using var dir = new TempDir();
        var path = dir.File("cap.safetensors");
        var (code, _, err) = CliTests.Run("capture", "--text", "The cat sat.", "--hook", "blocks.5.hook_resid_post", "-o", path);
        Assert.True(code == 0, err);
        var cap = AttentionCapture.Load(path);
        Assert.Equal(new[] { cap.Tokens.Count, 384 }, cap.Analysis("hooks.blocks.5.hook_resid_post")!.Tensor.Shape);
        (code, _, err) = CliTests.Run("capture", "--text", "The cat sat.", "--engine", "onnx", "--hook", "blocks.5.hook_resid_post", "-o", dir.File("x.safetensors"));
        CliTests.AssertOneLineError(code, err, "managed engine");
    }
}
