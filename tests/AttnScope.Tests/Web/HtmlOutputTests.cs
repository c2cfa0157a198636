using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Web;

/// <summary><c>attnscope html</c> with an output it should not write: one error line and no file.</summary>
public class HtmlOutputTests
{
    [Theory]
    [InlineData("view.png", "not 'view.png'")]
    [InlineData("view", "not 'view'")]
    [InlineData("taken.html", "is a folder")]
    public void BadOutputIsOneClearLineAndWritesNothing(string name, string says)
    {
        using var dir = new TempDir();
        var cap = dir.File("cap.safetensors");
        SyntheticCaptures.Encoder(1, 2, 4).Save(cap);
        Directory.CreateDirectory(dir.File("taken.html"));
        var (code, _, err) = CliTests.Run("html", cap, "-o", dir.File(name));
        CliTests.AssertOneLineError(code, err, says);
        Assert.Equal(2, Directory.GetFileSystemEntries(dir.Path).Length); // the capture and the folder, nothing else
    }

    [Fact]
    public void ServeOfATranslationRunSaysHowToViewIt()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("config.json"), $"{{\"format\": \"{AttnScope.Training.Checkpoints.RunConfig.FormatId}\"}}");
        var (code, _, err) = CliTests.Run("serve", "--model", dir.Path, "--port", "0");
        CliTests.AssertOneLineError(code, err, "is a translation run"); // it used to say the folder has no model.safetensors
        Assert.Contains("--capture", err);
    }
}
