using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Tests.Support;
using AttnScope.Web.Data;
using AttnScope.Web.Offline;
using AttnScope.Web.Server;

namespace AttnScope.Tests.Web;

/// <summary>The viewer's data sections, the offline bundle and page, and the server's parts, without a browser.</summary>
public class ViewerDataTests
{
    [Fact]
    public void QuantizedLayerIsWithinHalfAStepOfEveryValue()
    {
        var cap = SyntheticCaptures.Encoder(2, 3, 11, seed: 5);
        var bytes = new ViewerData(cap, "t").Section("att/encoder/1");
        int rows = 3 * 11;
        Assert.Equal(rows * 4 + rows * 11, bytes.Length);
        var att = cap.Stacks["encoder"].Attention;
        for (int h = 0; h < 3; h++)
            for (int q = 0; q < 11; q++)
            {
                int row = h * 11 + q;
                float scale = BitConverter.ToSingle(bytes, row * 4);
                float max = 0;
                for (int k = 0; k < 11; k++) max = Math.Max(max, att[1, h, q, k]);
                Assert.Equal(max, scale);
                for (int k = 0; k < 11; k++)
                {
                    float decoded = bytes[rows * 4 + row * 11 + k] * scale / 255f;
                    Assert.True(Math.Abs(decoded - att[1, h, q, k]) <= scale / 510f + 1e-7f);
                }
            }
    }

    [Fact]
    public void ExactAndQkSectionsAreTheCapturesFloats()
    {
        var cap = SyntheticCaptures.Encoder(2, 2, 6, seed: 3, qkv: true);
        var data = new ViewerData(cap, "t");
        var exact = data.Section("exact/encoder/1/0");
        var s = cap.Stacks["encoder"];
        Assert.Equal(s.Attention.Slice(1, 0).ToArray(), Floats(exact));
        var qk = Floats(data.Section("qk/encoder/0/1"));
        Assert.Equal(s.Query!.Slice(0, 1).ToArray().Concat(s.Key!.Slice(0, 1).ToArray()), qk);
        Assert.Equal(4, (int)data.Meta("inline")["stacks"]![0]!["headDim"]!);
    }

    [Fact]
    public void ThumbnailsKeepTheStrongestCellOfEachBlock()
    {
        var cap = SyntheticCaptures.OneHot(130, layers: 1, heads: 2);
        var thumbs = new ViewerData(cap, "t").Section("thumb/encoder/0");
        Assert.Equal(2 * 64 * 64, thumbs.Length);
        // Query 0 attends to key 1: block (0, 0) holds the maximum.
        Assert.Equal(255, thumbs[0]);
        Assert.Equal(0, thumbs[63]);
    }

    [Theory]
    [InlineData("att/encoder/6")]
    [InlineData("att/decoder/0")]
    [InlineData("exact/encoder/0/12")]
    [InlineData("qk/encoder/0/0")]
    [InlineData("att/encoder/-1")]
    [InlineData("../etc/passwd")]
    [InlineData("thumb/encoder/0/0/0")]
    public void UnknownSectionsAreNotFound(string name)
    {
        var data = new ViewerData(SyntheticCaptures.Encoder(6, 12, 5), "t");
        Assert.Throws<SectionNotFoundException>(() => data.Section(name));
    }

