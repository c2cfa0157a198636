using AttnScope.Capture;
using AttnScope.Sources.Models;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Models;

/// <summary>Hub download code against a loopback server in the Hub's URL layout; nothing leaves the machine.</summary>
public class HubDownloadTests
{
    [Fact]
    public void DownloadsIntoTheHubCacheLayoutOnceThenReusesIt()
    {
        using var hub = new LoopbackHub();
        using var cache = new TempDir();
        var files = TinyBert.Files();
        hub.AddRepo("org/tiny-bert", files);
        var client = new HubClient(hub.Endpoint, cache.Path, offline: false, token: "");

        var resolved = ModelResolver.Resolve("hf:org/tiny-bert", client);
        Assert.Equal(files["model.safetensors"], File.ReadAllBytes(resolved.SafetensorsPath!));
        Assert.Equal(files["config.json"], File.ReadAllBytes(resolved.ConfigPath!));
        Assert.NotNull(resolved.VocabPath);
        var snapshot = Path.Combine(cache.Path, "models--org--tiny-bert", "snapshots", hub.Commit);
        Assert.Equal(snapshot, Path.GetDirectoryName(resolved.SafetensorsPath));
        Assert.Equal(hub.Commit, File.ReadAllText(Path.Combine(cache.Path, "models--org--tiny-bert", "refs", "main")));
        int first = hub.Requests;
        Assert.True(first >= 3);

        var again = ModelResolver.Resolve("hf:org/tiny-bert", client);
        Assert.Equal(resolved.SafetensorsPath, again.SafetensorsPath);
        Assert.Equal(first, hub.Requests); // nothing downloaded twice

        // Offline mode works from the cache.
        var offline = new HubClient(hub.Endpoint, cache.Path, offline: true, token: "");
        Assert.Equal(resolved.SafetensorsPath, ModelResolver.Resolve("hf:org/tiny-bert", offline).SafetensorsPath);
        Assert.Equal(first, hub.Requests);
    }

    [Fact]
    public void DownloadedModelLoadsItsWeightsWithThePrefixStripped()
    {
        using var hub = new LoopbackHub();
        using var cache = new TempDir();
        hub.AddRepo("org/tiny-bert", TinyBert.Files(seed: 3));
        var resolved = ModelResolver.Resolve("hf:org/tiny-bert@v1", new HubClient(hub.Endpoint, cache.Path, false, ""));
        var weights = SafetensorsWeights.Load(resolved.SafetensorsPath!);
        var expected = TinyBert.Weights(3).Single(w => w.Item1 == "bert.encoder.layer.1.attention.self.key.weight").Item2;
        Assert.Equal(expected.Data, weights.Get("encoder.layer.1.attention.self.key.weight", TinyBert.Hidden, TinyBert.Hidden).Data);
    }

    [Fact]
    public void AHubModelCapturesEndToEnd()
    {
        using var hub = new LoopbackHub();
        using var cache = new TempDir();
        hub.AddRepo("org/tiny-bert", TinyBert.Files());
        using var session = AttnScope.Sources.ModelSession.Open("hf:org/tiny-bert", AttnScope.Sources.EngineKind.Managed,
            new HubClient(hub.Endpoint, cache.Path, false, ""));
        var cap = session.Capture("the big cat sat");
        Assert.Equal("hf:org/tiny-bert", cap.Metadata.ModelId);
        Assert.Equal(new[] { TinyBert.Layers, TinyBert.Heads, 6, 6 }, cap.Stack("encoder").Attention.Shape);
    }

    [Fact]
    public void UnknownRepositoryIsAClearError()
    {
        using var hub = new LoopbackHub();
        using var cache = new TempDir();
        var e = Assert.Throws<AttnScopeException>(() => ModelResolver.Resolve("hf:org/missing", new HubClient(hub.Endpoint, cache.Path, false, "")));
        Assert.Contains("'org/missing' was not found", e.Message);
    }

    [Fact]
    public void MissingRequiredFileIsAClearError()
    {
        using var hub = new LoopbackHub();
        using var cache = new TempDir();
        var files = TinyBert.Files();
        files.Remove("model.safetensors");
        hub.AddRepo("org/no-weights", files);
        var e = Assert.Throws<AttnScopeException>(() => ModelResolver.Resolve("hf:org/no-weights", new HubClient(hub.Endpoint, cache.Path, false, "")));
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public void UnreachableServerIsAClearError()
    {
        using var cache = new TempDir();
        // A port nobody listens on.
        int port;
        using (var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0)) { l.Start(); port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port; l.Stop(); }
        var e = Assert.Throws<AttnScopeException>(() => ModelResolver.Resolve("hf:org/x", new HubClient($"http://127.0.0.1:{port}", cache.Path, false, "")));
        Assert.Contains("cannot reach", e.Message);
    }

    [Fact]
    public void OfflineWithoutCacheIsAClearError()
    {
        using var cache = new TempDir();
        var e = Assert.Throws<AttnScopeException>(() => ModelResolver.Resolve("hf:org/x", new HubClient("http://127.0.0.1:9", cache.Path, true, "")));
        Assert.Contains("HF_HUB_OFFLINE", e.Message);
    }

    [Theory]
    [InlineData("hf:../etc")]
    [InlineData("hf:org/../../etc")]
    [InlineData("hf:org/name@../../x")]
    [InlineData("hf:org")]
    [InlineData("hf:org/na me")]
    public void PathTraversalAndMalformedNamesAreRefused(string name)
    {
        using var cache = new TempDir();
        var e = Assert.Throws<AttnScopeException>(() => ModelResolver.Resolve(name, new HubClient("http://127.0.0.1:9", cache.Path, false, "")));
        Assert.Contains("not a valid", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(cache.Path));
    }

    [Fact]
    public void UnknownModelNameIsAClearError()
    {
        var e = Assert.Throws<AttnScopeException>(() => ModelResolver.Resolve("no-such-model-anywhere"));
        Assert.Contains("unknown model", e.Message);
    }
}
