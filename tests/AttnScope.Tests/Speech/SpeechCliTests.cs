using System.Text.Json;
using AttnScope.Analyses.Speech;
using AttnScope.Capture;
using AttnScope.Sources.Audio;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using SkiaSharp;
using Xunit.Abstractions;

namespace AttnScope.Tests.Speech;

/// <summary>
/// The whole chain on the tiny random Whisper (Golden/tiny-whisper): a WAV at 44.1 kHz stereo → resampling → log-mel →
/// encoder → greedy decoding with the cache → capture → views. The capture's attention is checked against a
/// teacher-forced pass of the same model over the produced ids (the cache must equal recomputation).
/// </summary>
public class SpeechCliTests(ITestOutputHelper output)
{
    private static string Model => WhisperGoldenTests.Folder;

    private static string WriteClip(string dir)
    {
        int rate = 44100, n = (int)(0.6 * rate);
        var l = new float[n];
        var r = new float[n];
        for (int i = 0; i < n; i++)
        {
            double t = (double)i / rate;
            l[i] = (float)(0.3 * Math.Sin(2 * Math.PI * 300 * t) * (t < 0.25 ? 1 : 0) + 0.3 * Math.Sin(2 * Math.PI * 1200 * t) * (t > 0.35 ? 1 : 0));
            r[i] = l[i] * 0.5f;
        }
        var path = Path.Combine(dir, "clip.wav");
        AudioFrontEndTests.WriteWav(path, 1, 16, rate, [l, r]);
        return path;
    }

    [Fact]
    public void CapturesAudioAndDrawsBothViews()
    {
        using var tmp = new TempDir();
        string wav = WriteClip(tmp.Path), cap = Path.Combine(tmp.Path, "s.safetensors");
        var (code, text, err) = CliTests.Run("capture", "--model", Model, "--audio", wav, "--max-new", "6", "-o", cap);
        Assert.True(code == 0, err);
        output.WriteLine(text);
        Assert.Contains("40 encoder frames", text);
        var c = AttentionCapture.Load(cap);
        var layout = SpeechLayout.Require(c);
        Assert.Equal(4, layout.PromptLength);
        Assert.Equal(0.6, layout.AudioSeconds, 6);
        Assert.Equal(new[] { 80, 80 }, layout.Mel.Shape);
        Assert.Equal(10, c.TargetTokens.Count);
        Assert.Equal(new[] { 2, 4, 10, 40 }, c.Stack(AttentionStack.Cross).Attention.Shape);
        Assert.Equal(new[] { 2, 4, 40, 40 }, c.Stack(AttentionStack.Encoder).Attention.Shape);
        // The same model run teacher-forced over the captured ids gives the captured cross and decoder attention.
        var model = WhisperModel.Load(Model);
        var mel = model.Features(WavReader.Load(wav));
        Assert.Equal(layout.Mel.Data, mel.Data);
        var ids = c.TargetTokens.Select(t => t.Id).ToArray();
        var again = model.Decode(ids, model.Encode(mel).Hidden);
        float worst = 0;
        for (int i = 0; i < again.CrossAttention!.Data.Length; i++) worst = MathF.Max(worst, MathF.Abs(again.CrossAttention.Data[i] - c.Stack(AttentionStack.Cross).Attention.Data[i]));
        for (int i = 0; i < again.Attention!.Data.Length; i++) worst = MathF.Max(worst, MathF.Abs(again.Attention.Data[i] - c.Stack(AttentionStack.Decoder).Attention.Data[i]));
        output.WriteLine($"capture vs teacher forcing: max |Δ| {worst:E2}");
        Assert.True(worst < 1e-6f);

        string cross = Path.Combine(tmp.Path, "cross.png"), align = Path.Combine(tmp.Path, "align.png"), words = Path.Combine(tmp.Path, "w.json");
        (code, _, err) = CliTests.Run("speech", cap, "--view", "cross", "-o", cross);
        Assert.True(code == 0, err);
        (code, text, err) = CliTests.Run("speech", cap, "--view", "align", "--words", words, "-o", align);
        Assert.True(code == 0, err);
        (code, _, err) = CliTests.Run("speech", cap, "--view", "cross", "--layer", "1", "--head", "3", "--full", "-o", cross);
        Assert.True(code == 0, err);
        using (var bmp = SKBitmap.Decode(cross)) Assert.True(bmp.Width >= 600 && bmp.Height > 200, $"{bmp.Width}×{bmp.Height}");
        using (var bmp = SKBitmap.Decode(align)) Assert.True(bmp.Width >= 600, $"{bmp.Width}");
        using var doc = JsonDocument.Parse(File.ReadAllText(words));
        var list = doc.RootElement.GetProperty("words").EnumerateArray().ToList();
        Assert.NotEmpty(list);
        // words cover the produced tokens in order, their times monotone and inside the audio
        int tokens = 0;
        double last = 0;
        foreach (var w in list)
        {
            double s = w.GetProperty("start").GetDouble(), e = w.GetProperty("end").GetDouble();
            Assert.True(s >= last - 1e-9 && e >= s && e <= 0.6 + 1e-9, $"{s}–{e}");
            last = s;
            tokens += w.GetProperty("tokens").GetInt32();
        }
        Assert.Equal(c.TargetTokens.Count - 4 - (c.TargetTokens[^1].Text == "<|endoftext|>" ? 1 : 0), tokens);
        // the default applies the timing heuristics to the DTW times; --raw-timing gives the DTW times themselves
        Assert.Equal("heuristics", doc.RootElement.GetProperty("timing").GetString());
        string rawWords = Path.Combine(tmp.Path, "raw.json");
        (code, _, err) = CliTests.Run("speech", cap, "--view", "align", "--raw-timing", "--words", rawWords, "-o", align);
        Assert.True(code == 0, err);
        using var rawDoc = JsonDocument.Parse(File.ReadAllText(rawWords));
        Assert.Equal("raw", rawDoc.RootElement.GetProperty("timing").GetString());
        var dtw = WordAlignment.Align(c);
        var raw = rawDoc.RootElement.GetProperty("words").EnumerateArray().Select(w => (w.GetProperty("start").GetDouble(), w.GetProperty("end").GetDouble())).ToList();
        Assert.Equal(dtw.Words.Select(w => (Math.Round(w.Start, 3), Math.Round(w.End, 3))), raw);
        var speech = SpeechActivity.Detect(layout.Mel, layout.AudioSeconds);
        var expected = TimingHeuristics.Apply(dtw.Words.Select(w => (w.Start, w.End)).ToList(), speech, new TimingOptions());
        Assert.Equal(expected.Select(w => (Math.Round(w.Start, 3), Math.Round(w.End, 3))), list.Select(w => (w.GetProperty("start").GetDouble(), w.GetProperty("end").GetDouble())));
    }

