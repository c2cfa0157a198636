using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Decoding;

namespace AttnScope.Cli;

/// <summary><c>attnscope translate RUN --text "..." [--beam 4] [--animate out.gif] [--capture cap.safetensors]</c></summary>
public static class TranslateCommand
{
    public static Command Create(CliOutput output)
    {
        var run = new Argument<string>("run") { Description = "a run folder made by 'attnscope train'" };
        var text = new Option<string?>("--text", "-t") { Description = "the sentence to translate" };
        var textFile = new Option<string?>("--text-file") { Description = "read the sentence from a UTF-8 file ('-' for standard input)" };
        var beam = new Option<int>("--beam") { Description = "beam size (1 = greedy)", DefaultValueFactory = _ => 4 };
        var capture = new Option<string?>("--capture") { Description = "save the translation's encoder, decoder and cross attention as a capture (.safetensors)" };
        var animate = new Option<string?>("--animate") { Description = "write the cross attention step by step as the translation is produced, as an animated .gif" };
        var layer = new Option<int?>("--layer") { Description = "decoder layer for --animate (default: the best-aligned layer of the last evaluation, else the last)" };
        var cmd = new Command("translate", "Translate a sentence with a trained model; optionally capture or animate its attention.")
        {
            run, text, textFile, beam, capture, animate, layer,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            int beamSize = r.GetValue(beam);
            if (beamSize < 1 || beamSize > 64) throw new AttnScopeException($"--beam {beamSize} is out of range (1..64)");
            var animation = r.GetValue(animate);
            if (animation is not null && !animation.EndsWith(".gif", StringComparison.OrdinalIgnoreCase))
                throw new AttnScopeException($"cannot write animation '{animation}': only .gif is supported");
            if (r.GetValue(layer) is not null && animation is null)
                throw new AttnScopeException("--layer chooses the decoder layer of --animate; give --animate FILE.gif too");
            // Every output and the animation's layer are checked before any work, so a bad one writes nothing.
            if (r.GetValue(capture) is { } capturePath) AtomicFile.CheckWritable(capturePath);
            if (animation is not null) AtomicFile.CheckWritable(animation);
            var folder = r.GetValue(run)!;
            var translator = Translator.Open(folder);
            int decoderLayers = translator.Model.Config.DecoderLayers;
            if (animation is not null && r.GetValue(layer) is { } asked && (uint)asked >= (uint)decoderLayers)
                throw new AttnScopeException($"layer {asked} is out of range: the model has {decoderLayers} decoder layers (0..{decoderLayers - 1})");
            var input = TextInput.Read(r.GetValue(text), r.GetValue(textFile), "--text", required: true)!;
            var t = translator.Translate(input, beamSize);
            foreach (var w in t.Warnings) output.Warn(w);
            output.Out.WriteLine(TokenText.Printable(t.Text)); // model output is data: never let it drive the terminal
            if (r.GetValue(capture) is null && animation is null) return 0;
            var cap = translator.Capture(t);
            if (r.GetValue(capture) is { } path)
            {
                cap.Save(path);
                output.Err.WriteLine($"attnscope: wrote {path}: {cap.Tokens.Count} source and {cap.TargetTokens.Count} target tokens, cross.attention {cap.Stack(AttentionStack.Cross).Attention.ShapeText}");
            }
            if (animation is not null)
            {
                int l = r.GetValue(layer) ?? RunFolder.Open(folder).BestAlignmentLayer() ?? decoderLayers - 1;
                var frames = TranslationAnimation.DecodingFrames(cap, l, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))));
                int count = frames.Count;
                TranslationAnimation.Save(animation, frames, delayMs: 900);
                output.Err.WriteLine($"attnscope: wrote {animation}: {count} decoding steps, cross attention of layer {l}");
            }
            return 0;
        }));
        return cmd;
    }
}
