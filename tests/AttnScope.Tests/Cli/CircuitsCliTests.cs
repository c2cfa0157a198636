using AttnScope.Analyses.Circuits;
using AttnScope.Capture;
using AttnScope.Tests.Circuits;
using AttnScope.Tests.Core;
using AttnScope.Tests.Support;
using Xunit;

namespace AttnScope.Tests.Cli;

/// <summary><c>attnscope circuits …</c> on the tiny golden decoders (their own tokenizers).</summary>
public class CircuitsCliTests
{
    private static string Gpt2 => DecoderGoldenTests.Folder("tiny-gpt2");

    [Fact]
    public void Dla_WritesACaptureWhoseMapsMatchTheLibraryAndRender()
    {
        using var dir = new TempDir();
        var path = dir.File("dla.safetensors");
        var (code, output, err) = CliTests.Run("circuits", "dla", "--model", Gpt2, "--text", "the cat sat on the mat", "--target", "#5", "--distractor", "#7", "-o", path);
        Assert.True(code == 0, err);
        Assert.Contains("components sum to", output);
        var cap = AttentionCapture.Load(path);
        var heads = CircuitMap.From(cap, "dla_heads")!;
        var model = CircuitModels.Load("tiny-gpt2");
        var ids = cap.Tokens.Select(t => t.Id).ToArray();
        Assert.Equal(DirectLogitAttribution.Run(model, ids, new LogitDiff(5, 7)).HeadValues, heads.Values.Data);
        Assert.NotNull(CircuitMap.From(cap, "dla_layers"));
        var png = dir.File("dla.png");
        (code, _, err) = CliTests.Run("circuits", "dla", "--model", Gpt2, "--text", "the cat sat on the mat", "--target", "#5", "--distractor", "#7", "-o", png);
        Assert.True(code == 0, err);
        Assert.True(new FileInfo(png).Length > 1000);
    }

    [Fact]
    public void LensAblateAndHeads_WriteFigures()
    {
        using var dir = new TempDir();
        var (code, output, err) = CliTests.Run("circuits", "lens", "--model", Gpt2, "--text", "the cat sat", "--token", "#9", "-o", dir.File("lens.png"));
        Assert.True(code == 0, err);
        Assert.Contains("embed", output);
        (code, _, err) = CliTests.Run("circuits", "ablate", "--model", Gpt2, "--text", "the cat sat", "--target", "#5", "--distractor", "#7", "--mean", "-o", dir.File("ablate.svg"));
        Assert.True(code == 0, err);
        (code, output, err) = CliTests.Run("circuits", "heads", "--model", DecoderGoldenTests.Folder("tiny-llama"), "--length", "10", "--batch", "2", "-o", dir.File("heads.safetensors"));
        Assert.True(code == 0, err);
        var cap = AttentionCapture.Load(dir.File("heads.safetensors"));
        Assert.Equal(21, cap.Tokens.Count);
        Assert.NotNull(CircuitMap.From(cap, "induction_head"));
        Assert.Contains("detect_head", output);
    }

    [Fact]
    public void Patch_RecoversPerHeadAndRefusesUnequalLengths()
    {
        using var dir = new TempDir();
        var (code, output, err) = CliTests.Run("circuits", "patch", "--model", Gpt2, "--clean", "the cat sat on the mat", "--corrupted", "the cat sat on the cat",
            "--target", "#5", "--distractor", "#7", "--site", "resid", "-o", dir.File("patch.safetensors"));
        Assert.True(code == 0, err);
        var map = CircuitMap.From(AttentionCapture.Load(dir.File("patch.safetensors")), "patch_resid_pre")!;
        // one token differs ('c' for 'm'): entering layer 0, patching that position restores everything, any other nothing
        var row0 = Enumerable.Range(0, map.Cols).Select(p => map[0, p]).ToList();
        Assert.Single(row0, v => MathF.Abs(v - 1) < 1e-4f);
        Assert.Equal(map.Cols - 1, row0.Count(v => MathF.Abs(v) < 1e-5f));
        Assert.Contains(map.ColumnLabels, l => l.Contains('/')); // the changed position is labelled clean/corrupted
        (code, _, err) = CliTests.Run("circuits", "patch", "--model", Gpt2, "--clean", "the cat sat on the mat", "--corrupted", "the cat",
            "--target", "#5", "--distractor", "#7", "-o", dir.File("p.png"));
        Assert.Equal(1, code);
        Assert.Contains("same token length", err);
        Assert.Single(err.Trim().Split('\n'), l => l.Contains("error"));
    }

    [Fact]
    public void BadTokensAreOneLine()
    {
        using var dir = new TempDir();
        var (code, _, err) = CliTests.Run("circuits", "dla", "--model", Gpt2, "--text", "the cat", "--target", "the cat sat on the mat", "--distractor", "#7", "-o", dir.File("x.png"));
        Assert.Equal(1, code);
        Assert.Contains("give text that is one token, or #ID", err);
        (code, _, err) = CliTests.Run("circuits", "dla", "--model", Gpt2, "--text", "the cat", "--target", "#99999", "--distractor", "#7", "-o", dir.File("x.png"));
        Assert.Equal(1, code);
        Assert.Contains("not a token id", err);
        (code, _, err) = CliTests.Run("circuits", "heads", "--model", Gpt2, "--kind", "nope", "-o", dir.File("x.png"));
        Assert.Equal(1, code);
        Assert.Contains("--kind 'nope'", err);
    }
}
