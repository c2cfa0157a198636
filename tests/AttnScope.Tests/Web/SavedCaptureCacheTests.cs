using AttnScope.Tests.Support;
using AttnScope.Web.Server;

namespace AttnScope.Tests.Web;

/// <summary>Issue 14: <c>serve</c> keeps the saved captures it read, bounded by bytes and keyed by path, last-write
/// time and length, so that opening one again does not read the file again.</summary>
public sealed class SavedCaptureCacheTests
{
    private static long Save(string path, int tokens, int seed)
    {
        SyntheticCaptures.Encoder(2, 2, tokens, seed: seed).Save(path);
        return new FileInfo(path).Length;
    }

    [Fact]
    public void OpeningTheSameUnchangedFileAgainDoesNotReadIt()
    {
        using var dir = new TempDir();
        Save(Path.Combine(dir.Path, "a.safetensors"), 10, 1);
        var saved = new SavedCaptures(dir.Path);
        var first = saved.Open("a.safetensors");
        var again = saved.Open("a.safetensors");
        Assert.Equal(1, saved.Reads);
        Assert.Same(first, again);
        Assert.Equal(new FileInfo(Path.Combine(dir.Path, "a.safetensors")).Length, saved.Cache.Bytes);
    }

    [Fact]
    public void ARewrittenFileIsReadAfresh()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "a.safetensors");
        Save(path, 10, 1);
        var saved = new SavedCaptures(dir.Path);
        var first = saved.Open("a.safetensors");
        // Another capture of another length under the same name.
        Save(path, 12, 2);
        var second = saved.Open("a.safetensors");
        Assert.Equal(2, saved.Reads);
        Assert.Equal(12, second.Tokens.Count);
        Assert.Equal(10, first.Tokens.Count);
        // Same bytes, a new last-write time: read again too (the old version is not kept beside it).
        File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(5));
        saved.Open("a.safetensors");
        Assert.Equal(3, saved.Reads);
        Assert.Equal(1, saved.Cache.Count);
    }

    [Fact]
    public void TheCacheStaysWithinItsBytesDroppingTheLeastRecentlyOpened()
    {
        using var dir = new TempDir();
        long a = Save(Path.Combine(dir.Path, "a.safetensors"), 16, 1);
        long b = Save(Path.Combine(dir.Path, "b.safetensors"), 16, 2);
        long c = Save(Path.Combine(dir.Path, "c.safetensors"), 16, 3);
        var budget = a + b + c - 1; // two fit, three do not
        var saved = new SavedCaptures(dir.Path, new ViewerServerOptions { MaxCachedSavedBytes = budget });
        saved.Open("a.safetensors");
        saved.Open("b.safetensors");
        saved.Open("a.safetensors");          // a is now the most recent
        Assert.Equal(2, saved.Reads);
        saved.Open("c.safetensors");          // b goes
        Assert.Equal(3, saved.Reads);
        Assert.True(saved.Cache.Bytes <= budget);
        Assert.Equal(2, saved.Cache.Count);
        saved.Open("a.safetensors");
        Assert.Equal(3, saved.Reads);
        saved.Open("b.safetensors");
        Assert.Equal(4, saved.Reads);
    }

    [Fact]
    public void AFileLargerThanTheBudgetIsNotKeptAndZeroKeepsNothing()
    {
        using var dir = new TempDir();
        long a = Save(Path.Combine(dir.Path, "a.safetensors"), 16, 1);
        var small = new SavedCaptures(dir.Path, new ViewerServerOptions { MaxCachedSavedBytes = a - 1 });
        small.Open("a.safetensors");
        small.Open("a.safetensors");
        Assert.Equal(2, small.Reads);
        Assert.Equal(0, small.Cache.Bytes);
        var none = new SavedCaptures(dir.Path, new ViewerServerOptions { MaxCachedSavedBytes = 0 });
        none.Open("a.safetensors");
        none.Open("a.safetensors");
        Assert.Equal(2, none.Reads);
        Assert.Throws<AttnScope.Capture.AttnScopeException>(() => new SavedCaptureCache(-1));
    }
}
