using System.Text;
using AttnScope.Capture;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Hardening;

/// <summary>
/// Hostile capture files: each is one line and exit 1 for every command that reads captures, never an internal
/// error, and a small file declaring a huge shape is refused before views allocate for it.
/// </summary>
public class CaptureFileHardeningTests
{
    private static string Write(TempDir dir, string name, byte[] bytes)
    {
        var path = dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void InvalidUtf8InTheHeaderIsOneLine()
    {
        using var dir = new TempDir();
        // A valid capture header whose model name holds the bytes FF FE (never valid UTF-8).
        var header = Encoding.UTF8.GetBytes($"{{\"__metadata__\":{{\"format\":\"{RawFiles.CaptureFormat}\",\"model\":\"AB\",\"tokens\":\"[]\"}}}}");
        int at = Encoding.UTF8.GetString(header).IndexOf("AB", StringComparison.Ordinal);
        header[at] = 0xFF;
        header[at + 1] = 0xFE;
        var path = Write(dir, "bad.safetensors", RawFiles.SafeTensors(header));
        foreach (var args in new[] { new[] { "inspect", path }, ["html", path, "-o", dir.File("p.html")] })
        {
            var (code, _, err) = CliTests.Run(args);
            CliTests.AssertOneLineError(code, err, "not valid UTF-8");
        }
        Assert.False(File.Exists(dir.File("p.html")));
    }

    [Fact]
    public void HugeShapesWithAZeroDimensionAreOneLine()
    {
        using var dir = new TempDir();
        var good = RawFiles.Capture([1, 1, 2, 2], 2);
        // The same capture with an empty query tensor whose other dimensions are as large as int allows.
        var cap = AttentionCapture.FromBytes(good);
        var header = new Dictionary<string, object>
        {
            ["__metadata__"] = new Dictionary<string, string> { ["format"] = RawFiles.CaptureFormat, ["tokens"] = RawFiles.TokensJson(2) },
            ["encoder.attention"] = new Dictionary<string, object> { ["dtype"] = "F32", ["shape"] = new[] { 1, 1, 2, 2 }, ["data_offsets"] = new[] { 0, 16 } },
            ["encoder.query"] = new Dictionary<string, object> { ["dtype"] = "F32", ["shape"] = new[] { int.MaxValue, int.MaxValue, 0, 5 }, ["data_offsets"] = new[] { 16, 16 } },
        };
        var data = new byte[16];
        Buffer.BlockCopy(cap.Stack("encoder").Attention.Data, 0, data, 0, 16);
        var path = Write(dir, "zero.safetensors", RawFiles.SafeTensors(header, data));
        var (code, _, err) = CliTests.Run("inspect", path);
        CliTests.AssertOneLineError(code, err, "encoder.query");

        // The attention itself with a zero dimension and huge others.
        var path2 = Write(dir, "zero2.safetensors", RawFiles.SafeTensors(new Dictionary<string, object>
        {
            ["__metadata__"] = new Dictionary<string, string> { ["format"] = RawFiles.CaptureFormat, ["tokens"] = "[]" },
            ["encoder.attention"] = new Dictionary<string, object> { ["dtype"] = "F32", ["shape"] = new[] { int.MaxValue, int.MaxValue, 0, 5 }, ["data_offsets"] = new[] { 0, 0 } },
        }));
        (code, _, err) = CliTests.Run("inspect", path2);
        CliTests.AssertOneLineError(code, err, "not a valid AttnScope capture");
    }

    [Fact]
    public void ACaptureWithNoTokensIsOneLineForEveryReader()
    {
        using var dir = new TempDir();
        var path = Write(dir, "empty.safetensors", RawFiles.Capture([1, 1, 0, 0], 0));
        var runs = new[]
        {
            new[] { "inspect", path },
            ["html", path, "-o", dir.File("p.html")],
            ["analyze", path, "--heads", "-o", dir.File("a.safetensors")],
            ["render", path, "--view", "model", "-o", dir.File("m.png")],
            ["heatmap", path, "-o", dir.File("h.png")],
        };
        foreach (var args in runs)
        {
            var (code, _, err) = CliTests.Run(args);
            CliTests.AssertOneLineError(code, err, "no tokens");
        }
        Assert.Equal(["empty.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        // The server's saved-capture list and thumbnails load captures the same way.
        Assert.Throws<AttnScopeException>(() => AttentionCapture.Load(path));
    }

    [Fact]
    public void ManyLayersInASmallFileAreRefusedBeforeAnyPageIsBuilt()
    {
        using var dir = new TempDir();
        // 100,000 layers of a 1-token capture: 400 KB, which the html page would have turned into ~25 MB of HTML.
        var path = Write(dir, "layers.safetensors", RawFiles.Capture([100_000, 1, 1, 1], 1));
        var page = dir.File("p.html");
        long before = GC.GetAllocatedBytesForCurrentThread();
        var (code, _, err) = CliTests.Run("html", path, "-o", page);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        CliTests.AssertOneLineError(code, err, $"more than the {CaptureLimits.MaxLayers}");
        Assert.False(File.Exists(page));
        Assert.True(allocated < 16L << 20, $"allocated {allocated} bytes for a 400 KB file");
    }

    [Theory]
    [InlineData(1, CaptureLimits.MaxHeads + 1, 1, "heads per layer")]
    [InlineData(200, 200, 1, "heads in all")]
    [InlineData(1, 1, CaptureLimits.MaxTokens + 1, "tokens")]
    public void DocumentedLimitsAreChecked(int layers, int heads, int tokens, string expected)
    {
        using var dir = new TempDir();
        // A well-formed file past one limit (and with fewer tokens listed than its shape declares): the limit is named.
        var header = new Dictionary<string, object>
        {
            ["__metadata__"] = new Dictionary<string, string> { ["format"] = RawFiles.CaptureFormat, ["tokens"] = "[]" },
            ["encoder.attention"] = new Dictionary<string, object> { ["dtype"] = "F32", ["shape"] = new[] { layers, heads, tokens, 1 }, ["data_offsets"] = new[] { 0L, 4L * layers * heads * tokens } },
        };
        var bytes = RawFiles.SafeTensors(header, new byte[4L * layers * heads * tokens]);
        var path = Write(dir, "c.safetensors", bytes);
        var (code, _, err) = CliTests.Run("inspect", path);
        CliTests.AssertOneLineError(code, err, expected);
    }

    [Fact]
    public void LimitsAlsoHoldForCapturesBuiltInMemory()
    {
        var attention = new FloatTensor([CaptureLimits.MaxLayers + 1, 1, 1, 1]);
        Array.Fill(attention.Data, 1f);
        var e = Assert.Throws<AttnScopeException>(() => new AttentionCapture(new CaptureMetadata(), SyntheticCaptures.Tokens(1), [new AttentionStack("encoder", attention)]));
        Assert.Contains("layers", e.Message);
    }
}
