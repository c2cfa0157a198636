using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using AttnScope.Capture.Long;
using AttnScope.Sources;
using AttnScope.Sources.Long;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Long;

/// <summary>
/// The long-capture reader that docs/capture-format.md shows (numpy alone, U8 decoded as (q/255)²) reads a u8 file
/// and an f16 file written by AttnScope to the same values AttnScope decodes, rows and pyramid alike.
/// </summary>
public class LongNumpyReaderTests
{
    private const string Python = "/usr/bin/python3";

    private static string DocumentedReader()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AttnScope.slnx"))) dir = dir.Parent;
        var doc = File.ReadAllText(Path.Combine(dir!.FullName, "docs", "capture-format.md"));
        var block = Regex.Matches(doc, "```python\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value)
            .SingleOrDefault(b => b.Contains("def load_long"));
        Assert.True(block is not null, "docs/capture-format.md has no load_long example");
        return block!;
    }

    [Theory]
    [InlineData("u8")]
    [InlineData("f16")]
    public void TheDocumentedNumpyReaderDecodesWhatAttnScopeDecodes(string storage)
    {
        Assert.True(File.Exists(Python), $"{Python} is missing: run scripts/setup-debian.sh (Debian packages python3 python3-numpy)");
        using var dir = new TempDir();
        var session = DecoderSession.Open(LongModel.Write(dir.Path, 4096));
        var path = dir.File("long.safetensors");
        session.CaptureLong(LongModel.Text(150), new LongCaptureOptions { Storage = AttentionQuantizer.Parse(storage), Layers = [1], Heads = [3], Pyramid = true }, path);
        using var cap = LongCapture.Open(path);
        int m = cap.Layout.Tokens, b = cap.Layout.Blocks[1];
        int q = m - 5, k = m / 3;
        var (row, _, _) = cap.Tile(1, 3, false, 1, q, k, 1, 1);
        var (mean, _, _) = cap.Tile(0, 2, true, b, 2, 1, 1, 1);

        var script = DocumentedReader().Replace("\"long.safetensors\"", "\"" + path + "\"") + $$"""

r = tensors["decoder.rows.l1.h3"]
p = tensors["decoder.pyramid.mean.b{{b}}"]
print("RESULT", r.shape[0], repr(float(r[{{q}}, {{k}}])), repr(float(p[0, 2, 2, 1])), len(tokens))
""";
        File.WriteAllText(dir.File("read.py"), script);
        var psi = new ProcessStartInfo(Python, dir.File("read.py")) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var proc = Process.Start(psi)!;
        var stdout = proc.StandardOutput.ReadToEnd();
        var stderr = proc.StandardError.ReadToEnd();
        proc.WaitForExit();
        Assert.True(proc.ExitCode == 0, $"python failed (numpy missing? install python3-numpy): {stderr}");
        var parts = stdout.Split('\n').Single(l => l.StartsWith("RESULT ")).Split(' ');
        Assert.Equal(m, int.Parse(parts[1], CultureInfo.InvariantCulture));
        Assert.Equal(row[0], float.Parse(parts[2], CultureInfo.InvariantCulture), 1e-6f);
        Assert.Equal(mean[0], float.Parse(parts[3], CultureInfo.InvariantCulture), 1e-6f);
        Assert.Equal(m, int.Parse(parts[4], CultureInfo.InvariantCulture));
        Assert.True(row[0] > 0, "the sampled probability is 0; pick another cell");
    }
}
