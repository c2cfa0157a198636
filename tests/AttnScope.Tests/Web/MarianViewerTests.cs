using AttnScope.Capture;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Tests.Core;
using static AttnScope.Tests.Web.ViewerPage;

namespace AttnScope.Tests.Web;

/// <summary>A pretrained Marian translation's capture (tiny-marian + tiny-marian-spm) opens in the browser viewer: the
/// stack selector reaches the cross attention, whose drawing puts target tokens against source tokens.</summary>
[Collection("browser")]
public sealed class MarianViewerTests(ViewerFixture fx)
{
    [Fact]
    public async Task AMarianCaptureOpensWithSourceTargetAndCrossAttention()
    {
        var dir = MarianTranslatorTests.MakeFolder(MarianTranslatorTests.Fit40);
        AttentionCapture cap;
        try
        {
            var tr = Seq2SeqTranslator.Load(dir);
            cap = tr.Capture(tr.Translate(">>de<< the river at night", 2, 1.0), "tiny-marian");
        }
        finally { Directory.Delete(dir, true); }
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.OfflinePage(cap, "marian"));
        await WaitReadyAsync(page);
        Assert.True(await page.Locator("[data-control=\"stack\"]").IsVisibleAsync());
        await SetControlAsync(page, "stack", "cross");
        var texts = Texts(await SvgAsync(page));
        string Label(CaptureToken t) => TokenText.Printable(t.Text);
        Assert.Contains(Label(cap.TargetTokens[0]), texts);   // <pad>: the decoder start, a query
        Assert.Contains(Label(cap.Tokens[^1]), texts);         // </s> of the source, a key
        Assert.Contains(Label(cap.Tokens[1]), texts);
        var lines = Lines(await SvgAsync(page));
        Assert.NotEmpty(lines);
        Assert.True(lines.Max(l => l.Q) < cap.TargetTokens.Count && lines.Max(l => l.K) < cap.Tokens.Count);
        await SetControlAsync(page, "stack", "decoder");
        Assert.Contains(Label(cap.TargetTokens[^1]), Texts(await SvgAsync(page)));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
