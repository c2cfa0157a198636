using AttnScope.Tests.Support;
using AttnScope.Web.Server;

namespace AttnScope.Tests.Web;

/// <summary>A link inside the captures folder must not let the server read a file outside it.</summary>
public class SavedCaptureLinkTests
{
    [Fact]
    public void LinkToAFileOutsideTheFolderIsNeitherListedNorOpened()
    {
        using var dir = new TempDir();
        var folder = dir.File("captures");
        Directory.CreateDirectory(folder);
        var secret = dir.File("secret.txt");
        File.WriteAllText(secret, "root:x:0:0:secret");
        File.CreateSymbolicLink(Path.Combine(folder, "leak.safetensors"), secret);
        SyntheticCaptures.Encoder(1, 2, 4).Save(Path.Combine(folder, "real.safetensors"));
        File.CreateSymbolicLink(Path.Combine(folder, "alias.safetensors"), "real.safetensors"); // inside: fine

        var saved = new SavedCaptures(folder);
        Assert.Equal(["alias.safetensors", "real.safetensors"], saved.List());
        var e = Assert.Throws<HttpError>(() => saved.Open("leak.safetensors"));
        Assert.Equal(404, e.Status);
        Assert.DoesNotContain("root", e.Message);
        Assert.Equal(4, saved.Open("alias.safetensors").Tokens.Count);
    }
}
