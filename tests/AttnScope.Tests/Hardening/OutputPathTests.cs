using System.Diagnostics;
using AttnScope.Capture.Io;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Hardening;

/// <summary>
/// Where outputs go: an empty path is one line; a character device is written straight and never replaced by a
/// regular file (as root, a rename onto <c>/dev/null</c> would replace the device node); temporary files are named
/// so a later run can recognise and clean them.
/// </summary>
[Collection("minilm")]
public class OutputPathTests
{
    private static string SmallCapture(TempDir dir)
    {
        var path = dir.File("cap.safetensors");
        SyntheticCaptures.Encoder(2, 2, 4).Save(path);
        return path;
    }

    [Fact]
    public void AnEmptyOutputPathIsOneLineForEveryCommand()
    {
        using var dir = new TempDir();
        var cap = SmallCapture(dir);
        var runs = new[]
        {
            new[] { "heatmap", cap, "-o", "" },
            ["render", cap, "--view", "heads", "-o", ""],
            ["html", cap, "-o", ""],
            ["analyze", cap, "--rollout", "-o", ""],
            ["capture", "--text", "hello", "-o", ""],
        };
        foreach (var args in runs)
        {
            var (code, _, err) = CliTests.Run(args);
            // Most commands already refused it (no .png, .html or .safetensors name); capture failed with an internal error.
            CliTests.AssertOneLineError(code, err, args[0] == "capture" ? "the path is empty" : "");
        }
    }

    /// <summary>A character device of our own (the same device as /dev/null, made with mknod) when running as root,
    /// so a failing writer can never break the machine's /dev/null; /dev/null itself otherwise.</summary>
    private static string NullDevice(TempDir dir, string name)
    {
        if (Environment.UserName != "root") return "/dev/null";
        var path = dir.File(name);
        using var p = Process.Start(new ProcessStartInfo("mknod", [path, "c", "1", "3"]) { RedirectStandardError = true })!;
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, p.StandardError.ReadToEnd());
        return path;
    }

    [Fact]
    public void ACharacterDeviceIsWrittenStraightAndStaysADevice()
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new TempDir();
        var cap = SmallCapture(dir);
        var device = NullDevice(dir, "device.safetensors");
        Assert.Equal(FileKind.CharacterDevice, FileKinds.Of(device));
        foreach (var (command, name) in new[] { ("heatmap", "device.png"), ("html", "device.html"), ("analyze", "device.safetensors") })
        {
            var target = device == "/dev/null" || command == "analyze" ? device : NullDevice(dir, name);
            if (command != "analyze" && target == "/dev/null") continue; // the image or page format comes from the name
            string[] args = command == "analyze" ? [command, cap, "--rollout", "-o", target] : [command, cap, "-o", target];
            var (code, _, err) = CliTests.Run(args);
            Assert.True(code == 0, err);
            Assert.Equal(FileKind.CharacterDevice, FileKinds.Of(target));
        }
        // A link to the device is written through, and stays a link.
        var link = dir.File("link-to-device");
        File.CreateSymbolicLink(link, device);
        AtomicFile.WriteAllBytes(link, [1, 2, 3]);
        Assert.Equal(FileKind.CharacterDevice, FileKinds.Of(device));
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void RegularFilesAndAbsentPathsAreStillReplacedAtomically()
    {
        using var dir = new TempDir();
        var path = dir.File("out.bin");
        Assert.Equal(FileKind.Absent, FileKinds.Of(path));
        AtomicFile.WriteAllBytes(path, [1, 2, 3]);
        Assert.Equal(FileKind.Regular, FileKinds.Of(path));
        // A reader holding the old file keeps reading the old bytes: the new file replaced it by a rename.
        using (var old = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            AtomicFile.WriteAllBytes(path, [9, 9, 9, 9]);
            var buffer = new byte[8];
            Assert.Equal(3, old.Read(buffer));
            Assert.Equal([1, 2, 3], buffer[..3]);
        }
        Assert.Equal([9, 9, 9, 9], File.ReadAllBytes(path));
        Assert.Equal(FileKind.Folder, FileKinds.Of(dir.Path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void AWriteThatFailsLeavesNeitherOutputNorTemporaryFile()
    {
        using var dir = new TempDir();
        var path = dir.File("out.bin");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s => { s.Write(new byte[1000]); throw new InvalidOperationException("stop"); }));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Theory]
    [InlineData(".step-0000100.safetensors.0123abcd.tmp", true)]
    [InlineData(".vocab.txt.ffffffff.tmp", true)]
    [InlineData("step-0000100.safetensors", false)]
    [InlineData(".step.0123abcd.tmp.bak", false)]
    [InlineData(".x.0123ABCD.tmp", false)]
    [InlineData(".x.0123abc.tmp", false)]
    [InlineData("notes.tmp", false)]
    public void TemporaryFileNamesAreRecognised(string name, bool temporary) => Assert.Equal(temporary, AtomicFile.IsTemporaryName(name));

    [Fact]
    public void CleaningRemovesOnlyTemporaryFiles()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File(".a.bin.0123abcd.tmp"), new byte[10]);
        File.WriteAllBytes(dir.File("keep.tmp"), new byte[10]);
        File.WriteAllBytes(dir.File("keep.bin"), new byte[10]);
        Assert.Equal(1, AtomicFile.CleanTemporaries(dir.Path));
        Assert.Equal(["keep.bin", "keep.tmp"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order());
    }
}
