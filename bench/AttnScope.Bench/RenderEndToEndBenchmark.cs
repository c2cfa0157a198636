using System.Diagnostics;
using System.Globalization;
using AttnScope.Capture;
using AttnScope.Sources;

namespace AttnScope.Bench;

/// <summary>
/// <c>-- views --end-to-end [--runs 7] [--cli PATH]</c>: what a user waits for, from process start to the PNG written.
/// The capture is real: all-MiniLM-L6-v2 (embedded) on the prose of README.md cut at its 512 tokens, attention only
/// (6 layers × 12 heads × 512 × 512 float32, the 74 MB file a user gets from <c>attnscope capture</c>). AttnScope's side
/// is the <c>attnscope</c> executable (<c>render CAPTURE --view model -o OUT.png</c>); the peer is one python3 process
/// (render_matplotlib.py) that reads the same capture with numpy and draws the same 6 × 12 grid with matplotlib at
/// the same pixel size. Each run is a fresh process on each side, timed from <see cref="Process.Start()"/> to its
/// exit with the file on disk; the two sides alternate, after one warm-up run each (so both read the capture from
/// the page cache). Ratio = matplotlib ÷ AttnScope of the medians.
/// </summary>
public static class RenderEndToEndBenchmark
{
    public static int Run(string[] args)
    {
        int runs = 7;
        string? cli = null;
        for (int i = 0; i < args.Length; i++)
            switch (args[i])
            {
                case "--end-to-end": break;
                case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--cli": cli = args[++i]; break;
                default: throw new AttnScopeException($"unknown option '{args[i]}' (expected --runs N or --cli PATH)");
            }
        cli ??= FindCli();
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var script = Path.Combine(AppContext.BaseDirectory, "render_matplotlib.py");
        var check = ViewsBenchmark.Exec(python, ["-c", "import matplotlib, numpy"]);
        if (check.Code != 0)
        {
            Console.WriteLine("matplotlib MISSING: the peer needs Debian's python3-matplotlib and python3-numpy; no ratio this run");
            return 2;
        }

        var dir = Directory.CreateTempSubdirectory("attnscope-bench-render-");
        try
        {
            var capturePath = Path.Combine(dir.FullName, "minilm-512.safetensors");
            using (var session = ModelSession.Open("minilm"))
            {
                var cap = session.Capture(ViewerHoverBenchmark.Prose());
                cap.Save(capturePath);
                var s = cap.Stacks[AttentionStack.Encoder];
                Console.WriteLine($"render end to end: all-MiniLM-L6-v2 on README prose, {cap.Tokens.Count} tokens, {s.Layers} × {s.Heads} heads, " +
                                  $"capture {new FileInfo(capturePath).Length / 1e6:0.0} MB; {runs} runs each after a warm-up, alternating; load {Load()}");
            }
            var ourPng = Path.Combine(dir.FullName, "ours.png");
            var peerPng = Path.Combine(dir.FullName, "peer.png");
            string[] ourArgs = ["render", capturePath, "--view", "model", "-o", ourPng];

            TimeProcess(cli, ourArgs, ourPng); // warm-up; also gives the figure's size for the peer
            var (w, h) = PngSize(ourPng);
            string[] peerArgs = [script, capturePath, peerPng, $"{w}x{h}"];
            TimeProcess(python, peerArgs, peerPng);
            Console.WriteLine($"figure: {w} × {h} px; attnscope: {cli}; peer: {python} render_matplotlib.py (matplotlib {MatplotlibVersion(python)})");

            var ours = new double[runs];
            var peer = new double[runs];
            for (int r = 0; r < runs; r++)
            {
                ours[r] = TimeProcess(cli, ourArgs, ourPng);
                peer[r] = TimeProcess(python, peerArgs, peerPng);
            }
            var (pw, ph) = PngSize(peerPng);
            double om = Timing.Median(ours), pm = Timing.Median(peer);
            Console.WriteLine($"AttnScope  (attnscope render --view model): median {om,7:0} ms   runs {string.Join(" ", ours.Select(t => t.ToString("0", CultureInfo.InvariantCulture)))}");
            Console.WriteLine($"matplotlib (python3 render_matplotlib.py):   median {pm,7:0} ms   runs {string.Join(" ", peer.Select(t => t.ToString("0", CultureInfo.InvariantCulture)))}   ({pw} × {ph} px)");
            Console.WriteLine($"ratio (matplotlib ÷ AttnScope), process start to PNG written: {pm / om:0.0}×   (goal ≥ 10×); load {Load()}");
            return 0;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Milliseconds from starting the process to its exit; the output file must then exist and be non-empty.</summary>
    private static double TimeProcess(string file, string[] args, string output)
    {
        if (File.Exists(output)) File.Delete(output);
        Thread.Sleep(100);
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var t = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var outText = p.StandardOutput.ReadToEndAsync();
        p.WaitForExit();
        var ms = t.Elapsed.TotalMilliseconds;
        if (p.ExitCode != 0 || !File.Exists(output) || new FileInfo(output).Length == 0)
            throw new AttnScopeException($"{Path.GetFileName(file)} failed (exit {p.ExitCode}): {err.Result.Trim()} {outText.Result.Trim()}");
        return ms;
    }

    private static (int Width, int Height) PngSize(string path)
    {
        var b = File.ReadAllBytes(path).AsSpan(16, 8);
        return (System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(b), System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(b[4..]));
    }

    private static string MatplotlibVersion(string python) =>
        ViewsBenchmark.Exec(python, ["-c", "import matplotlib; print(matplotlib.__version__)"]).Out.Trim();

    private static string Load()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); } catch { return "unknown"; }
    }

    /// <summary>The attnscope executable built from src/AttnScope.Cli (Release), found from the working folder upwards.</summary>
    private static string FindCli()
    {
        var dir = new DirectoryInfo(Directory.GetCurrentDirectory());
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "src", "AttnScope.Cli"))) dir = dir.Parent;
        var path = dir is null ? null : Path.Combine(dir.FullName, "src", "AttnScope.Cli", "bin", "Release", "net10.0", "attnscope");
        if (path is null || !File.Exists(path))
            throw new AttnScopeException("the end-to-end render benchmark runs the attnscope executable: build it first " +
                                         "(dotnet build src/AttnScope.Cli -c Release), or give --cli PATH");
        return path;
    }
}
