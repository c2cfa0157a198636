using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Web.Server;

namespace AttnScope.Tests.Web;

/// <summary>
/// A saved capture is opened once and read from the handle that was checked: replacing its name by a link to a file
/// outside the folder, before, during or after the check, never makes the server read that file.
/// </summary>
public sealed class SavedCaptureSwapTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _folder;
    private readonly string _outside;
    private const int InsideTokens = 4, OutsideTokens = 7;

    public SavedCaptureSwapTests()
    {
        _folder = _dir.File("captures");
        Directory.CreateDirectory(_folder);
        _outside = _dir.File("outside.safetensors"); // a valid capture, so reading it would succeed
        SyntheticCaptures.Encoder(1, 1, OutsideTokens).Save(_outside);
        SyntheticCaptures.Encoder(1, 1, InsideTokens).Save(Path.Combine(_folder, "cap.safetensors"));
    }

    public void Dispose() => _dir.Dispose();

    private string Cap => Path.Combine(_folder, "cap.safetensors");

    private void SwapToLink()
    {
        var link = Path.Combine(_folder, "link.tmp");
        File.Delete(link);
        File.CreateSymbolicLink(link, _outside);
        File.Move(link, Cap, overwrite: true); // rename: atomic, the link itself moves
    }

    private void SwapToFile()
    {
        var copy = Path.Combine(_folder, "copy.tmp");
        SyntheticCaptures.Encoder(1, 1, InsideTokens).Save(copy);
        File.Move(copy, Cap, overwrite: true);
    }

    [Fact]
    public void A_file_replaced_by_a_link_after_listing_is_not_opened()
    {
        var saved = new SavedCaptures(_folder);
        Assert.Equal(["cap.safetensors"], saved.List());
        SwapToLink();
        var e = Assert.Throws<HttpError>(() => saved.Open("cap.safetensors"));
        Assert.Equal(404, e.Status);
        Assert.Empty(saved.List());
    }

    [Fact]
    public void A_swap_after_the_check_does_not_change_what_is_read()
    {
        var saved = new SavedCaptures(_folder) { AfterOpen = _ => SwapToLink() };
        var capture = saved.Open("cap.safetensors");
        Assert.Equal(InsideTokens, capture.Tokens.Count);
        Assert.True(new FileInfo(Cap).LinkTarget is not null, "the name was swapped for a link during the open");
    }

    [Fact]
    public void Opens_racing_a_swap_never_return_the_file_outside()
    {
        var saved = new SavedCaptures(_folder);
        using var stop = new CancellationTokenSource();
        var swapper = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested) { SwapToLink(); SwapToFile(); }
        });
        int inside = 0, refused = 0;
        var until = DateTime.UtcNow.AddSeconds(3);
        try
        {
            while (DateTime.UtcNow < until)
            {
                AttentionCapture c;
                try { c = saved.Open("cap.safetensors"); }
                catch (HttpError e) when (e.Status is 404 or 400) { refused++; continue; }
                Assert.Equal(InsideTokens, c.Tokens.Count);
                inside++;
            }
        }
        finally
        {
            stop.Cancel();
            swapper.Wait();
        }
        Assert.True(inside > 0 && refused > 0, $"the race did not alternate ({inside} opened, {refused} refused)");
    }
}
