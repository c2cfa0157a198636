using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using AttnScope.Capture;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Capture;

/// <summary>
/// Reads a capture written by <c>attnscope capture</c> with Python and numpy alone, running the very reader that
/// docs/capture-format.md shows users (Debian's /usr/bin/python3 with python3-numpy, installed by
/// scripts/setup-debian.sh). numpy's parser shares nothing with AttnScope's, so this proves the file is what the
/// documentation promises. Missing Python or numpy fails the test with the package to install; it never skips.
/// </summary>
[Collection("minilm")]
public class NumpyReaderTests
{
    private const string Python = "/usr/bin/python3";

    private static string DocumentedReader()
    {
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "capture-format.md"));
        var m = Regex.Match(doc, "```python\n(.*?)```", RegexOptions.Singleline);
        Assert.True(m.Success, "docs/capture-format.md has no python example");
        return m.Groups[1].Value;
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AttnScope.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    [Fact]
    public void TheDocumentedNumpyReaderReadsTheCatSentenceCapture()
    {
        Assert.True(File.Exists(Python), $"{Python} is missing: run scripts/setup-debian.sh (Debian packages python3 python3-numpy)");
        using var dir = new TempDir();
        var cap = dir.File("cap.safetensors");
        var (code, _, err) = CliTests.Run("capture", "--model", "minilm", "--text", "The cat sat on the mat.", "-o", cap);
        Assert.True(code == 0, err);

        var script = DocumentedReader().Replace("\"cap.safetensors\"", "\"" + cap + "\"") + """

import sys
print("RESULT", att.dtype, list(att.shape), repr(float(att[3, 7, 2, 5])), repr(float(att.sum(axis=-1).min())),
      " ".join(t["text"] for t in tokens), tokens[6]["start"], tokens[6]["end"], meta["source"])
""";
        File.WriteAllText(dir.File("read.py"), script);
        var psi = new ProcessStartInfo(Python, dir.File("read.py")) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"python failed (numpy missing? install python3-numpy): {stderr}");

        var line = stdout.Split('\n').Single(l => l.StartsWith("RESULT "));
        var expected = AttentionCapture.Load(cap);
        float v = expected.Stack("encoder").Attention[3, 7, 2, 5];
        Assert.StartsWith("RESULT float32 [6, 12, 9, 9] ", line);
        var parts = line.Split(' ');
        Assert.Equal(v, float.Parse(parts[6], CultureInfo.InvariantCulture));
        Assert.InRange(double.Parse(parts[7], CultureInfo.InvariantCulture), 0.9999, 1.0001);
        Assert.Contains("[CLS] the cat sat on the mat . [SEP] 19 22 managed", line);
    }
}
