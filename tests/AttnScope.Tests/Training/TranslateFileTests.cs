using System.Text;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Training;

/// <summary><c>translate --input FILE [--output FILE]</c> and <c>evaluate --output FILE</c>: every line translated by
/// one process, the same text as one <c>translate --text</c> per line, in input order.</summary>
public class TranslateFileTests(TinyRunFixture fixture) : IClassFixture<TinyRunFixture>
{
    private static readonly string[] Lines =
    [
        "the dog sees the cat .", "", "a small bird sleeps .", "the cat runs .", "the woman reads a book .", "the man sees the dog .",
    ];

    private string One(string text, int beam)
    {
        var (code, output, err) = CliTests.Run("translate", fixture.Run, "--text", text, "--beam", beam.ToString());
        Assert.True(code == 0, err);
        return output.TrimEnd('\n', '\r');
    }

    [Fact]
    public void InputFileIsTranslatedLineByLineInOrderAcrossThreads()
    {
        using var dir = new TempDir();
        var input = dir.File("in.txt");
        File.WriteAllLines(input, Lines);
        var outPath = dir.File("out.txt");
        var (code, output, err) = CliTests.Run("translate", fixture.Run, "--input", input, "--output", outPath, "--threads", "3", "--beam", "2");
        Assert.True(code == 0, err);
        Assert.Equal("", output);
        Assert.Contains("translated 6 lines", err);
        Assert.Contains("3 thread(s)", err);
        var written = File.ReadAllText(outPath, Encoding.UTF8).Split('\n');
        Assert.Equal(Lines.Length + 1, written.Length); // one line each, newline-terminated
        Assert.Equal("", written[^1]);
        for (int i = 0; i < Lines.Length; i++)
            Assert.Equal(Lines[i].Length == 0 ? "" : One(Lines[i], 2), written[i]);

        // without --output the translations go to standard output, one a line
        (code, output, err) = CliTests.Run("translate", fixture.Run, "--input", input, "--threads", "1", "--beam", "2");
        Assert.True(code == 0, err);
        Assert.Equal(written[..^1], output.Split('\n')[..^1].Select(l => l.TrimEnd('\r')));
    }

    [Fact]
    public void BadInputFileUseIsAOneLineError()
    {
        using var dir = new TempDir();
        var input = dir.File("in.txt");
        File.WriteAllLines(input, Lines);
        var (code, _, err) = CliTests.Run("translate", fixture.Run, "--input", input, "--text", "x");
        CliTests.AssertOneLineError(code, err, "not both");
        (code, _, err) = CliTests.Run("translate", fixture.Run, "--text", "x", "--output", dir.File("o.txt"));
        CliTests.AssertOneLineError(code, err, "give --input too");
        (code, _, err) = CliTests.Run("translate", fixture.Run, "--input", dir.File("missing.txt"));
        CliTests.AssertOneLineError(code, err, "input file not found");
        (code, _, err) = CliTests.Run("translate", fixture.Run, "--input", input, "--capture", dir.File("c.safetensors"));
        CliTests.AssertOneLineError(code, err, "--capture and --animate");
        File.WriteAllBytes(dir.File("bad.txt"), [0x48, 0xC3, 0x28, 0x0A]);
        (code, _, err) = CliTests.Run("translate", fixture.Run, "--input", dir.File("bad.txt"));
        CliTests.AssertOneLineError(code, err, "not valid UTF-8");
        (code, _, err) = CliTests.Run("translate", fixture.Run, "--input", input, "--threads", "0");
        CliTests.AssertOneLineError(code, err, "--threads 0");
    }

    [Fact]
    public void EvaluateWritesItsHypotheses()
    {
        using var dir = new TempDir();
        var tsv = dir.File("test.tsv");
        File.WriteAllText(tsv, "the dog sleeps .\tder Hund schläft .\nthe cat sees the dog .\tdie Katze sieht den Hund .\nthe man reads .\tder Mann liest .\n");
        var hyps = dir.File("hyps.txt");
        var (code, output, err) = CliTests.Run("evaluate", fixture.Run, "--corpus", tsv, "--output", hyps, "--threads", "2");
        Assert.True(code == 0, err);
        Assert.Contains("on 3 sentences (greedy", output);
        Assert.Contains("wrote", err);
        var written = File.ReadAllLines(hyps, Encoding.UTF8);
        Assert.Equal(["the dog sleeps .", "the cat sees the dog .", "the man reads ."], written.Select((_, i) => File.ReadAllLines(tsv)[i].Split('\t')[0]));
        Assert.Equal(new[] { "the dog sleeps .", "the cat sees the dog .", "the man reads ." }.Select(s => One(s, 1)), written);
    }
}
