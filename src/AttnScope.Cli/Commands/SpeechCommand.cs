using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using AttnScope.Analyses.Speech;
using AttnScope.Capture;
using AttnScope.Sources.Audio;
using AttnScope.Views.Speech;

namespace AttnScope.Cli;

/// <summary>
/// <c>attnscope capture --model DIR --audio FILE.wav [--max-new N] -o CAP</c> (greedy transcription through a Whisper
/// model with every attention) and <c>attnscope speech CAP --view cross|align [--layer L] [--head H] -o OUT.png</c>.
/// </summary>
internal static class SpeechCommand
{
    public static int Capture(CliOutput output, string modelDir, string audioPath, string path, int maxNew, string language)
    {
        if (!WhisperModel.IsSpeechFolder(modelDir))
            throw new AttnScopeException($"--audio needs a speech model (a folder whose config.json has model_type whisper); '{modelDir}' is not one");
        if (maxNew is < 0 or > 10_000) throw new AttnScopeException($"--max-new {maxNew} must be 0…10000");
        var model = WhisperModel.Load(modelDir);
        var clip = WavReader.Load(audioPath);
        var cap = SpeechCapture.Capture(model, clip, audioPath, modelDir, maxNew, language);
        foreach (var w in cap.Metadata.Warnings) output.Warn(w);
        cap.Save(path);
        var layout = SpeechLayout.Require(cap);
        output.Out.WriteLine($"wrote {path}: {cap.Tokens.Count} encoder frames, {cap.TargetTokens.Count} decoder tokens ({cap.TargetTokens.Count - layout.PromptLength} produced), " +
                             $"encoder.attention {cap.Stack(AttentionStack.Encoder).Attention.ShapeText}, cross.attention {cap.Stack(AttentionStack.Cross).Attention.ShapeText}; " +
                             $"transcript: {TokenText.Printable(layout.Transcript)}");
        return 0;
    }

    public static Command Create(CliOutput output)
    {
        var file = new Argument<string>("capture") { Description = "a capture of audio (attnscope capture --audio)" };
        var view = new Option<string>("--view") { Description = "cross (each produced token's cross-attention over the spectrogram) or align (words placed in time by DTW)", DefaultValueFactory = _ => "cross" };
        var layer = new Option<int?>("--layer", "-l") { Description = "cross: one decoder layer (default: the alignment heads, or the upper half of the layers)" };
        var head = new Option<int?>("--head") { Description = "cross: one head of --layer" };
        var full = new Option<bool>("--full") { Description = "draw the whole window the model read (30 s for Whisper), not only the audio" };
        var pps = new Option<float>("--pixels-per-second") { Description = "horizontal scale", DefaultValueFactory = _ => 200f };
        var cmap = new Option<string>("--colormap") { Description = "colour map (magma, viridis, …)", DefaultValueFactory = _ => "magma" };
        var json = new Option<string?>("--words") { Description = "align: also write the words with their times as JSON" };
        var raw = new Option<bool>("--raw-timing") { Description = "align: the raw DTW word times, without the timing heuristics (pause boundaries, long-word cut, snap to detected speech)" };
        var outPath = new Option<string>("--output", "-o") { Description = "image to write (.png)", Required = true };
        var cmd = new Command("speech", "Draw a speech capture: cross-attention over the spectrogram, or the word alignment from it.")
        {
            file, view, layer, head, full, pps, cmap, json, raw, outPath,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            var cap = AttentionCapture.Load(r.GetValue(file)!);
            SpeechLayout.Require(cap);
            var o = new SpeechViewOptions
            {
                Layer = r.GetValue(layer), Head = r.GetValue(head), FullWindow = r.GetValue(full), PixelsPerSecond = r.GetValue(pps), ColorMap = r.GetValue(cmap)!,
            };
            var path = r.GetValue(outPath)!;
            switch (r.GetValue(view))
            {
                case "cross":
                {
                    using var bmp = SpeechRenderer.RenderCross(cap, o);
                    SpeechRenderer.SavePng(path, bmp);
                    break;
                }
                case "align":
                {
                    if (o.Layer is not null || o.Head is not null) throw new AttnScopeException("--layer and --head are for --view cross; align uses the alignment heads");
                    var a = WordAlignment.Align(cap, null, r.GetValue(raw) ? null : new TimingOptions());
                    using var bmp = SpeechRenderer.RenderAlign(cap, a, o);
                    SpeechRenderer.SavePng(path, bmp);
                    foreach (var w in a.Words)
                        output.Out.WriteLine($"{w.Start.ToString("0.00", CultureInfo.InvariantCulture)}–{w.End.ToString("0.00", CultureInfo.InvariantCulture)} s  {TokenText.Printable(w.Text)}");
                    if (r.GetValue(json) is { } jsonPath)
                    {
                        var arr = new JsonArray();
                        foreach (var w in a.Words)
                            arr.Add(new JsonObject { ["word"] = w.Text, ["start"] = Math.Round(w.Start, 3), ["end"] = Math.Round(w.End, 3), ["first_token"] = w.FirstToken, ["tokens"] = w.TokenCount });
                        AttnScope.Capture.Io.AtomicFile.WriteAllBytes(jsonPath, System.Text.Encoding.UTF8.GetBytes(new JsonObject { ["words"] = arr, ["timing"] = a.Speech is null ? "raw" : "heuristics" }.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true })));
                    }
                    break;
                }
                default:
                    throw new AttnScopeException($"--view '{r.GetValue(view)}' is not one of cross, align");
            }
            output.Out.WriteLine($"wrote {path}");
            return 0;
        }));
        return cmd;
    }
}
