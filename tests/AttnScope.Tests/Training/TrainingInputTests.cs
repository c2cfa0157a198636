using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Training;

/// <summary>Odd values on the training command line: one clear error line, exit 1, and no run folder left behind.</summary>
public class TrainingInputTests
{
    [Theory]
    [InlineData("--builtin-pairs", "-5", "builtin_train_pairs -5")]
    [InlineData("--builtin-pairs", "0", "builtin_train_pairs 0")]
    [InlineData("--builtin-test-pairs", "-1", "builtin_test_pairs -1")]
    public void BadBuiltinPairCountsAreRejectedBeforeAnyFolderIsMade(string option, string value, string says)
    {
        using var dir = new TempDir();
        var run = dir.File("run");
        var (code, _, err) = CliTests.Run("train", "--out", run, "--steps", "1", "--vocab-size", "50", option, value);
        CliTests.AssertOneLineError(code, err, says);
        Assert.False(Directory.Exists(run), "a rejected run leaves no folder behind");
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    public void MinutesThatAreNotANumberAreRejected(string minutes)
    {
        // NaN compared as "not negative" and never as "time is up": the run trained forever.
        using var dir = new TempDir();
        var run = dir.File("run");
        var (code, _, err) = CliTests.Run("train", "--out", run, "--minutes", minutes, "--steps", "1", "--vocab-size", "50", "--builtin-pairs", "5");
        CliTests.AssertOneLineError(code, err, $"--minutes {minutes}");
        Assert.False(Directory.Exists(run), "a rejected run leaves no folder behind");
    }

    [Fact]
    public void AnAnimationPathThatCannotBeWrittenIsRejectedBeforeTraining()
    {
        using var dir = new TempDir();
        var run = dir.File("run");
        var gif = dir.File("probe.gif");
        Directory.CreateDirectory(gif);
        var (code, output, err) = CliTests.Run("train", "--out", run, "--steps", "1", "--vocab-size", "50", "--builtin-pairs", "5",
            "--builtin-test-pairs", "2", "--layers", "1", "--d-model", "16", "--heads", "2", "--d-ff", "32", "--animate", gif);
        CliTests.AssertOneLineError(code, err, "is a folder");
        Assert.DoesNotContain("step", output, StringComparison.Ordinal); // no training happened first
        Assert.False(Directory.Exists(run), "a rejected run leaves no folder behind");
    }

    [Theory]
    [InlineData("translate", "--text", "a")]
    [InlineData("evaluate")]
    public void ACaptureFileGivenAsTheRunFolderIsCalledAFile(params string[] rest)
    {
        using var dir = new TempDir();
        var cap = dir.File("bert.safetensors");
        SyntheticCaptures.Encoder(1, 2, 4).Save(cap);
        var (code, _, err) = CliTests.Run([rest[0], cap, .. rest[1..]]);
        CliTests.AssertOneLineError(code, err, "is a file, not a run folder"); // it used to say the file "does not exist"
    }
}
