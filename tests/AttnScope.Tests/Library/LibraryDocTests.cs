using System.Text.RegularExpressions;
using System.Xml.Linq;
using AttnScope.Capture;
using AttnScope.Tests.Packaging;
using AttnScope.Tests.Support;
using SkiaSharp;

namespace AttnScope.Tests.Library;

/// <summary>
/// docs/library.md's example is LibraryExample.cs verbatim, and it runs. Its outputs are checked against things the
/// facade does not compute: rollout is recomputed here from the saved attention by the paper's recipe (in doubles),
/// the PNG is decoded by SkiaSharp, and the capture's attention rows must be distributions.
/// </summary>
public class LibraryDocTests
{
    private static string ExampleFile => Path.Combine(ToolPackageTests.RepositoryRoot(), "tests", "AttnScope.Tests", "Library", "LibraryExample.cs");

    internal static string GuideExample()
    {
        var doc = File.ReadAllText(Path.Combine(ToolPackageTests.RepositoryRoot(), "docs", "library.md")).Replace("\r\n", "\n");
        var blocks = Regex.Matches(doc, "```csharp\n(.*?)```", RegexOptions.Singleline);
        Assert.True(blocks.Count == 1, $"docs/library.md should hold one csharp block, not {blocks.Count}");
        return blocks[0].Groups[1].Value;
    }

    [Fact]
    public void TheGuideShowsTheExampleFileVerbatim()
    {
        var file = File.ReadAllText(ExampleFile).Replace("\r\n", "\n");
        Assert.Equal(file.TrimEnd(), GuideExample().TrimEnd());
    }

