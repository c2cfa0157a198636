using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Tests.Training;
using AttnScope.Training.Decoding;
using AttnScope.Training.Text;
using AttnScope.Web.Data;

namespace AttnScope.Tests.Web;

/// <summary>The decoding-step frames of the viewer's meta JSON.</summary>
public class DecodingStepMetaTests
{
    [Fact]
    public void TranslationCaptureHasOneStepPerCrossRowNamingTheProducedPiece()
    {
        var meta = new ViewerData(DecodingStepCaptures.Translation(), "t").Meta("inline");
        var steps = meta["steps"]!.AsArray();
        Assert.Equal(5, steps.Count);
        Assert.Equal(["step 1: produced '▁der'", "step 2: produced '▁Hund'", "step 3: produced '▁<b>schläft</b>'",
            "step 4: produced '.'", "step 5: produced '</s>'"], steps.Select(s => (string)s!["caption"]!));
        Assert.All(steps, s => Assert.Equal("cross", (string)s!["stack"]!));
        Assert.Equal([0, 1, 2, 3, 4], steps.Select(s => (int)s!["step"]!));
        Assert.Equal("▁Hund", (string)steps[1]!["produced"]!);
        // The layer frames stay as they were: every layer of every stack.
        Assert.Equal(6, meta["frames"]!.AsArray().Count);
        Assert.All(meta["frames"]!.AsArray(), f => Assert.Null(f!["step"]));
    }

    [Fact]
    public void TranslatorCaptureStepsNameEachProducedPieceThenTheEndOfSentence()
    {
        var vocab = SubwordVocabulary.Learn(["der Hund schläft", "the dog sleeps", "die Katze schläft", "the cat sleeps"], 40);
        var translator = new Translator(TransformerGradientTests.Tiny(vocab: vocab.Size), vocab, "tiny");
        var cap = translator.CaptureReference("the dog sleeps", "der Hund schläft");
        var pieces = vocab.Encode("der Hund schläft").Pieces;
        var steps = new ViewerData(cap, "t").Meta("inline")["steps"]!.AsArray();
        Assert.Equal(pieces.Length + 1, steps.Count);
        for (int t = 0; t < pieces.Length; t++)
            Assert.Equal($"step {t + 1}: produced '{pieces[t]}'", (string)steps[t]!["caption"]!);
        Assert.Equal($"step {pieces.Length + 1}: produced '{vocab.PieceText(SubwordVocabulary.EosId)}'", (string)steps[^1]!["caption"]!);
    }

    [Fact]
    public void StepCaptionsUseThePrintableTokenText()
    {
        var cap = DecodingStepCaptures.Translation();
        var tgt = cap.TargetTokens.ToList();
        tgt[2] = tgt[2] with { Text = "Hu\nnd\u0007" };
        var odd = new AttentionCapture(cap.Metadata, cap.Tokens, cap.Stacks.Values, tgt);
        var steps = new ViewerData(odd, "t").Meta("inline")["steps"]!.AsArray();
        Assert.Equal("step 2: produced 'Hu\\nnd\\u0007'", (string)steps[1]!["caption"]!);
    }

    [Fact]
    public void LastStepWithoutAnEndTokenSaysEndOfSentenceAndBertHasNoSteps()
    {
        var cap = DecodingStepCaptures.Translation();
        var src = cap.Tokens.ToList();
        src[^1] = src[^1] with { IsSpecial = false };
        var plain = new AttentionCapture(cap.Metadata, src, cap.Stacks.Values, cap.TargetTokens);
        var steps = new ViewerData(plain, "t").Meta("inline")["steps"]!.AsArray();
        Assert.Equal("step 5: produced the end of sentence", (string)steps[4]!["caption"]!);
        Assert.Null(steps[4]!["produced"]);

        var bert = new ViewerData(SyntheticCaptures.Realistic(9, layers: 3, heads: 4), "b").Meta("inline");
        Assert.Empty(bert["steps"]!.AsArray());
        Assert.Equal(3, bert["frames"]!.AsArray().Count);
    }
}
