using AttnScope.Tests.Packaging;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Library;

/// <summary>
/// scripts/dev/internalize.py keeps the public API to docs/library.md's table: --check passes on the repository and
/// --list names exactly the table's types; on a scratch tree, --check flags new public types (not nested ones, not
/// allow-listed ones), a run rewrites them to internal, and a second run changes nothing.
/// </summary>
public class InternalizeScriptTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private static string Script => Path.Combine(ToolPackageTests.RepositoryRoot(), "scripts", "dev", "internalize.py");
    private static string Python => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    private static ChildProcess.Result Run(string root, params string[] args) =>
        ChildProcess.Run(Python, [Script, "--root", root, .. args], root, Timeout);

    [Fact]
    public void TheRepositoryPassesTheCheckAndListsTheDocumentedTypes()
    {
        var root = ToolPackageTests.RepositoryRoot();
        var check = Run(root, "--check");
        Assert.True(check.ExitCode == 0, check.Describe("internalize.py --check"));
        var list = Run(root, "--list");
        Assert.True(list.ExitCode == 0, list.Describe("internalize.py --list"));
        var rows = list.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToArray();
        Assert.All(rows, r => Assert.Equal("public API", r[2]));
        Assert.Equal(PublicApiTests.DocumentedTypes().Order().ToArray(), rows.Select(r => r[0]).Order().ToArray());
    }

    [Fact]
    public void NewPublicTypesAreFlaggedThenMadeInternalOnce()
    {
        using var dir = new TempDir();
        var folder = Directory.CreateDirectory(Path.Combine(dir.Path, "src", "AttnScope.Demo")).FullName;
        var thing = Path.Combine(folder, "Thing.cs");
        File.WriteAllText(thing,
            """
            namespace AttnScope.Demo;

            /// <summary>A widget.</summary>
            public sealed class Widget
            {
                public class Nested { }
                public int Size { get; set; }
            }

            public enum Mode { A, B }
            public readonly record struct Point(int X, int Y);
            public static partial class Helpers { }
            public delegate int Callback(string text);
            internal sealed class AlreadyInternal { }
            """);
        var facade = Path.Combine(folder, "Render.cs");
        const string FacadeText = "namespace AttnScope;\n\npublic static class Render { }\n";
        File.WriteAllText(facade, FacadeText);

        var check = Run(dir.Path, "--check");
        Assert.Equal(1, check.ExitCode);
        foreach (var name in new[] { "Widget", "Mode", "Point", "Helpers", "Callback" })
            Assert.Contains($": AttnScope.Demo.{name}\n", check.Out.Replace("\r\n", "\n") + "\n");
        Assert.DoesNotContain("Nested", check.Out);
        Assert.DoesNotContain("AlreadyInternal", check.Out);
        Assert.DoesNotContain("Render", check.Out);

        var rewrite = Run(dir.Path);
        Assert.True(rewrite.ExitCode == 0, rewrite.Describe("internalize.py"));
        var text = File.ReadAllText(thing);
        Assert.Contains("internal sealed class Widget", text);
        Assert.Contains("internal enum Mode { A, B }", text);
        Assert.Contains("internal readonly record struct Point(int X, int Y);", text);
        Assert.Contains("internal static partial class Helpers", text);
        Assert.Contains("internal delegate int Callback(string text);", text);
        Assert.Contains("    public class Nested { }", text); // nested: public inside an internal type
        Assert.Contains("    public int Size { get; set; }", text);
        Assert.DoesNotContain("\npublic ", text);
        Assert.Equal(FacadeText, File.ReadAllText(facade)); // allow-listed: untouched

        var again = Run(dir.Path);
        Assert.True(again.ExitCode == 0, again.Describe("internalize.py, second run"));
        Assert.Equal(text, File.ReadAllText(thing));
        Assert.Contains("0 type(s) made internal", again.Err);
        var recheck = Run(dir.Path, "--check");
        Assert.True(recheck.ExitCode == 0, recheck.Describe("internalize.py --check after the rewrite"));
    }

    [Fact]
    public void ABlockNamespaceFileFailsTheCheckInsteadOfBeingSkippedSilently()
    {
        using var dir = new TempDir();
        var folder = Directory.CreateDirectory(Path.Combine(dir.Path, "src", "AttnScope.Demo")).FullName;
        File.WriteAllText(Path.Combine(folder, "Old.cs"), "namespace AttnScope.Demo\n{\n    public class Old { }\n}\n");
        var check = Run(dir.Path, "--check");
        Assert.Equal(1, check.ExitCode);
        Assert.Contains("block namespace", check.Err);
        Assert.Contains("Old.cs", check.Err);
    }
}
