using System.Text;
using AttnScope.Analyses.Norms;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Web.Data;
using AttnScope.Web.Offline;

namespace AttnScope.Tests.Web;

/// <summary>Issue 14: <c>attnscope html</c> streams the page section by section; the page is the same, byte for byte,
/// as the one built whole in memory before, and writing it allocates about the page's binary size, not several times
/// the page.</summary>
public sealed class OfflinePageStreamTests
{
    private static readonly string[] Names = ["small", "pair", "seq2seq", "generation", "analyses", "norm-stored", "qkv"];

    public static TheoryData<string> Captures() => new(Names);

    private static AttentionCapture Make(string name) => name switch
    {
        "small" => SyntheticCaptures.Realistic(9, layers: 3, heads: 4),
        "pair" => SyntheticCaptures.Realistic(12, layers: 2, heads: 3, pair: true),
        "seq2seq" => DecodingStepCaptures.Translation(),
        "generation" => GenerationCaptures.Gpt2Like(layers: 2, heads: 4, kvHeads: 2),
        "analyses" => AnalysisCaptures.Encoder(10, 3, 4),
        "norm-stored" => WithStoredNorms(),
        _ => SyntheticCaptures.Encoder(2, 3, 7, seed: 2, qkv: true),
    };

    private static AttentionCapture WithStoredNorms()
    {
        var cap = SyntheticCaptures.Encoder(2, 2, 6, seed: 8, qkv: true);
        return cap.WithAnalyses([NormAttention.Compute(cap).ToAnalysis()]);
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void TheStreamedPageIsByteForByteThePageBuiltWholeBefore(string name)
    {
        var data = new ViewerData(Make(name), name + " <title & \"quotes\">");
        const string nonce = "dGVzdC1ub25jZS0xMjM0NQ==";
        var before = Encoding.UTF8.GetBytes(LegacyOfflinePage.Build(data, nonce));
        using var ms = new MemoryStream();
        long written = OfflinePage.Write(data, ms, nonce);
        Assert.Equal(before.LongLength, written);
        Assert.True(before.AsSpan().SequenceEqual(ms.ToArray()), $"the streamed page of '{name}' differs from the page built whole");
        Assert.Equal(LegacyOfflinePage.Bundle(data), ViewerBundle.Build(data));
    }

    [Fact]
    public void EveryDeclaredSectionLengthIsTheSectionsLength()
    {
        foreach (var name in Names)
        {
            var data = new ViewerData(Make(name), name);
            foreach (var s in data.SectionNames(true, true)) Assert.Equal(data.Section(s).LongLength, data.SectionLength(s));
        }
    }

    [Fact]
    public void WritingAPageAllocatesAboutItsBinarySizeNotTheWholePageSeveralTimes()
    {
        var data = new ViewerData(SyntheticCaptures.Realistic(256, layers: 4, heads: 8), "large");
        long bundle = ViewerBundle.Build(data).LongLength;
        var path = Path.GetTempFileName();
        try
        {
            using var file = new FileStream(path, FileMode.Create);
            OfflinePage.Write(data, file); // warm: the assets and the script bundle are read once
            file.SetLength(0);
            long before = GC.GetAllocatedBytesForCurrentThread();
            long written = OfflinePage.Write(data, file);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(written > bundle * 4 / 3, $"page {written} bytes, bundle {bundle}");
            // Each section is made once (about the bundle's size in all) plus buffers; the old page held the bundle,
            // its base64 string, a StringBuilder and the page string: about 10 times the bundle.
            Assert.True(allocated < bundle * 3 / 2 + (4 << 20), $"writing the page allocated {allocated} bytes for a {bundle}-byte bundle");
        }
        finally { File.Delete(path); }
    }
}
