using System.Text;
using System.Text.Json.Nodes;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Text;
using AttnScope.Tests.Training;

namespace AttnScope.Tests.Hardening;

/// <summary>
/// Run folders in bad states: an absurd config is one line; a folder left half-created (no checkpoint yet) can be
/// started again, and resuming it says how; temporary files of a killed write are removed on resume; vocab.txt is
/// written atomically like every other file.
/// </summary>
public class RunFolderHardeningTests(TinyRunFixture fixture) : IClassFixture<TinyRunFixture>
{
    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) Copy(d, Path.Combine(to, Path.GetFileName(d)));
    }

    private string CopyRun(TempDir dir)
    {
        var run = dir.File("run");
        Copy(fixture.Run, run);
        return run;
    }

    private static void EditConfig(string run, Action<JsonObject> edit)
    {
        var path = Path.Combine(run, RunFolder.ConfigFile);
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    [Theory]
    [InlineData("{\"max_length\":1000000000}", "max_length 1000000000 is more than")]
    [InlineData("{\"d_model\":1000000}", "d_model 1000000 is more than")]
    [InlineData("{\"d_ff\":2000000000}", "d_ff 2000000000 is more than")]
    [InlineData("{\"vocab_size\":2000000}", "vocab_size 2000000 is more than")]
    [InlineData("{\"encoder_layers\":100000}", "at most")]
    [InlineData("{\"d_model\":4096,\"d_ff\":65536,\"encoder_layers\":20,\"decoder_layers\":20}", "parameters, more than")]
    public void AnAbsurdModelSizeInARunFolderIsOneLine(string change, string expected)
    {
        using var dir = new TempDir();
        var run = CopyRun(dir);
        EditConfig(run, c =>
        {
            foreach (var (key, value) in JsonNode.Parse(change)!.AsObject().ToList()) c["model"]![key] = value?.DeepClone();
        });
        foreach (var args in new[] { new[] { "translate", run, "--text", "the dog sees the cat ." }, ["evaluate", run] })
        {
            var (code, _, err) = CliTests.Run(args);
            CliTests.AssertOneLineError(code, err, expected);
        }
    }

    [Theory]
    [InlineData("model")]
    [InlineData("training")]
    [InlineData("corpus")]
    public void NullWhereARunConfigNeedsAValueIsOneLine(string key)
    {
        using var dir = new TempDir();
        var run = CopyRun(dir);
        EditConfig(run, c => c[key] = null);
        var (code, _, err) = CliTests.Run("translate", run, "--text", "the dog sees the cat .");
        CliTests.AssertOneLineError(code, err, $"\"{key}\" must be");
    }

    /// <summary>The state a full disk or a kill after creating the folder leaves: config.json, an empty (cut) vocab.txt,
    /// empty checkpoint and probe folders, and a temporary file of the interrupted write.</summary>
    private string HalfCreated(TempDir dir)
    {
        var run = dir.File("half");
        Directory.CreateDirectory(Path.Combine(run, RunFolder.CheckpointFolder));
        Directory.CreateDirectory(Path.Combine(run, RunFolder.ProbeFolder));
        File.Copy(Path.Combine(fixture.Run, RunFolder.ConfigFile), Path.Combine(run, RunFolder.ConfigFile));
        File.WriteAllBytes(Path.Combine(run, SubwordVocabulary.VocabFileName), []);
        File.WriteAllBytes(Path.Combine(run, ".vocab.txt.0badf00d.tmp"), new byte[100]);
        return run;
    }

    [Fact]
    public void AHalfCreatedRunFolderCanBeStartedAgain()
    {
        using var dir = new TempDir();
        var run = HalfCreated(dir);
        Assert.True(RunFolder.IsUnfinished(run));
        var (code, output, err) = CliTests.Run(["train", "--out", run, "--steps", "2", "--no-evaluate", .. TinyRunFixture.TinyArgs]);
        Assert.True(code == 0, err + output);
        Assert.Contains("unfinished run", output);
        Assert.Equal([0, 2], RunFolder.Open(run).Checkpoints().Select(c => c.Step));
        Assert.NotEmpty(File.ReadAllText(Path.Combine(run, SubwordVocabulary.VocabFileName)));
        Assert.False(File.Exists(Path.Combine(run, ".vocab.txt.0badf00d.tmp")));
        Assert.False(RunFolder.IsUnfinished(run));
    }

    [Fact]
    public void ResumingAHalfCreatedRunFolderSaysHowToRecover()
    {
        using var dir = new TempDir();
        var run = HalfCreated(dir);
        var (code, _, err) = CliTests.Run("train", "--out", run, "--resume", "--steps", "2");
        CliTests.AssertOneLineError(code, err, "without --resume");
    }

    [Fact]
    public void AFolderWithAnythingElseIsNotTakenForAnUnfinishedRun()
    {
        using var dir = new TempDir();
        var run = HalfCreated(dir);
        File.WriteAllText(Path.Combine(run, "my-notes.txt"), "keep me");
        Assert.False(RunFolder.IsUnfinished(run));
        var (code, _, err) = CliTests.Run(["train", "--out", run, "--steps", "2", .. TinyRunFixture.TinyArgs]);
        CliTests.AssertOneLineError(code, err, "already holds a run");
        Assert.True(File.Exists(Path.Combine(run, "my-notes.txt")));
        Assert.False(RunFolder.IsUnfinished(fixture.Run)); // a run with checkpoints is never unfinished
    }

    [Fact]
    public void ResumeRemovesTemporaryFilesOfAKilledCheckpointWrite()
    {
        using var dir = new TempDir();
        var run = CopyRun(dir);
        var leftovers = new[]
        {
            Path.Combine(run, RunFolder.CheckpointFolder, ".step-0000006.safetensors.0123abcd.tmp"),
            Path.Combine(run, RunFolder.ProbeFolder, ".step-0000006.safetensors.89abcdef.tmp"),
            Path.Combine(run, ".evaluation.json.00000000.tmp"),
        };
        foreach (var f in leftovers) File.WriteAllBytes(f, new byte[1 << 20]);
        var unrelated = Path.Combine(run, RunFolder.CheckpointFolder, "notes.tmp");
        File.WriteAllText(unrelated, "not ours");
        var (code, output, err) = CliTests.Run("train", "--out", run, "--resume", "--steps", "5", "--no-evaluate");
        Assert.True(code == 0, err + output);
        Assert.Contains("removed temporary files of an interrupted write (3.1 MB)", output);
        Assert.All(leftovers, f => Assert.False(File.Exists(f), f));
        Assert.True(File.Exists(unrelated));
    }

    [Fact]
    public void VocabularyFilesAreReplacedAtomically()
    {
        using var dir = new TempDir();
        var vocab = SubwordVocabulary.Learn(["the dog sees the cat", "der Hund sieht die Katze"], 40);
        var path = Path.Combine(dir.Path, SubwordVocabulary.VocabFileName);
        File.WriteAllText(path, "old vocabulary");
        // A reader of the old file keeps the old bytes: the new file was renamed into place, not written into it.
        using (var old = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            vocab.Save(dir.Path);
            using var reader = new StreamReader(old, Encoding.UTF8);
            Assert.Equal("old vocabulary", reader.ReadToEnd());
        }
        Assert.Equal(vocab.Size, SubwordVocabulary.Load(dir.Path).Size);
        Assert.Single(Directory.GetFiles(dir.Path));
    }
}
