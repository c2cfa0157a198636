using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Web.Data;
using AttnScope.Web.Offline;
using AttnScope.Web.Server;
using Microsoft.Playwright;

namespace AttnScope.Tests.Web;

/// <summary>
/// One headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) and one in-process viewer server on an
/// ephemeral loopback port, shared by the browser tests. A missing Chromium fails every test that needs it.
/// </summary>
public sealed class ViewerFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string XssToken = "<img src=x onerror=alert(1)>";

    public TempDir Dir { get; } = new();
    public string CapturesDir => Path.Combine(Dir.Path, "captures");
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    internal ViewerServer Server { get; private set; } = null!;

    /// <summary>9 tokens, 3 layers × 4 heads, realistic patterns.</summary>
    public AttentionCapture Small { get; } = SyntheticCaptures.Realistic(9, layers: 3, heads: 4);
    /// <summary>A sentence pair with the XSS token in sentence B.</summary>
    public AttentionCapture Xss { get; } = XssCapture();
    /// <summary>Encoder, decoder and cross stacks (source and target tokens).</summary>
    public AttentionCapture Seq2Seq { get; } = Seq2SeqCapture();

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"the browser tests need Chromium at {ChromiumPath}: run scripts/setup-debian.sh (it installs Debian's chromium)");
        Directory.CreateDirectory(CapturesDir);
        Small.Save(Path.Combine(CapturesDir, "small.safetensors"));
        Xss.Save(Path.Combine(CapturesDir, "xss.safetensors"));
        Seq2Seq.Save(Path.Combine(CapturesDir, "seq2seq.safetensors"));
        File.WriteAllText(Path.Combine(Dir.Path, "secret.safetensors"), "outside the captures folder");
        Server = await ViewerServer.StartAsync(new ViewerServerOptions { CapturesDir = CapturesDir, Port = 0, MaxConcurrentCaptures = 2 });
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        Playwright?.Dispose();
        if (Server is not null) await Server.DisposeAsync();
        Dir.Dispose();
    }

    /// <summary>Writes the offline page of a capture and returns its file:// URL.</summary>
    public string OfflinePage(AttentionCapture capture, string name)
    {
        var path = Dir.File(name + ".html");
        File.WriteAllText(path, AttnScope.Web.Offline.OfflinePage.Build(new ViewerData(capture, name)));
        return new Uri(path).AbsoluteUri;
    }

    /// <summary>A fresh page (own context) of 1400×900 that fails the test on any script error or dialog.</summary>
    public async Task<(IBrowserContext Context, IPage Page, List<string> Problems)> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
            AcceptDownloads = true,
        });
        var page = await context.NewPageAsync();
        var problems = new List<string>();
        page.PageError += (_, e) => problems.Add("page error: " + e);
        page.Console += (_, m) => { if (m.Type == "error") problems.Add("console error: " + m.Text); };
        page.Dialog += (_, d) => { problems.Add("dialog: " + d.Message); _ = d.DismissAsync(); };
        return (context, page, problems);
    }

    private static AttentionCapture XssCapture()
    {
        var tokens = SyntheticCaptures.Tokens(8, pair: true);
        tokens[5] = tokens[5] with { Text = XssToken };
        var stack = new AttentionStack(AttentionStack.Encoder, SyntheticCaptures.RandomAttention(2, 3, 8, seed: 7))
        {
            Query = SyntheticCaptures.Random([2, 3, 8, 4], 8),
            Key = SyntheticCaptures.Random([2, 3, 8, 4], 9),
        };
        return new AttentionCapture(new CaptureMetadata { ModelId = "synthetic", Architecture = "bert", Source = "managed" }, tokens, [stack]);
    }

    private static AttentionCapture Seq2SeqCapture()
    {
        var src = SyntheticCaptures.Tokens(7);
        var tgt = new List<CaptureToken>
        {
            new("<s>", 0, -1, -1, Segment.A, true), new("Die", 1, 0, 3, Segment.A, false), new("Katze", 2, 4, 9, Segment.A, false),
            new("schläft", 3, 10, 17, Segment.A, false), new("</s>", 4, -1, -1, Segment.A, true),
        };
        var meta = new CaptureMetadata { ModelId = "synthetic-seq2seq", Architecture = "marian", Source = "managed" };
        return new AttentionCapture(meta, src,
        [
            new AttentionStack(AttentionStack.Encoder, SyntheticCaptures.RandomAttention(2, 2, 7, seed: 11)),
            new AttentionStack(AttentionStack.Decoder, SyntheticCaptures.RandomAttention(2, 2, 5, seed: 12)),
            new AttentionStack(AttentionStack.Cross, SyntheticCaptures.RandomAttention(2, 2, 5, seed: 13, keys: 7)),
        ], tgt);
    }
}

[CollectionDefinition("browser")]
public sealed class BrowserCollection : ICollectionFixture<ViewerFixture>;
