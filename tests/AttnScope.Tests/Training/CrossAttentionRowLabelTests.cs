using AttnScope.Capture;
using AttnScope.Cli;
using AttnScope.Tests.Support;
using AttnScope.Training.Decoding;
using AttnScope.Views.Static;

namespace AttnScope.Tests.Training;

/// <summary>Static cross-attention views and decoding animations label a translation's rows the same way: the
/// decoder input the step read and the piece it produced.</summary>
public class CrossAttentionRowLabelTests(TinyRunFixture fixture) : IClassFixture<TinyRunFixture>
{
    [Fact]
    public void StaticViewsAndAnimationsAgreeOnRowLabels()
    {
        var translator = Translator.Open(fixture.Run);
        var capture = translator.Capture(translator.Translate("the dog sees the cat .", beam: 1));
        var targets = capture.TargetTokens;

        var layout = new HeatmapRenderer().Layout(capture, new HeatmapOptions { Stack = AttentionStack.Cross, Heads = HeadSelection.Mean });
        var rows = layout.RowLabels.OrderBy(l => l.Index).Select(l => l.Text).ToList();
        Assert.Equal(targets.Count, rows.Count);
        Assert.StartsWith("<bos>→", rows[0]);
        Assert.EndsWith("→<eos>", rows[^1]);
        for (int t = 0; t + 1 < targets.Count; t++)
            Assert.Equal(TokenText.Printable(targets[t].Text) + "→" + TokenText.Printable(targets[t + 1].Text), rows[t]);

        // one frame per step, captioned with that step's row label
        var frames = TranslationAnimation.DecodingFrames(capture, 0, "tiny");
        try
        {
            Assert.Equal(rows.Select((r, t) => $"step {t + 1} of {rows.Count}: {r}"), frames.Select(f => f.Caption));
        }
        finally { foreach (var f in frames) f.Image.Dispose(); }
    }
}
