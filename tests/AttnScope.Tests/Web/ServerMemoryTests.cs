using System.Net;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Tests.Support;
using AttnScope.Web.Data;
using AttnScope.Web.Server;
using static AttnScope.Tests.Web.SyntheticServer;

namespace AttnScope.Tests.Web;

/// <summary>
/// What one request can make the server allocate is bounded: a saved capture is refused on its file size or on the
/// layers, heads and tokens its header declares before it is built, and the captures kept for pages stay within a
/// count and a byte budget, so memory stays flat under a long run of large captures.
/// </summary>
[Collection("server memory")]
public sealed class ServerMemoryTests
{
    /// <summary>
    /// A file that declares [layers, heads, 1, 1] attention with the metadata of a real one-token capture. Written
    /// as raw safetensors: the library itself refuses to build or save a capture past its limits.
    /// </summary>
    private static string SaveDeclaring(TempDir dir, string name, int layers, int heads)
    {
        var small = new AttentionCapture(new CaptureMetadata { ModelId = "m" }, SyntheticCaptures.Tokens(1),
            [new AttentionStack(AttentionStack.Encoder, new FloatTensor([1, 1, 1, 1], [1f]))]);
        var metadata = AttnScope.Capture.SafeTensors.SafeTensorsFile.Parse(small.ToBytes()).Metadata;
        var attention = new FloatTensor([layers, heads, 1, 1]);
        Array.Fill(attention.Data, 1f);
        var path = dir.File(name);
        AttnScope.Capture.SafeTensors.SafeTensorsFile.Write(path, [("encoder.attention", attention)], metadata);
        return path;
    }

