using AttnScope.Analyses.Circuits;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Tests.Views;
using AttnScope.Views.Analyses;
using AttnScope.Views.Static;
using SkiaSharp;
using Xunit;

namespace AttnScope.Tests.Circuits;

public class CircuitViewTests
{
    private static CircuitMap Signed() => new()
    {
        Kind = "dla_heads", Metric = "direct logit attribution per head to logit(5) − logit(7) at position 11",
        Values = new FloatTensor([2, 4], [1.5f, -0.5f, 0f, 0.25f, -1.5f, 0.75f, 0.1f, -0.2f]),
        RowAxis = "layer", ColumnAxis = "head", RowLabels = CircuitMap.Numbers(2), ColumnLabels = CircuitMap.Numbers(4), Signed = true,
    };

    [Fact]
    public void MapsSurviveACaptureFile()
    {
        var model = CircuitModels.Load("tiny-gpt2");
        var ids = CircuitModels.Prompt("tiny-gpt2");
        var diff = CircuitModels.TopVersusBottom(model, ids);
        var dla = DirectLogitAttribution.Run(model, ids, diff);
        var lens = LogitLens.Run(model, ids, topK: 2);
        var capture = ViewTestCaptures.OneHot(4, 1, 1)
            .WithAnalyses([dla.ToHeadMap().ToAnalysis(), dla.ToLayerMap().ToAnalysis(), .. lens.ToAnalyses(i => $"tok{i}")]);
        using var dir = new TempDir();
        capture.Save(dir.File("c.safetensors"));
        var back = AttentionCapture.Load(dir.File("c.safetensors"));
        var maps = CircuitMap.All(back);
        Assert.Equal(["dla_heads", "dla_layers", "logit_lens"], maps.Select(m => m.Kind).Order());
        var heads = CircuitMap.From(back, "dla_heads")!;
        Assert.Equal(dla.HeadValues, heads.Values.Data);
        Assert.True(heads.Signed);
        Assert.Equal(dla.ToHeadMap().Metric, heads.Metric);
        Assert.Equal(diff.Target, (int)heads.Info["target"]!);
        var lensBack = CircuitMap.From(back, "logit_lens")!;
        Assert.Equal($"tok{lens.Top(0, 0).Id}", lensBack.CellTexts![0]);
        Assert.Equal(["heads", "attn bias", "mlp"], CircuitMap.From(back, "dla_layers")!.ColumnLabels);
        Assert.Contains("no circuit map 'nope'", Assert.Throws<AttnScopeException>(() => CircuitViews.FromCapture(back, "nope")).Message);
    }

    [Fact]
    public void MalformedMapInfoIsOneClearLine()
    {
        var a = new CaptureAnalysis("circuits.x", new FloatTensor([2, 2]), new System.Text.Json.Nodes.JsonObject { ["metric"] = "m", ["row_labels"] = new System.Text.Json.Nodes.JsonArray("a") });
        var e = Assert.Throws<AttnScopeException>(() => CircuitMap.From(a));
        Assert.Contains("circuits.x", e.Message);
        Assert.Contains("row labels", e.Message);
    }

    [Fact]
    public void SignedMapsDrawOnADivergingScaleCentredOnZero()
    {
        var map = Signed();
        var layout = CircuitViews.Layout(map);
        Assert.Equal(-1.5f, layout.ColorScale.Min);
        Assert.Equal(1.5f, layout.ColorScale.Max);
        Assert.Equal("rdbu", new CircuitViewOptions().ColorMapFor(map));
        using var bmp = SKBitmap.Decode(CircuitViews.RenderPng(map));
        Assert.Equal(layout.Width, bmp.Width);
        Assert.Equal(layout.Height, bmp.Height);
        SKColor At(int r, int c)
        {
            var rect = layout.Cells.Single(x => x.Row == r && x.Col == c).Rect;
            return bmp.GetPixel((int)rect.Left + 2, (int)rect.Top + 2); // a corner pixel, away from the printed number
        }
        var pos = At(0, 0); var neg = At(1, 0); var zero = At(0, 2);
        Assert.True(pos.Red > pos.Blue + 60, $"positive cell {pos}");
        Assert.True(neg.Blue > neg.Red + 60, $"negative cell {neg}");
        Assert.True(zero.Red > 200 && zero.Green > 200 && zero.Blue > 200, $"zero cell {zero}");
        Assert.Equal("1.50", layout.Cells[0].Text);
        Assert.Contains(layout.Texts, t => t.Text == "layer");
        Assert.Contains(layout.Texts, t => t.Text == "head");
        Assert.StartsWith("direct logit attribution", layout.Title);
    }

