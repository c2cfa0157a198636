using AttnScope.Capture;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Hardening;

/// <summary>
/// Text read from files (model names, sources, warnings) and text quoted by errors reach the terminal escaped, as
/// token text already does: no control character or escape sequence is ever printed raw.
/// </summary>
public class TerminalEscapingTests
{
    private const string Escape = "\u001b[2J\u001b]0;owned\u0007";

    private static void AssertNoControlCharacters(string text)
    {
        foreach (var line in text.Split('\n'))
            Assert.DoesNotContain(line, c => char.IsControl(c) && c != '\r');
    }

    [Fact]
    public void InspectPrintsMetadataFromTheFileEscaped()
    {
        using var dir = new TempDir();
        var path = dir.File("cap.safetensors");
        var cap = SyntheticCaptures.Encoder(1, 2, 3);
        var meta = new CaptureMetadata
        {
            ModelId = "model" + Escape, Architecture = "bert\r\nfake: line", Source = "managed\u0085" + Escape,
            Texts = ["text"], Warnings = ["careful" + Escape + "\nsecond line"],
        };
        new AttentionCapture(meta, cap.Tokens, cap.Stacks.Values).Save(path);
        var (code, output, err) = CliTests.Run("inspect", path);
        Assert.True(code == 0, err);
        AssertNoControlCharacters(output);
        Assert.Contains("model\\u001b[2J\\u001b]0;owned\\u0007 (bert\\r\\nfake: line)", output);
        Assert.Contains("source:       managed\\u0085", output);
        Assert.Contains("warning:      careful\\u001b[2J", output);
        Assert.Contains("\\nsecond line", output);
    }

    [Fact]
    public void ErrorsQuotingTextPrintItEscapedOnOneLine()
    {
        var (code, _, err) = CliTests.Run("capture", "--model", "no-such-model" + Escape + "\nline two", "--text", "x", "-o", "out.safetensors");
        CliTests.AssertOneLineError(code, err, "unknown model 'no-such-model\\u001b[2J");
        AssertNoControlCharacters(err.TrimEnd('\n'));

        (code, _, err) = CliTests.Run("inspect", "missing" + Escape + ".safetensors");
        CliTests.AssertOneLineError(code, err, "missing\\u001b[2J");
        AssertNoControlCharacters(err.TrimEnd('\n'));
    }

    [Fact]
    public void WarningsAndNotesAreEscaped()
    {
        var err = new StringWriter();
        var output = new AttnScope.Cli.CliOutput(new StringWriter(), err);
        output.Warn("cut at \"a" + Escape + "\"");
        output.Note("config from" + Escape);
        Assert.Equal(2, err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        AssertNoControlCharacters(err.ToString().Replace("\n", ""));
        Assert.Contains("attnscope: warning: cut at \"a\\u001b[2J", err.ToString());
    }

    [Fact]
    public void EscapedKeepsOrdinaryTextAsItIs()
    {
        Assert.Equal("", TokenText.Escaped(""));
        Assert.Equal("   ", TokenText.Escaped("   "));
        Assert.Equal("Zürich 北京 👍 — \"quoted\"", TokenText.Escaped("Zürich 北京 👍 — \"quoted\""));
        Assert.Equal("a\\tb\\u0000c\\u202e", TokenText.Escaped("a\tb\0c\u202e"));
    }
}
