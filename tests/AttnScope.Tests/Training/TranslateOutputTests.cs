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
    public void LayerWithoutAnAnimationIsAnError()
    {
        using var dir = new TempDir();
        var (code, output, err) = CliTests.Run("translate", fixture.Run, "--text", "the dog", "--beam", "1", "--layer", "0");
        CliTests.AssertOneLineError(code, err, "--animate"); // it used to be ignored without a word
        Assert.Equal("", output);
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

    [Fact]
    public void TranslationTextCannotDriveTheTerminal()
    {
        // A corpus can teach the vocabulary pieces holding control characters; give every piece an escape sequence.
        using var dir = new TempDir();
        var copy = dir.File("run");
        CopyFolder(fixture.Run, copy);
        var vocab = Path.Combine(copy, "vocab.txt");
        var lines = File.ReadAllLines(vocab);
        for (int i = 4; i < lines.Length; i++)
            lines[i] = lines[i].StartsWith("##", StringComparison.Ordinal) ? "##\u001b[2J" + lines[i][2..] : "\u001b[2J" + lines[i];
        File.WriteAllLines(vocab, lines);
        var (code, output, err) = CliTests.Run("translate", copy, "--text", "the dog", "--beam", "1");
        Assert.True(code == 0, err);
        Assert.Contains("[2J", output);          // the pieces were produced ...
        Assert.False(output.Contains('\u001b'), output);   // ... but never as a raw escape character
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyFolder(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