    [Fact]
    public void UnsignedMapsStartAtZeroAndLongTitlesWrap()
    {
        var map = Signed() with
        {
            Signed = false, Kind = "induction_head", Values = new FloatTensor([2, 4], [0, 0.2f, 0.4f, 0.6f, 0.8f, 1, 0.1f, 0.3f]),
            Metric = string.Join(" ", Enumerable.Repeat("induction_head score (TransformerLens detect_head, measure mul)", 4)),
        };
        var layout = CircuitViews.Layout(map);
        Assert.Equal(0f, layout.ColorScale.Min);
        Assert.Equal(1f, layout.ColorScale.Max);
        Assert.NotEmpty(layout.MoreTitle);
        Assert.True(FontSet.Default.Measure(layout.Title, layout.TitleFont, bold: true) <= layout.Width);
    }

    [Fact]
    public void LongPositionLabelsTurnAndBoundedScoresKeepTheirScale()
    {
        int n = 40;
        var map = Signed() with
        {
            Kind = "patch_resid_pre", ColumnAxis = "position", Values = new FloatTensor([2, n], [.. Enumerable.Range(0, 2 * n).Select(i => (i % 7) / 10f)]),
            ColumnLabels = [.. Enumerable.Range(0, n).Select(p => $"{p}: token number {p}")], Signed = false, ColorMax = 1,
        };
        var layout = CircuitViews.Layout(map);
        Assert.Equal(1f, layout.ColorScale.Max);
        Assert.Contains(layout.Texts, t => t.Rotate == -90 && t.Text.StartsWith("0: token"));
        Assert.Equal("-0.00" == CircuitMapLayout.Format(-0.001f) ? "bad" : "0.00", CircuitMapLayout.Format(-0.001f));
        var folder = Environment.GetEnvironmentVariable("ATTNSCOPE_FIGURES");
        if (!string.IsNullOrEmpty(folder)) File.WriteAllBytes(Path.Combine(folder, "long.png"), CircuitViews.RenderPng(map));
    }

    [Fact]
    public void RenderedFiguresForInspection()
    {
        // Writes the figures of the tiny GPT-2 to a folder when ATTNSCOPE_FIGURES is set (for looking at them).
        var model = CircuitModels.Load("tiny-gpt2");
        var ids = CircuitModels.Prompt("tiny-gpt2");
        var diff = CircuitModels.TopVersusBottom(model, ids);
        var corrupted = (int[])ids.Clone();
        corrupted[2] = (corrupted[2] + 5) % 250;
        var maps = new List<CircuitMap>
        {
            DirectLogitAttribution.Run(model, ids, diff).ToHeadMap(),
            DirectLogitAttribution.Run(model, ids, diff).ToLayerMap(),
            HeadAblation.Run(model, ids, diff, AblationKind.Mean).ToMap(),
            ActivationPatching.Heads(model, ids, corrupted, diff).ToMap(),
            ActivationPatching.ResidPre(model, ids, corrupted, diff).ToMap(positionLabels: [.. ids.Select((t, p) => $"{p}:{t}")]),
            HeadDetector.Detect(model, HeadDetector.RepeatedTokens(model.Spec, 10, 2), DetectedHead.Induction).ToMap(),
            LogitLens.Run(model, ids, 3).ToMap(i => $"t{i}"),
        };
        var folder = Environment.GetEnvironmentVariable("ATTNSCOPE_FIGURES");
        foreach (var m in maps)
        {
            var png = CircuitViews.RenderPng(m, new CircuitViewOptions { ModelId = "tiny-gpt2" });
            Assert.True(png.Length > 1000);
            if (!string.IsNullOrEmpty(folder)) File.WriteAllBytes(Path.Combine(folder, m.Kind + ".png"), png);
        }
    }
}
