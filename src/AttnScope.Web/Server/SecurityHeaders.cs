using Microsoft.AspNetCore.Http;

namespace AttnScope.Web.Server;

/// <summary>
/// The headers every response of the server carries, errors included: no sniffing, a content security policy
/// that allows only the server's own scripts and no framing, no referrer, resources readable by the same origin only,
/// and nothing cached.
/// </summary>
internal static class SecurityHeaders
{
    /// <summary>Header names and values, in the order they are set.</summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> All =
    [
        new("X-Content-Type-Options", "nosniff"),
        new("Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
        new("Referrer-Policy", "no-referrer"),
        new("X-Frame-Options", "DENY"),
        new("Cross-Origin-Resource-Policy", "same-origin"),
        new("Cross-Origin-Opener-Policy", "same-origin"),
        new("Cache-Control", "no-store"),
    ];

    /// <summary>Sets every header (replacing what was there).</summary>
    public static void Apply(IHeaderDictionary headers)
    {
        foreach (var (name, value) in All) headers[name] = value;
    }
}
