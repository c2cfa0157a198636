using AttnScope.Analyses.Results;
using AttnScope.Cli;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using static AttnScope.Tests.Cli.CliTests;

namespace AttnScope.Tests.Cli;

/// <summary><c>attnscope analyze</c>: what it computes by default, what it keeps, and how it fails.</summary>
[Collection("minilm")]
public class AnalyzeCliTests
{
    [Fact]
    public void Analyze_on_a_real_capture_adds_every_applicable_analysis_in_place()
    {
        using var dir = new TempDir();
        var path = dir.File("c.safetensors");
        var (code, _, err) = Run("capture", "--text", "The cat sat on the mat because it was tired.", "--qkv", "-o", path);
        Assert.True(code == 0, err);
        (code, var output, err) = Run("analyze", path);
        Assert.True(code == 0, err);
        var cap = AttentionCapture.Load(path);
        Assert.NotNull(RolloutResult.From(cap, AttentionStack.Encoder));
        Assert.NotNull(FlowResult.From(cap, AttentionStack.Encoder));
        var heads = HeadStatsResult.From(cap, AttentionStack.Encoder)!;
        Assert.Equal(6, heads.Layers);
        Assert.Equal(12, heads.Heads);
        var norm = NormAttentionResult.From(cap, AttentionStack.Encoder)!;
        Assert.Equal("value_output", norm.Vectors);
        Assert.Equal(cap.Stack(AttentionStack.Encoder).Attention.Shape, norm.Norms.Shape);
        Assert.Contains("encoder rollout", output);
        Assert.Contains("encoder heads (6 × 12)", output);
        // The original attention is kept untouched next to the analyses.
        Assert.Equal(13, cap.Tokens.Count);
    }

    [Fact]
    public void Only_the_named_analyses_with_their_options_and_to_another_file()
    {
        using var dir = new TempDir();
        var src = dir.File("in.safetensors");
        SyntheticCaptures.Realistic(12, layers: 3, heads: 2).Save(src);
        var before = File.ReadAllBytes(src);
        var dst = dir.File("out.safetensors");
        var (code, _, err) = Run("analyze", src, "--rollout", "--fusion", "max", "--discard-ratio", "0.25", "--start-layer", "1", "-o", dst);
        Assert.True(code == 0, err);
        Assert.Equal(before, File.ReadAllBytes(src));
        var cap = AttentionCapture.Load(dst);
        Assert.Equal(["encoder.rollout"], cap.Analyses.Keys);
        var r = RolloutResult.From(cap, AttentionStack.Encoder)!;
        Assert.Equal((HeadFusion.Max, 0.25f, 1, 2), (r.Fusion, r.DiscardRatio, r.StartLayer, r.Steps));
    }

    [Fact]
    public void Translation_captures_get_stack_specific_analyses_and_warnings_for_cross()
    {
        using var dir = new TempDir();
        var path = dir.File("t.safetensors");
        Web.DecodingStepCaptures.Translation().Save(path);
        var (code, _, err) = Run("analyze", path, "--rollout", "--heads");
        Assert.True(code == 0, err);
        Assert.Contains("rollout skips the cross stack", err);
        var cap = AttentionCapture.Load(path);
        Assert.NotNull(RolloutResult.From(cap, AttentionStack.Decoder));
        Assert.Null(RolloutResult.From(cap, AttentionStack.Cross));
        Assert.NotNull(HeadStatsResult.From(cap, AttentionStack.Cross));
        Assert.Contains(AttnScope.Analyses.Heads.HeadStatNames.Induction, HeadStatsResult.From(cap, AttentionStack.Decoder)!.StatNames);
    }

    [Fact]
    public void Bad_requests_fail_with_one_line_and_leave_the_capture_as_it_was()
    {
        using var dir = new TempDir();
        var path = dir.File("c.safetensors");
        SyntheticCaptures.Encoder(2, 2, 5).Save(path);
        var before = File.ReadAllBytes(path);
        var (code, _, err) = Run("analyze", path, "--norm");
        AssertOneLineError(code, err, "--qkv");
        (code, _, err) = Run("analyze", path, "--rollout", "--start-layer", "7");
        AssertOneLineError(code, err, "start layer 7");
        (code, _, err) = Run("analyze", path, "--fusion", "median");
        AssertOneLineError(code, err, "unknown head fusion");
        (code, _, err) = Run("analyze", path, "--stack", "cross");
        AssertOneLineError(code, err, "no 'cross'");
        (code, _, err) = Run("analyze", path, "-o", dir.File("x.png"));
        AssertOneLineError(code, err, ".safetensors");
        (code, _, err) = Run("analyze", dir.File("missing.safetensors"));
        AssertOneLineError(code, err, "not found");
        Assert.Equal(before, File.ReadAllBytes(path));
    }
}

