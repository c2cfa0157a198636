using System.Text;
using System.Text.RegularExpressions;

namespace AttnScope.Web.Offline;

/// <summary>
/// Joins the viewer's ES modules into one module script for the offline page, where a file cannot import another.
/// The modules follow two conventions that make this a small, checkable job: imports are single lines of the form
/// <c>import { a, b } from './file.js';</c> and exports are <c>export</c> before a top-level declaration. Modules
/// are emitted dependencies first; their top-level names share one scope, so a clash is a syntax error the
/// browser tests would see at once.
/// </summary>
internal static partial class ScriptBundler
{
    [GeneratedRegex(@"^import\s*\{[^}]*\}\s*from\s*'\./([\w\-]+\.js)';\s*$")]
    private static partial Regex ImportLine();

    [GeneratedRegex(@"^export\s+(?=(async\s+)?(function|class|const|let)\b)")]
    private static partial Regex ExportPrefix();

    public static string Bundle(string entry, Func<string, string> read)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        var visiting = new HashSet<string>(StringComparer.Ordinal);
        var sb = new StringBuilder();
        Visit(entry, read, done, visiting, sb);
        return sb.ToString();
    }

    private static void Visit(string file, Func<string, string> read, HashSet<string> done, HashSet<string> visiting, StringBuilder sb)
    {
        if (done.Contains(file)) return;
        if (!visiting.Add(file)) throw new InvalidOperationException($"import cycle through {file}");
        var lines = read(file).Split('\n');
        var body = new StringBuilder();
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd('\r');
            var import = ImportLine().Match(line);
            if (import.Success)
            {
                Visit(import.Groups[1].Value, read, done, visiting, sb);
                continue;
            }
            if (line.StartsWith("import ", StringComparison.Ordinal) || line.StartsWith("export {", StringComparison.Ordinal))
                throw new InvalidOperationException($"{file}: unsupported module line '{line}'");
            body.Append(ExportPrefix().Replace(line, "")).Append('\n');
        }
        sb.Append("// ---- ").Append(file).Append('\n').Append(body);
        visiting.Remove(file);
        done.Add(file);
    }
}