    [Theory]
    [InlineData(1_000_000, 1, "1000000 layers")]
    [InlineData(1, 1_000_000, "1000000 heads")]
    public void A_capture_declaring_a_million_layers_or_heads_is_refused_before_it_is_built(int layers, int heads, string says)
    {
        using var dir = new TempDir();
        var file = SaveDeclaring(dir, "big.safetensors", layers, heads);
        var saved = new SavedCaptures(dir.Path);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<HttpError>(() => saved.Open("big.safetensors"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(413, e.Status);
        Assert.Contains(says, e.Message);
        Assert.DoesNotContain(dir.Path, e.Message);
        // The file is read once (4 MB) and its header parsed; nothing per layer or head is built.
        Assert.True(allocated < 3 * new FileInfo(file).Length + (4 << 20), $"{allocated} bytes allocated");
    }

    [Fact]
    public async Task The_server_refuses_oversized_saved_captures_with_a_json_413()
    {
        using var dir = new TempDir();
        SaveDeclaring(dir, "layers.safetensors", 300, 1);
        SyntheticCaptures.Encoder(2, 2, 40).Save(dir.File("large.safetensors"));
        SyntheticCaptures.Encoder(1, 1, 4).Save(dir.File("fine.safetensors"));
        await using var server = await StartAsync(new ViewerServerOptions { CapturesDir = dir.Path, MaxSavedCaptureBytes = 16 * 1024 });
        using var http = new HttpClient { BaseAddress = server.Address };
        foreach (var (name, status, says) in new[]
                 {
                     ("layers.safetensors", HttpStatusCode.RequestEntityTooLarge, "300 layers"),
                     ("large.safetensors", HttpStatusCode.RequestEntityTooLarge, "at most 16 KiB"),
                     ("fine.safetensors", HttpStatusCode.OK, ""),
                 })
        {
            using var res = await http.SendAsync(Post("/api/open", new JsonObject { ["name"] = name }.ToJsonString()));
            var body = JsonNode.Parse(await res.Content.ReadAsStringAsync())!;
            Assert.True(res.StatusCode == status, $"{name}: {res.StatusCode} {body.ToJsonString()}");
            if (says != "") Assert.Contains(says, (string)body["error"]!);
        }
    }

    [Fact]
    public async Task A_saved_capture_larger_than_a_live_capture_may_be_still_opens()
    {
        // The live-capture budget bounds what typing text can make the model allocate; a saved file has its own,
        // larger limit (a 1024-token capture of a 12 × 12 model is 604 MB, more than the live budget).
        using var dir = new TempDir();
        SyntheticCaptures.Encoder(2, 2, 40).Save(dir.File("large.safetensors")); // ~26 KB
        await using var server = await StartAsync(new ViewerServerOptions { CapturesDir = dir.Path, MaxCaptureBytes = 16 * 1024, MaxSavedCaptureBytes = 1 << 20 });
        using var http = new HttpClient { BaseAddress = server.Address };
        using var res = await http.SendAsync(Post("/api/open", new JsonObject { ["name"] = "large.safetensors" }.ToJsonString()));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        Assert.True(new FileInfo(dir.File("large.safetensors")).Length > 16 * 1024);
    }

    [Fact]
    public void The_store_keeps_within_its_count_and_byte_budget_and_drops_the_oldest()
    {
        var capture = SyntheticCaptures.Encoder(2, 2, 16, qkv: true); // scores are not kept; values are (norm-based view)
        var kept = CaptureStore.ForViewer(capture);
        Assert.NotNull(kept.Stacks[AttentionStack.Encoder].Value);
        Assert.Null(kept.Stacks[AttentionStack.Encoder].Scores);
        long size = CaptureStore.SizeOf(kept);
        Assert.Equal(4L * (2 * 2 * 16 * 16 + 3 * (2 * 2 * 16 * 4)), size);

        var store = new CaptureStore(keep: 10, maxBytes: 3 * size);
        var ids = Enumerable.Range(0, 8).Select(_ => store.Add(new ViewerData(kept, "c"))).ToList();
        Assert.Equal(3, store.Count);
        Assert.Equal(3 * size, store.Bytes);
        foreach (var old in ids[..5]) Assert.Equal(404, Assert.Throws<HttpError>(() => store.Get(old)).Status);
        foreach (var recent in ids[5..]) Assert.Same(kept, store.Get(recent).Capture);

        var byCount = new CaptureStore(keep: 2);
        for (int i = 0; i < 5; i++) byCount.Add(new ViewerData(kept, "c"));
        Assert.Equal(2, byCount.Count);

        var tooBig = Assert.Throws<HttpError>(() => new CaptureStore(4, size - 1).Add(new ViewerData(kept, "c")));
        Assert.Equal(413, tooBig.Status);
    }

    /// <summary>A capture of [4, 4, n, n] for a text of n words (the "model" of the long-run test).</summary>
    private static AttentionCapture Large(EngineKind engine, string text, string? pair)
    {
        int n = Math.Min(text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length, 700);
        var attention = new FloatTensor([4, 4, n, n]);
        Array.Fill(attention.Data, 1f / n);
        var meta = new CaptureMetadata { ModelId = "synthetic", Texts = [text[..20]] };
        return new AttentionCapture(meta, SyntheticCaptures.Tokens(n), [new AttentionStack(AttentionStack.Encoder, attention)]);
    }

    [Fact]
    public async Task Memory_stays_bounded_over_many_captures_of_long_texts()
    {
        const long budget = 64L << 20; // each capture holds 4·4·700²·4 B ≈ 31 MB: the store keeps two
        await using var server = await StartAsync(new ViewerServerOptions { KeepCaptures = 16, MaxStoredBytes = budget }, Large);
        using var http = new HttpClient { BaseAddress = server.Address };
        var text = string.Join(' ', Enumerable.Range(0, 4000).Select(i => $"w{i % 97}"));
        Assert.True(text.Length <= new ViewerServerOptions().MaxTextChars);
        async Task<string> CaptureAsync()
        {
            using var res = await http.SendAsync(Post("/api/capture", new JsonObject { ["text"] = text }.ToJsonString()));
            Assert.Equal(HttpStatusCode.OK, res.StatusCode);
            return (string)JsonNode.Parse(await res.Content.ReadAsStringAsync())!["id"]!;
        }

        await CaptureAsync();
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        var ids = new List<string>();
        long peak = 0;
        for (int i = 0; i < 24; i++)
        {
            ids.Add(await CaptureAsync());
            if (i % 6 == 5) peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - baseline);
        }
        // Bounded by the budget (plus slack for the runtime's own buffers), not by 24 captures (≈ 750 MB).
        Assert.True(peak < budget + (48L << 20), $"managed memory grew by {peak >> 20} MB");
        using (var last = await http.GetAsync($"/api/data/{ids[^1]}/att/encoder/0")) Assert.Equal(HttpStatusCode.OK, last.StatusCode);
        using (var first = await http.GetAsync($"/api/data/{ids[0]}/att/encoder/0")) Assert.Equal(HttpStatusCode.NotFound, first.StatusCode);
    }
}

[CollectionDefinition("server memory", DisableParallelization = true)]
public sealed class ServerMemoryCollection;
