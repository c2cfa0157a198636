using AttnScope.Capture;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using Xunit.Abstractions;

namespace AttnScope.Tests.Fuzz;

/// <summary>
/// Bounded fuzzing through the command line: mutated captures given to inspect, html, heatmap, render and analyze.
/// Every run exits 0 (and wrote its output) or 1 with exactly one line on standard error and no output file and no
/// temporary file left behind; never 2 (an internal error). Allocation per run stays below 128 bytes per input
/// byte plus 64 MB (fonts, images and pages included).
/// </summary>
[Trait("Category", "Fuzz")]
public class CliFuzzTests(ITestOutputHelper log) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly string[][] Commands =
    [
        ["inspect", "{in}"],
        ["html", "{in}", "-o", "{out}.html"],
        ["heatmap", "{in}", "--layer", "0", "--head", "1", "-o", "{out}.png"],
        ["render", "{in}", "--view", "model", "-o", "{out}.svg"],
        ["analyze", "{in}", "--heads", "--rollout", "-o", "{out}.safetensors"],
    ];

    [Fact]
    public void CommandsOnMutatedCaptures()
    {
        var input = _dir.File("in.safetensors");
        var output = _dir.File("out");
        int step = 0;
        var codes = new int[3];
        var run = new FuzzRun
        {
            Name = "CLI on captures", Seed = 1501, Seeds = BinaryReaderFuzzTests.CaptureSeeds(), Text = true,
            AllocationLimit = n => 128L * n + (64L << 20), Budget = TimeSpan.FromSeconds(7),
        };
        run.Execute(bytes =>
        {
            File.WriteAllBytes(input, bytes);
            var template = Commands[step++ % Commands.Length];
            var args = template.Select(a => a.Replace("{in}", input, StringComparison.Ordinal).Replace("{out}", output, StringComparison.Ordinal)).ToArray();
            var written = args.Length > 2 && args[^2] == "-o" ? args[^1] : null;
            var (code, _, err) = CliTests.Run(args);
            Assert.True(code is 0 or 1, $"exit {code} for {string.Join(' ', template)}: {err}");
            codes[code]++;
            var files = Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Where(f => f != "in.safetensors").ToList();
            if (code == 1)
            {
                var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.True(lines.Length == 1 && lines[0].StartsWith("attnscope: error: ", StringComparison.Ordinal), $"{string.Join(' ', template)}: {err}");
                Assert.True(files.Count == 0, $"{string.Join(' ', template)} failed but left {string.Join(", ", files)}");
            }
            else
            {
                Assert.True(written is null || File.Exists(written), $"{string.Join(' ', template)} exited 0 without writing its output");
                Assert.True(files.All(f => !f!.EndsWith(".tmp", StringComparison.Ordinal)), $"temporary files left: {string.Join(", ", files)}");
            }
            foreach (var f in files) File.Delete(Path.Combine(_dir.Path, f!));
        }, log);
        log.WriteLine($"exit 0: {codes[0]}, exit 1: {codes[1]}");
        Assert.True(codes[0] > 0 && codes[1] > 0, $"exit 0: {codes[0]}, exit 1: {codes[1]}");
    }
}
