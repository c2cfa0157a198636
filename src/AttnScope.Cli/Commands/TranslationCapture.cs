using AttnScope.Capture;
using AttnScope.Training.Decoding;

namespace AttnScope.Cli;

/// <summary><c>attnscope capture --model RUN_FOLDER --text ...</c>: translate (beam 4) and save the encoder, decoder and cross attention.</summary>
internal static class TranslationCapture
{
    public static int Run(CliOutput output, string runFolder, string text, string path)
    {
        var translator = Translator.Open(runFolder);
        var t = translator.Translate(text, beam: 4);
        var cap = translator.Capture(t);
        foreach (var w in cap.Metadata.Warnings) output.Warn(w);
        cap.Save(path);
        output.Out.WriteLine($"wrote {path}: {cap.Tokens.Count} source and {cap.TargetTokens.Count} target tokens, " +
                             $"encoder.attention {cap.Stack(AttentionStack.Encoder).Attention.ShapeText}, " +
                             $"decoder.attention {cap.Stack(AttentionStack.Decoder).Attention.ShapeText}, " +
                             $"cross.attention {cap.Stack(AttentionStack.Cross).Attention.ShapeText} (translation: {TokenText.Printable(t.Text)})");
        return 0;
    }
}
