using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using AttnScope.Tests.Packaging;

namespace AttnScope.Tests.Library;

/// <summary>
/// The public API is what docs/library.md's "Public API" table lists, no more and no less: every AttnScope assembly
/// is loaded and its exported types (public, including nested public types) are compared with the table. Every
/// public member of those types has an entry in the XML documentation file written beside the assembly.
/// </summary>
public class PublicApiTests
{
    private static readonly string[] AssemblyNames =
        ["AttnScope.Capture", "AttnScope.Sources", "AttnScope.Training", "AttnScope.Analyses", "AttnScope.Views",
         "AttnScope.Web", "AttnScope.Corpus", "AttnScope.Library", "attnscope"];

    /// <summary>The type names in the first column of docs/library.md's "## Public API" table.</summary>
    internal static string[] DocumentedTypes()
    {
        var doc = File.ReadAllText(Path.Combine(ToolPackageTests.RepositoryRoot(), "docs", "library.md")).Replace("\r\n", "\n");
        var start = doc.IndexOf("\n## Public API\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/library.md has no '## Public API' section");
        var end = doc.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = end < 0 ? doc[start..] : doc[start..end];
        var names = Regex.Matches(section, @"^\| `([A-Za-z0-9_.]+)` \|", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToArray();
        Assert.True(names.Length > 0, "the Public API section of docs/library.md holds no table rows");
        Assert.Equal(names.Length, names.Distinct().Count());
        return names;
    }

    private static Assembly[] Assemblies()
    {
        // Every AttnScope assembly beside the tests must be in the list above (a new project is not left unchecked).
        var present = Directory.GetFiles(AppContext.BaseDirectory, "*.dll")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => n!.StartsWith("AttnScope.", StringComparison.Ordinal) || n == "attnscope")
            .Where(n => n != "AttnScope.Tests")
            .Order().ToArray();
        Assert.Equal(AssemblyNames.Order().ToArray(), present);
        return AssemblyNames.Select(n => Assembly.Load(new AssemblyName(n))).ToArray();
    }

    [Fact]
    public void TheAssembliesExportExactlyTheTypesOfTheDocsTable()
    {
        var exported = Assemblies().SelectMany(a => a.GetExportedTypes()).Select(t => t.FullName!.Replace('+', '.')).Order().ToArray();
        var documented = DocumentedTypes().Order().ToArray();
        var extra = exported.Except(documented).ToArray();
        var missing = documented.Except(exported).ToArray();
        Assert.True(extra.Length == 0 && missing.Length == 0,
            $"public but not in docs/library.md's Public API table: [{string.Join(", ", extra)}]; in the table but not public: [{string.Join(", ", missing)}] " +
            "(run scripts/dev/internalize.py, or add the type to its PUBLIC_API and to the table)");
    }

    [Fact]
    public void EveryPublicMemberHasAnXmlComment()
    {
        var undocumented = new List<string>();
        int checkedMembers = 0;
        foreach (var assembly in Assemblies())
        {
            var types = assembly.GetExportedTypes();
            if (types.Length == 0) continue;
            var xml = Path.Combine(AppContext.BaseDirectory, assembly.GetName().Name + ".xml");
            Assert.True(File.Exists(xml), $"{assembly.GetName().Name} exports types but has no XML documentation file {xml}");
            var ids = XDocument.Load(xml).Descendants("member").Select(m => (string)m.Attribute("name")!).ToHashSet(StringComparer.Ordinal);
            foreach (var type in types)
            {
                var name = type.FullName!.Replace('+', '.');
                checkedMembers++;
                if (!ids.Contains("T:" + name)) undocumented.Add("T:" + name);
                const BindingFlags Declared = BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
                foreach (var m in type.GetMembers(Declared))
                {
                    if (m.IsDefined(typeof(CompilerGeneratedAttribute))) continue; // record members the compiler writes
                    (string Prefix, int Overloads)? expected = m switch
                    {
                        MethodInfo mi when mi.IsSpecialName && !mi.Name.StartsWith("op_", StringComparison.Ordinal) => null, // accessors
                        MethodInfo mi => ($"M:{name}.{mi.Name}", type.GetMethods(Declared).Count(o => o.Name == mi.Name && !o.IsDefined(typeof(CompilerGeneratedAttribute)))),
                        ConstructorInfo ci when ci.GetParameters().Length == 0 => null, // possibly the implicit one
                        ConstructorInfo => ($"M:{name}.#ctor", type.GetConstructors().Count(c => c.GetParameters().Length > 0)),
                        PropertyInfo pi when pi.GetIndexParameters().Length > 0 => ($"P:{name}.Item", 1),
                        PropertyInfo pi => ($"P:{name}.{pi.Name}", 1),
                        FieldInfo fi when fi.IsSpecialName => null, // an enum's value__
                        FieldInfo fi => ($"F:{name}.{fi.Name}", 1),
                        EventInfo ei => ($"E:{name}.{ei.Name}", 1),
                        _ => null,
                    };
                    if (expected is not { } e) continue;
                    checkedMembers++;
                    int found = ids.Count(id => id == e.Prefix || id.StartsWith(e.Prefix + "(", StringComparison.Ordinal) || id.StartsWith(e.Prefix + "``", StringComparison.Ordinal));
                    if (found < e.Overloads) undocumented.Add($"{e.Prefix} ({found} of {e.Overloads} overloads documented)");
                }
            }
        }
        Assert.True(checkedMembers > 50, $"only {checkedMembers} public types and members found");
        Assert.True(undocumented.Count == 0, "public without an XML comment: " + string.Join(", ", undocumented.Distinct()));
    }
}
