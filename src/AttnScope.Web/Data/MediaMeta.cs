using System.Text.Json.Nodes;
using AttnScope.Analyses.Speech;
using AttnScope.Analyses.Vision;
using AttnScope.Capture;
using AttnScope.Sources.Audio;
using AttnScope.Sources.Vision;
using AttnScope.Views.Static;

namespace AttnScope.Web.Data;

/// <summary>
/// The parts of the viewer's description for speech and image–text captures (docs/speech.md, docs/vision.md): what
/// the Audio tab (audio-view.js) and the Image–text tab (clip-view.js) draw besides the attention sections, which
/// they read like every other view (<c>att/cross/L</c>, <c>exact/cross/L/H</c>, …). Small: a log-mel spectrogram
/// as 8-bit values, the word alignment, relevance maps of a few hundred numbers.
/// </summary>
internal static class MediaMeta
{
    /// <summary>Largest spectrogram (bins × mel frames) the description carries (a 30 s window of 128 mels is 384 000).</summary>
    public const long MaxMelValues = 4L << 20;

    /// <summary>
    /// The Audio tab's part for a speech capture, else null: the log-mel [bins, mel frames] as base64 bytes (row 0 the
    /// lowest bin; value ≈ min + byte / 255 · (max − min)), the frame times, the prompt length, the alignment heads, and
    /// the word alignment of <see cref="WordAlignment.Align"/> with the timing heuristics unless <paramref name="rawTiming"/>
    /// (null, with a note, when it cannot be made).
    /// </summary>
    public static JsonObject? Speech(AttentionCapture capture, bool rawTiming = false)
    {
        var layout = SpeechLayout.Of(capture);
        if (layout is null || !capture.Stacks.TryGetValue(AttentionStack.Cross, out var cross)) return null;
        var mel = layout.Mel;
        int bins = layout.MelBins, melFrames = layout.MelFrames;
        string? melBase64 = null;
        float min = 0, max = 0;
        if ((long)bins * melFrames <= MaxMelValues && bins > 0 && melFrames > 0)
        {
            var d = mel.Data;
            min = float.PositiveInfinity; max = float.NegativeInfinity;
            foreach (var v in d) { if (v < min) min = v; if (v > max) max = v; }
            float scale = max > min ? 255f / (max - min) : 0;
            var bytes = new byte[d.Length];
            for (int i = 0; i < d.Length; i++) bytes[i] = (byte)Math.Clamp((int)MathF.Round((d[i] - min) * scale), 0, 255);
            melBase64 = Convert.ToBase64String(bytes);
        }
        var heads = layout.AlignmentHeads ?? WordAlignment.DefaultHeads(cross.Layers, cross.Heads);
        JsonObject? alignment = null;
        string? note = null;
        try
        {
            var a = WordAlignment.Align(capture, null, rawTiming ? null : new TimingOptions());
            var path = new JsonArray();
            foreach (var (r, f) in a.Path) { path.Add(r); path.Add(f); }
            alignment = new JsonObject
            {
                ["firstRow"] = a.FirstRow,
                ["timing"] = a.Speech is null ? "raw" : "heuristics",
                ["speech"] = a.Speech is null ? null : new JsonArray(a.Speech.Segments.Select(g => (JsonNode)new JsonArray(g.Start, g.End)).ToArray()),
                ["path"] = path,
                ["words"] = new JsonArray(a.Words.Select(w => (JsonNode)new JsonObject
                {
                    ["text"] = TokenText.Printable(w.Text),
                    ["first"] = w.FirstToken,
                    ["count"] = w.TokenCount,
                    ["start"] = w.Start,
                    ["end"] = w.End,
                }).ToArray()),
            };
        }
        catch (AttnScopeException e)
        {
            note = e.Message;
        }
        return new JsonObject
        {
            ["melBins"] = bins,
            ["melFrames"] = melFrames,
            ["melMin"] = min,
            ["melMax"] = max,
            ["mel"] = melBase64,
            ["melFrameSeconds"] = LogMel.FrameSeconds,
            ["frameSeconds"] = SpeechLayout.FrameSeconds,
            ["encoderFrames"] = cross.Keys,
            ["audioFrames"] = layout.AudioFrames(cross.Keys),
            ["audioSeconds"] = layout.AudioSeconds,
            ["promptLength"] = layout.PromptLength,
            ["transcript"] = TokenText.Printable(layout.Transcript),
            ["alignmentHeads"] = new JsonArray(heads.Select(p => (JsonNode)new JsonArray(p.Layer, p.Head)).ToArray()),
            ["alignmentHeadsFrom"] = layout.AlignmentHeads is null ? "default" : "model",
            ["alignment"] = alignment,
            ["alignmentNote"] = note,
        };
    }

    /// <summary>
    /// The Image–text tab's part for a CLIP capture, else null: the similarity, the text tokens' relevance
    /// (<c>clip.text_relevance</c>), the patches' relevance for the whole text (<c>clip.image_relevance</c>, row by row)
    /// and, per word token, its own patch relevance and similarity (<c>clip.word_relevance</c>).
    /// </summary>
    public static JsonObject? Clip(AttentionCapture capture)
    {
        if (!capture.Metadata.Extra.TryGetValue("clip.similarity", out var simText)) return null;
        var text = capture.Analysis(ClipCapture.TextRelevance)?.Tensor;
        var image = capture.Analysis(ClipCapture.ImageRelevance)?.Tensor;
        var v = VisionLayout.Of(capture);
        if (text is null || image is null || v is null || text.Length != capture.TargetTokens.Count || image.Length != v.Patches) return null;
        var words = new JsonArray();
        if (capture.Analysis(ClipCapture.WordRelevance) is { } wr && wr.Tensor.Rank == 3 && wr.Tensor.Shape[1] * wr.Tensor.Shape[2] == v.Patches
            && wr.Info?["tokens"] is JsonArray tokens && tokens.Count == wr.Tensor.Shape[0])
        {
            var sims = wr.Info["similarity"] as JsonArray;
            for (int w = 0; w < tokens.Count; w++)
            {
                int t = tokens[w]!.GetValue<int>();
                if (t < 0 || t >= capture.TargetTokens.Count) continue;
                words.Add(new JsonObject
                {
                    ["token"] = t,
                    ["similarity"] = sims is not null && w < sims.Count ? sims[w]?.DeepClone() : null,
                    ["relevance"] = Floats(wr.Tensor.Data.AsSpan(w * v.Patches, v.Patches)),
                });
            }
        }
        float.TryParse(simText, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float sim);
        return new JsonObject
        {
            ["similarity"] = sim,
            ["textRelevance"] = Floats(text.Data),
            ["imageRelevance"] = Floats(image.Data),
            ["words"] = words,
        };
    }

    private static JsonArray Floats(ReadOnlySpan<float> values)
    {
        var a = new JsonArray();
        foreach (var x in values) a.Add(float.IsFinite(x) ? x : 0f);
        return a;
    }
}
