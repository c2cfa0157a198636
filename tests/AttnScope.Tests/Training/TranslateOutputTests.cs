using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Training;

/// <summary>translate with a bad output or animation layer: one error line, and neither the capture nor the animation is written.</summary>
public class TranslateOutputTests(TinyRunFixture fixture) : IClassFixture<TinyRunFixture>
{
    [Fact]
    public void LayerOutOfRangeWritesNothing()
    {
        using var dir = new TempDir();
        var cap = dir.File("cap.safetensors");
        var gif = dir.File("steps.gif");
        var (code, output, err) = CliTests.Run("translate", fixture.Run, "--text", "the dog", "--beam", "1", "--capture", cap, "--animate", gif, "--layer", "5");
        CliTests.AssertOneLineError(code, err, "layer 5 is out of range");
        Assert.Equal("", output); // no translation printed before the error
        Assert.False(File.Exists(cap), "the capture must not be written when the command fails");
        Assert.False(File.Exists(gif));
    }

    [Fact]
    public void AnimationPathThatIsAFolderWritesNothing()
    {
        using var dir = new TempDir();
        var cap = dir.File("cap.safetensors");
        var gif = dir.File("steps.gif");
        Directory.CreateDirectory(gif);
        var (code, _, err) = CliTests.Run("translate", fixture.Run, "--text", "the dog", "--beam", "1", "--capture", cap, "--animate", gif);
        CliTests.AssertOneLineError(code, err, "is a folder");
        Assert.False(File.Exists(cap), "the capture must not be written when the animation cannot be");
    }

    [Fact]
    public void CapturePathInAMissingFolderWritesNothing()
    {
        using var dir = new TempDir();
        var gif = dir.File("steps.gif");
        var (code, _, err) = CliTests.Run("translate", fixture.Run, "--text", "the dog", "--beam", "1", "--animate", gif, "--capture", dir.File("missing/cap.safetensors"));
        CliTests.AssertOneLineError(code, err, "does not exist");
        Assert.False(File.Exists(gif), "the animation must not be written when the capture cannot be");
    }
}