    [Fact]
    public void TheExampleRunsAndItsOutputsAreRight()
    {
        using var dir = new TempDir();
        LibraryExample.Run(dir.Path);

        var capture = AttentionCapture.Load(dir.File("cat.safetensors"));
        var att = capture.Stack(AttentionStack.Encoder).Attention;
        int n = capture.Tokens.Count;
        Assert.Equal(new[] { 6, 12, n, n }, att.Shape);
        Assert.Contains(capture.Tokens, t => t.Text == "cat");
        Assert.Contains(capture.Tokens, t => t.Text == "warm");
        var a = att.Data;
        for (long row = 0; row < a.Length / n; row++)
        {
            double sum = 0;
            for (int k = 0; k < n; k++) sum += a[row * n + k];
            Assert.InRange(sum, 1 - 1e-4, 1 + 1e-4);
        }

        // Rollout by hand: A_l = mean over heads + I, rows renormalised; joint = A_5 · … · A_0.
        var joint = Identity(n);
        for (int l = 0; l < 6; l++)
        {
            var m = new double[n, n];
            for (int h = 0; h < 12; h++)
                for (int q = 0; q < n; q++)
                    for (int k = 0; k < n; k++)
                        m[q, k] += a[((long)(l * 12 + h) * n + q) * n + k] / 12.0;
            for (int q = 0; q < n; q++)
            {
                m[q, q] += 1;
                double s = 0;
                for (int k = 0; k < n; k++) s += m[q, k];
                for (int k = 0; k < n; k++) m[q, k] /= s;
            }
            joint = Multiply(m, joint);
        }
        var saved = capture;
        var rollout = Analyze.Rollout(saved);
        var final = rollout.Final.ToArray();
        for (int q = 0; q < n; q++)
            for (int k = 0; k < n; k++)
                Assert.True(Math.Abs(final[q * n + k] - joint[q, k]) < 1e-4, $"rollout [{q},{k}] {final[q * n + k]} vs {joint[q, k]}");

        using (var png = SKBitmap.Decode(dir.File("layer2-head5.png")))
        {
            Assert.NotNull(png);
            Assert.True(png.Width > 100 && png.Height > 100, $"heatmap {png.Width}×{png.Height}");
        }
        var svg = File.ReadAllText(dir.File("layer5-mean.svg"));
        Assert.Contains("<svg", svg);
        Assert.Contains(">cat<", svg); // the tokens label the axes
        var page = File.ReadAllText(dir.File("viewer.html"));
        Assert.Contains("<html", page, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("the cat", page);
    }

    [Fact]
    public void BadInputGivesAClearError()
    {
        using var dir = new TempDir();
        var missing = dir.File("no-such-model");
        var e = Assert.Throws<AttnScopeException>(() => AttnModel.Load(missing));
        Assert.Contains("no-such-model", e.Message);
        var capture = SyntheticCaptures.Encoder(layers: 2, heads: 2, n: 4);
        Assert.Throws<AttnScopeException>(() => Render.Heatmap(capture, layer: 9, head: 0, dir.File("x.png")));
        Assert.Throws<AttnScopeException>(() => OfflineViewer.Write(capture, dir.File("page.png")));
        Assert.False(File.Exists(dir.File("page.png")));
    }

    [Fact]
    public void ADecoderFolderLoadsAsADecoderAndItsAttentionIsCausal()
    {
        // tiny-gpt2 (random weights; its forward pass matches PyTorch in DecoderGoldenTests). Checked here: the facade
        // picks the decoder path, and the attention is causal with rows that are distributions.
        using var model = AttnModel.Load(Core.DecoderGoldenTests.Folder("tiny-gpt2"));
        Assert.True(model.IsDecoder);
        var capture = model.Capture("the cat sat");
        Assert.False(capture.Stacks.ContainsKey(AttentionStack.Encoder));
        var att = capture.Stack(AttentionStack.Decoder).Attention;
        int n = capture.Tokens.Count;
        Assert.True(n >= 3, $"{n} tokens");
        var a = att.Data;
        for (long row = 0; row < a.Length / n; row++)
        {
            int q = (int)(row % n);
            double sum = 0;
            for (int k = 0; k < n; k++)
            {
                if (k > q) Assert.Equal(0f, a[row * n + k]);
                sum += a[row * n + k];
            }
            Assert.InRange(sum, 1 - 1e-4, 1 + 1e-4);
        }
        Assert.Equal(att.Shape[0], Analyze.Rollout(capture).Steps);
        Assert.Throws<AttnScopeException>(() => model.Capture("a", "b"));
        Assert.Throws<AttnScopeException>(() => AttnModel.Load(Core.DecoderGoldenTests.Folder("tiny-gpt2"), onnxRuntime: true));
    }

    [Fact]
    public void EveryPublicMemberOfTheFacadeIsDocumented()
    {
        var xml = Path.Combine(AppContext.BaseDirectory, "AttnScope.Library.xml");
        Assert.True(File.Exists(xml), $"no {xml}: GenerateDocumentationFile is off for AttnScope.Library");
        var documented = XDocument.Load(xml).Descendants("member").Select(m => (string)m.Attribute("name")!).ToHashSet();
        var types = typeof(AttnModel).Assembly.GetExportedTypes();
        Assert.Equal(new[] { "Analyze", "AttnModel", "OfflineViewer", "Render" }, types.Select(t => t.Name).Order().ToArray());
        foreach (var t in types)
        {
            Assert.Contains("T:" + t.FullName, documented);
            foreach (var m in t.GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly).Where(m => !m.IsSpecialName))
                Assert.Contains(documented, d => d.StartsWith($"M:{t.FullName}.{m.Name}", StringComparison.Ordinal));
        }
    }

    private static double[,] Identity(int n)
    {
        var m = new double[n, n];
        for (int i = 0; i < n; i++) m[i, i] = 1;
        return m;
    }

    private static double[,] Multiply(double[,] x, double[,] y)
    {
        int n = x.GetLength(0);
        var r = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++)
                for (int j = 0; j < n; j++)
                    r[i, j] += x[i, k] * y[k, j];
        return r;
    }
}
