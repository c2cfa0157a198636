using System.Diagnostics;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Cli;

/// <summary>
/// ATTNSCOPE_TIMINGS=1 (the end-to-end benchmark's breakdown, docs/benchmarks.md) makes `render` print its stages
/// with the milliseconds since the process started, in order; without it nothing extra is printed. Run as a child
/// process, since the setting is read once per process.
/// </summary>
public class StageTimingsTests
{
    private static (int Code, string Err) Render(string capture, string png, bool timings)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "attnscope.dll"), "render", capture, "--view", "model", "-o", png })
            psi.ArgumentList.Add(a);
        psi.Environment["ATTNSCOPE_TIMINGS"] = timings ? "1" : null;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000));
        return (p.ExitCode, err.Result);
    }

    [Fact]
    public void Timings_list_the_stages_in_order_only_when_asked()
    {
        using var dir = new TempDir();
        var cap = dir.File("cap.safetensors");
        SyntheticCaptures.Encoder(2, 3, 40).Save(cap);
        var (code, err) = Render(cap, dir.File("a.png"), timings: true);
        Assert.True(code == 0, err);
        var stages = err.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^\[\s*([\d.]+) ms\] (.+)$"))
            .Where(m => m.Success)
            .Select(m => (Ms: double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), Stage: m.Groups[2].Value))
            .ToList();
        var names = stages.Select(s => s.Stage).ToList();
        foreach (var stage in new[] { "main", "action", "tensors read", "loaded", "laid out", "painted", "encoded", "saved" })
            Assert.Contains(stage, names);
        Assert.True(names.IndexOf("main") < names.IndexOf("loaded") && names.IndexOf("loaded") < names.IndexOf("saved"), string.Join(", ", names));
        for (int i = 1; i < stages.Count; i++) Assert.True(stages[i].Ms >= stages[i - 1].Ms, err);
        Assert.True(stages[0].Ms > 0);

        var (quietCode, quietErr) = Render(cap, dir.File("b.png"), timings: false);
        Assert.Equal(0, quietCode);
        Assert.DoesNotContain(" ms] ", quietErr);
    }
}
