namespace AttnScope.Sources.Models;

/// <summary>
/// Where AttnScope keeps extracted and downloaded models: <c>$ATTNSCOPE_CACHE</c> if set, else
/// <c>$XDG_CACHE_HOME/attnscope</c>, else <c>~/.cache/attnscope</c>.
/// </summary>
internal static class CacheDirectory
{
    public const string EnvironmentVariable = "ATTNSCOPE_CACHE";

    public static string Root
    {
        get
        {
            var own = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(own)) return Path.GetFullPath(own);
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (!string.IsNullOrWhiteSpace(xdg)) return Path.Combine(Path.GetFullPath(xdg), "attnscope");
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home)) home = Path.GetTempPath();
            return Path.Combine(home, ".cache", "attnscope");
        }
    }
}
