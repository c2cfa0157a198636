using System.Globalization;
using System.Text.Json.Nodes;
using AttnScope.Capture;

namespace AttnScope.Sources.Audio;

/// <summary>
/// What a speech capture says about its audio, kept in its metadata (<c>speech.*</c>) and as the analysis
/// <c>speech.mel</c> [mel bins, mel frames] (the log-mel the encoder read). Tokens are the encoder frames (20 ms each);
/// target tokens are the decoder inputs: the prompt, then every produced token (row t of decoder and cross is the step
/// that fed token t and predicted token t + 1).
/// </summary>
internal sealed record SpeechLayout(FloatTensor Mel, double AudioSeconds, int PromptLength, IReadOnlyList<(int Layer, int Head)>? AlignmentHeads, string Transcript)
{
    public const string MelAnalysis = "speech.mel";
    /// <summary>Seconds per encoder frame (two 10 ms mel frames).</summary>
    public const double FrameSeconds = 2 * LogMel.FrameSeconds;

    public int MelBins => Mel.Shape[0];
    public int MelFrames => Mel.Shape[1];
    /// <summary>Encoder frames that hold audio (the rest is Whisper's padding to 30 s): ⌊mel frames of the audio / 2⌋, at least 1.</summary>
    public int AudioFrames(int encoderFrames) => AudioFramesFor(AudioSeconds, encoderFrames);

    /// <summary>Encoder frames that hold <paramref name="seconds"/> of audio: ⌊mel frames / 2⌋, at least 1, at most <paramref name="encoderFrames"/>.</summary>
    public static int AudioFramesFor(double seconds, int encoderFrames) =>
        Math.Clamp((int)(Math.Ceiling(seconds / LogMel.FrameSeconds - 1e-9) / 2), 1, encoderFrames);

    public static SpeechLayout? Of(AttentionCapture capture)
    {
        var x = capture.Metadata.Extra;
        if (!x.TryGetValue("speech.audio_seconds", out var secText)) return null;
        if (!double.TryParse(secText, NumberStyles.Float, CultureInfo.InvariantCulture, out double sec) || !(sec >= 0) || sec > 1e6)
            throw new AttnScopeException($"the capture's speech.audio_seconds '{secText}' is not a duration");
        if (!x.TryGetValue("speech.prompt_length", out var pl) || !int.TryParse(pl, NumberStyles.None, CultureInfo.InvariantCulture, out int prompt)
            || prompt < 1 || prompt > capture.TargetTokens.Count)
            throw new AttnScopeException("the capture's speech.prompt_length is missing or outside its decoder tokens");
        var mel = capture.Analysis(MelAnalysis)?.Tensor ?? throw new AttnScopeException($"the capture has no '{MelAnalysis}'");
        if (mel.Rank != 2) throw new AttnScopeException($"'{MelAnalysis}' has shape {mel.ShapeText}; expected [mel bins, frames]");
        List<(int, int)>? heads = null;
        if (x.TryGetValue("speech.alignment_heads", out var ah) && ah.Length > 0)
        {
            heads = [];
            foreach (var pair in ah.Split(';'))
            {
                var p = pair.Split(',');
                if (p.Length != 2 || !int.TryParse(p[0], NumberStyles.None, CultureInfo.InvariantCulture, out int l) || !int.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h))
                    throw new AttnScopeException($"the capture's speech.alignment_heads '{ah}' is not a list of layer,head pairs");
                heads.Add((l, h));
            }
        }
        return new SpeechLayout(mel, sec, prompt, heads, x.GetValueOrDefault("speech.transcript", ""));
    }

    public static SpeechLayout Require(AttentionCapture capture) =>
        Of(capture) ?? throw new AttnScopeException("the capture is not from a speech model (no speech.* metadata): capture one with --audio");

}

/// <summary>Runs audio through a <see cref="WhisperModel"/> into a capture (see <see cref="SpeechLayout"/>).</summary>
internal static class SpeechCapture
{
    /// <summary>Transcribes a clip greedily and records every attention: encoder over frames, decoder, cross (tokens → frames).</summary>
    public static AttentionCapture Capture(WhisperModel model, AudioClip clip, string audioPath, string modelId, int maxNew, string language = "en")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(clip);
        var tok = model.Tokenizer ?? throw new AttnScopeException($"'{model.Origin}' has no tokenizer (tokenizer.json, or vocab.json and merges.txt)");
        var clip16 = Resampler.To16k(clip);
        var warnings = new List<string>();
        if (clip16.Samples.Length > model.Config.Samples)
            warnings.Add($"the audio is {clip16.Seconds:0.##} s; the model reads the first {model.Config.Samples / (double)LogMel.SampleRate:0.##} s (one window, as Whisper without long-form decoding)");
        var mel = LogMel.Compute(clip16.Samples, model.Config.MelBins, model.Config.Samples);
        var prompt = model.Prompt(language);
        var t = model.Transcribe(mel, prompt, maxNew);
        int F = t.Memory.Shape[0];
        var frames = Enumerable.Range(0, F).Select(i => new CaptureToken((i * SpeechLayout.FrameSeconds).ToString("0.00", CultureInfo.InvariantCulture) + "s", i, -1, -1, Segment.A, false)).ToList();
        var dec = tok.StartContinuation();
        var targets = new List<CaptureToken>();
        foreach (var id in t.Ids) targets.Add(dec.Append(id) with { Segment = Segment.B });
        string text = dec.Finish();
        double seconds = Math.Min(clip16.Seconds, model.Config.Samples / (double)LogMel.SampleRate);
        var heads = model.AlignmentHeads;
        var extra = new Dictionary<string, string>
        {
            ["speech.audio_path"] = audioPath,
            ["speech.audio_seconds"] = seconds.ToString("R", CultureInfo.InvariantCulture),
            ["speech.sample_rate"] = clip.SampleRate.ToString(CultureInfo.InvariantCulture),
            ["speech.prompt_length"] = t.PromptLength.ToString(CultureInfo.InvariantCulture),
            ["speech.frame_seconds"] = SpeechLayout.FrameSeconds.ToString("R", CultureInfo.InvariantCulture),
            ["speech.transcript"] = text,
            ["speech.stop_reason"] = t.StopReason,
            ["speech.alignment_heads"] = heads is null ? "" : string.Join(";", heads.Select(p => $"{p.Layer},{p.Head}")),
            ["target_rows"] = "decoder inputs: the prompt, then each produced token; row t is the step that fed token t and predicted token t+1",
        };
        var meta = new CaptureMetadata
        {
            ModelId = modelId, Architecture = "whisper", Source = "managed", Texts = [audioPath, text], Warnings = warnings, Extra = extra,
        };
        var info = new JsonObject
        {
            ["what"] = "the log-mel spectrogram the encoder read (Whisper's features: 10 ms frames, padded to the model's window)",
            ["source"] = audioPath,
        };
        return new AttentionCapture(meta, frames,
            [new AttentionStack(AttentionStack.Encoder, t.EncoderAttention), new AttentionStack(AttentionStack.Decoder, t.DecoderAttention), new AttentionStack(AttentionStack.Cross, t.CrossAttention)],
            targets, [new CaptureAnalysis(SpeechLayout.MelAnalysis, mel, info)]);
    }
}