    [Fact]
    public void BundleHoldsTheMetaAndAlignedSections()
    {
        var cap = SyntheticCaptures.Encoder(2, 2, 7, qkv: true);
        var data = new ViewerData(cap, "t");
        var blob = ViewerBundle.Build(data);
        Assert.Equal("ASVB"u8.ToArray(), blob[..4]);
        int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4));
        var header = JsonNode.Parse(Encoding.UTF8.GetString(blob, 8, len))!;
        Assert.Equal("inline", (string?)header["meta"]!["exact"]);
        long start = (8 + len + 7) / 8 * 8;
        var sections = header["sections"]!.AsObject();
        Assert.Equal(data.SectionNames(includeExact: true).Count(), sections.Count);
        foreach (var (name, entry) in sections)
        {
            long off = (long)entry![0]!, n = (long)entry[1]!;
            Assert.Equal(0, (start + off) % 8);
            Assert.Equal(data.Section(name), blob.AsSpan((int)(start + off), (int)n).ToArray());
        }
    }

    [Fact]
    public void OfflinePageIsSelfContainedAndForbidsTheNetwork()
    {
        var html = OfflinePage.Build(new ViewerData(SyntheticCaptures.Encoder(1, 2, 4), "<b>title</b>"));
        Assert.Contains("connect-src 'none'", html);
        Assert.Contains("default-src 'none'", html);
        Assert.DoesNotContain("src=\"http", html);
        Assert.DoesNotContain("href=\"http", html);
        Assert.DoesNotContain(" import ", html.Replace("\n", " ").Split("<script type=\"module\"")[1].Split("\n")[0]);
        Assert.Contains("&lt;b&gt;title&lt;/b&gt;", html);
        Assert.DoesNotContain("<b>title</b>", html);
    }

    [Fact]
    public void BundlerJoinsModulesDependenciesFirstAndRefusesOtherImportForms()
    {
        var files = new Dictionary<string, string>
        {
            ["main.js"] = "import { a } from './a.js';\nimport { b } from './b.js';\nconsole.log(a, b);\n",
            ["a.js"] = "import { b } from './b.js';\nexport const a = b + 1;\n",
            ["b.js"] = "export function b() { return 1; }\n",
        };
        var js = ScriptBundler.Bundle("main.js", f => files[f]);
        Assert.True(js.IndexOf("function b", StringComparison.Ordinal) < js.IndexOf("const a", StringComparison.Ordinal));
        Assert.True(js.IndexOf("const a", StringComparison.Ordinal) < js.IndexOf("console.log", StringComparison.Ordinal));
        Assert.DoesNotContain("export", js);
        Assert.DoesNotContain("import", js);
        Assert.Single(js.Split("function b").Skip(1));
        files["main.js"] = "import * as x from './a.js';\n";
        Assert.Throws<InvalidOperationException>(() => ScriptBundler.Bundle("main.js", f => files[f]));
    }

    [Fact]
    public void EveryAssetModuleBundles()
    {
        var js = ScriptBundler.Bundle("main-offline.js", f => WebAssets.Text("js/" + f));
        Assert.Contains("class Viewer", js);
        Assert.Contains("class HeadView", js);
    }

    [Fact]
    public async Task LiveCapturesRefuseBeyondTheConcurrencyCap()
    {
        using var gate = new SemaphoreSlim(0);
        var cap = SyntheticCaptures.Encoder(1, 1, 3);
        using var live = new LiveCaptures(new ViewerServerOptions { MaxConcurrentCaptures = 1 }, (_, _, _) =>
        {
            gate.Wait();
            return cap;
        });
        var first = live.CaptureAsync("one", null, "managed", CancellationToken.None);
        await Task.Delay(50);
        var busy = await Assert.ThrowsAsync<HttpError>(() => live.CaptureAsync("two", null, "managed", CancellationToken.None));
        Assert.Equal(429, busy.Status);
        gate.Release();
        Assert.Same(cap, await first);
        gate.Release();
        Assert.Same(cap, await live.CaptureAsync("three", null, "onnx", CancellationToken.None));
    }

    [Fact]
    public async Task RemoteBindingNeedsTheExplicitFlag()
    {
        var e = await Assert.ThrowsAsync<AttnScopeException>(() => ViewerServer.StartAsync(new ViewerServerOptions { Host = "0.0.0.0", Port = 0 }));
        Assert.Contains("--allow-remote", e.Message);
        Assert.True(ViewerServer.IsLoopback("127.0.0.1"));
        Assert.True(ViewerServer.IsLoopback("::1"));
        Assert.False(ViewerServer.IsLoopback("0.0.0.0"));
    }

    private static float[] Floats(byte[] b) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(b).ToArray();
}