/// <summary><c>analyze --relevance</c> on a translation capture made by <c>translate --capture</c> from a trained run.</summary>
public class AnalyzeTranslationCliTests(Training.TinyRunFixture fixture) : IClassFixture<Training.TinyRunFixture>
{
    [Fact]
    public void Relevance_of_a_target_token_and_every_stack_analysis_on_a_translation_capture()
    {
        using var dir = new TempDir();
        var path = dir.File("t.safetensors");
        var (code, _, err) = Run("translate", fixture.Run, "--text", "the dog sleeps", "--beam", "1", "--capture", path);
        Assert.True(code == 0, err);
        (code, var output, err) = Run("analyze", path, "--relevance", "--target", "1", "--heads", "--rollout");
        Assert.True(code == 0, err);
        Assert.Contains("relevance for log p(", output);
        var cap = AttentionCapture.Load(path);
        var s = SaliencyResult.From(cap)!;
        Assert.Equal("log_prob", (string?)s.Info["target"]);
        Assert.Equal(1, (int?)s.Info["target_index"]);
        Assert.Equal(cap.Tokens.Count, s.Source.Shape[0]);
        Assert.Equal(cap.TargetTokens.Count, s.Target!.Shape[0]);
        Assert.Equal(["cross", "decoder", "encoder"], s.Relevance.Keys.Order());
        Assert.NotNull(HeadStatsResult.From(cap, AttentionStack.Cross));
        Assert.NotNull(RolloutResult.From(cap, AttentionStack.Encoder));

        // Wrong target options for the kind of model are one clear line.
        (code, _, err) = Run("analyze", path, "--relevance", "--compare", "x");
        AssertOneLineError(code, err, "--compare is for embedding models");
        (code, _, err) = Run("analyze", path, "--relevance", "--target", "99");
        Assert.Equal(1, code);
        Assert.Contains("attnscope: error:", err);
    }
}

[Collection("minilm")]
public class AnalyzeEmbeddingCliTests
{
    [Fact]
    public void Relevance_of_the_cosine_with_a_compare_text_on_the_default_model()
    {
        using var dir = new TempDir();
        var path = dir.File("b.safetensors");
        var (code, _, err) = Run("capture", "--text", "I deposited the money at the bank.", "-o", path);
        Assert.True(code == 0, err);
        (code, var output, err) = Run("analyze", path, "--relevance", "--compare", "We sat on the river bank.");
        Assert.True(code == 0, err);
        Assert.Contains("relevance for cos(text, compare)", output);
        var s = SaliencyResult.From(AttentionCapture.Load(path))!;
        Assert.Equal("cosine", (string?)s.Info["target"]);
        Assert.Equal("We sat on the river bank.", (string?)s.Info["compare_text"]);
        Assert.Equal(10, s.Source.Shape[0]);
        (code, _, err) = Run("analyze", path, "--relevance");
        AssertOneLineError(code, err, "--compare TEXT");
        (code, _, err) = Run("analyze", path, "--relevance", "--target", "2");
        AssertOneLineError(code, err, "--target is for translation captures");
    }
}

public class AnalyzeLongInputCliTests
{
    [Fact]
    public void Long_inputs_leave_flow_out_unless_asked_and_flow_rows_computes_and_draws_only_those_rows()
    {
        using var dir = new TempDir();
        var path = dir.File("long.safetensors");
        int n = AnalyzeCommand.DefaultFlowTokens + 8;
        SyntheticCaptures.Realistic(n, layers: 1, heads: 1).Save(path);
        var (code, output, err) = Run("analyze", path);
        Assert.True(code == 0, err);
        Assert.Contains("flow skipped", output);
        Assert.Null(FlowResult.From(AttentionCapture.Load(path), AttentionStack.Encoder));

        (code, output, err) = Run("analyze", path, "--flow-rows", "0, 3");
        Assert.True(code == 0, err);
        var f = FlowResult.From(AttentionCapture.Load(path), AttentionStack.Encoder)!;
        Assert.Equal([0, 3], f.Rows);
        var png = dir.File("flow.png");
        (code, _, err) = Run("render", path, "--view", "flow", "-o", png);
        Assert.True(code == 0, err);
        using var bmp = SkiaSharp.SKBitmap.Decode(png);
        Assert.True(bmp.Height < bmp.Width, "two rows of flow make a wide, short figure");

        (code, _, err) = Run("analyze", path, "--flow-rows", "x");
        AssertOneLineError(code, err, "not a token index");
        (code, _, err) = Run("analyze", path, "--flow-rows", $"{n}");
        AssertOneLineError(code, err, "out of range");
    }
}

public class AnalyzeFlowLayersCliTests
{
    [Fact]
    public void Flow_layers_animate_as_a_gif_with_one_frame_per_layer()
    {
        using var dir = new TempDir();
        var path = dir.File("c.safetensors");
        SyntheticCaptures.Realistic(8, layers: 3, heads: 2).Save(path);
        var gif = dir.File("flow.gif");
        var (code, _, err) = Run("render", path, "--view", "flow", "-o", gif);
        AssertOneLineError(code, err, "--flow-layers");
        (code, _, err) = Run("analyze", path, "--flow-layers", "--flow-layer", "2");
        AssertOneLineError(code, err, "leave out --flow-layer");
        (code, var output, err) = Run("analyze", path, "--flow-layers");
        Assert.True(code == 0, err);
        Assert.NotNull(FlowResult.From(AttentionCapture.Load(path), AttentionStack.Encoder));
        (code, output, err) = Run("render", path, "--view", "flow", "-o", gif);
        Assert.True(code == 0, err);
        Assert.Contains("3 frames", output);
        using var codec = SkiaSharp.SKCodec.Create(gif);
        Assert.Equal(3, codec.FrameCount);
    }
}
