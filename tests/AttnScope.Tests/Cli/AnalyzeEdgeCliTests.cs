using AttnScope.Tests.Support;
using static AttnScope.Tests.Cli.CliTests;

namespace AttnScope.Tests.Cli;

/// <summary>
/// <c>attnscope analyze</c> with options at their edges: one line, exit 1, the input capture unchanged and no file
/// written next to it.
/// </summary>
public class AnalyzeEdgeCliTests
{
    [Theory]
    [InlineData("--discard-ratio", "NaN", "discard ratio")]
    [InlineData("--discard-ratio", "-0.5", "discard ratio")]
    [InlineData("--discard-ratio", "1", "discard ratio")]
    [InlineData("--start-layer", "-1", "start layer -1 is out of range")]
    [InlineData("--start-layer", "2", "start layer 2 is out of range")]
    [InlineData("--flow-layer", "0", "output layer 0 is out of range")]
    [InlineData("--flow-layer", "3", "output layer 3 is out of range")]
    [InlineData("--flow-rows", "8", "flow row 8 is out of range")]
    [InlineData("--flow-rows", "-1", "--flow-rows: '-1'")]
    [InlineData("--stack", "cross", "no 'cross' stack")]
    [InlineData("--compare", "a text", "--compare chooses what relevance explains: add --relevance")]
    [InlineData("--target", "1", "--target chooses what relevance explains: add --relevance")]
    [InlineData("--relevance", "--target=-1", "--target is for translation captures")]
    [InlineData("--heads", "--fusion=max", "add --rollout")]
    [InlineData("--heads", "--discard-ratio=0.5", "add --rollout")]
    [InlineData("--heads", "--flow-layer=1", "add --flow")]
    [InlineData("-o", "MISSING", "")]
    [InlineData("-o", "DIR", "")]
    [InlineData("-o", "out.txt", "must be a .safetensors capture file")]
    public void Edge_options_fail_in_one_line_and_leave_the_input_alone(string option, string value, string expected)
    {
        using var dir = new TempDir();
        var path = dir.File("c.safetensors");
        SyntheticCaptures.Realistic(8, layers: 2, heads: 2).Save(path);
        var before = File.ReadAllBytes(path);
        if (value == "DIR") Directory.CreateDirectory(value = dir.File("d.safetensors"));
        if (value == "MISSING") value = dir.File(Path.Combine("missing", "x.safetensors"));
        if (value == "out.txt") value = dir.File(value);
        var (code, output, err) = Run("analyze", path, option, value);
        Assert.True(code == 1, $"exit {code}: {output} {err}");
        Assert.DoesNotContain("internal error", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.StartsWith("attnscope: error: ", err);
        Assert.Contains(expected, err);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["c.safetensors"], Directory.GetFiles(dir.Path, "*", SearchOption.AllDirectories).Select(Path.GetFileName));
    }
}