    [Fact]
    public void BadInputsGiveOneLineErrors()
    {
        using var tmp = new TempDir();
        string cap = Path.Combine(tmp.Path, "s.safetensors");
        var (code, _, err) = CliTests.Run("capture", "--model", Model, "--text", "hello", "-o", cap);
        Assert.Equal(1, code);
        Assert.Contains("speech model", err);
        (code, _, err) = CliTests.Run("capture", "--model", Model, "--audio", Path.Combine(Model, "config.json"), "-o", cap);
        Assert.Equal(1, code);
        Assert.Contains("RIFF", err);
        (code, _, err) = CliTests.Run("capture", "--model", Path.Combine(AppContext.BaseDirectory, "Golden", "tiny-gpt2"), "--audio", WriteClip(tmp.Path), "-o", cap);
        Assert.Equal(1, code);
        Assert.Contains("model_type whisper", err);
        (code, _, _) = CliTests.Run("capture", "--model", Model, "--audio", WriteClip(tmp.Path), "--max-new", "3", "-o", cap);
        Assert.Equal(0, code);
        (code, _, err) = CliTests.Run("speech", cap, "--view", "cross", "--layer", "5", "-o", Path.Combine(tmp.Path, "x.png"));
        Assert.Equal(1, code);
        Assert.Contains("--layer 5", err);
        (code, _, err) = CliTests.Run("speech", cap, "--view", "nope", "-o", Path.Combine(tmp.Path, "x.png"));
        Assert.Equal(1, code);
        Assert.Contains("cross, align", err);
    }
}
