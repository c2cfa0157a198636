using System.Reflection;

namespace AttnScope.Web.Offline;

/// <summary>The front end's files (ES modules, CSS, the page), embedded in this assembly under <c>assets/</c>.</summary>
internal static class WebAssets
{
    private static readonly Assembly Self = typeof(WebAssets).Assembly;
    private const string Prefix = "assets/";

    /// <summary>Paths relative to assets/, e.g. <c>js/head-view.js</c>.</summary>
    public static IReadOnlyList<string> Names { get; } =
        Self.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Select(n => n[Prefix.Length..]).Order().ToList();

    public static bool Exists(string name) => Names.Contains(name);

    public static string Text(string name)
    {
        using var stream = Self.GetManifestResourceStream(Prefix + name)
            ?? throw new InvalidOperationException($"asset '{name}' is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".html" => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    };
}
