using System.Globalization;
using System.Text.Json.Nodes;
using AttnScope.Analyses.Speech;
using AttnScope.Capture;
using AttnScope.Sources.Audio;
using Xunit.Abstractions;

namespace AttnScope.Tests.Speech;

/// <summary>
/// Whisper's word alignment on synthetic cross-attention with a known monotone token → frame path (no real Whisper
/// weights are available here): the path is written into the matrix, so the reference is the construction itself, and
/// the alignment must find it with an error of 0 frames.
/// </summary>
public class WordAlignmentTests(ITestOutputHelper output)
{
    [Fact]
    public void DtwRecoversAKnownStaircaseExactly()
    {
        var rng = new Random(3);
        int[] starts = [0, 3, 4, 11, 12, 20, 31];
        int F = 40, R = starts.Length;
        var cost = new double[R, F];
        for (int r = 0; r < R; r++)
            for (int f = 0; f < F; f++)
            {
                int end = r + 1 < R ? starts[r + 1] : F;
                cost[r, f] = (f >= starts[r] && f < end ? -1.0 : 0.0) + 0.3 * rng.NextDouble();
            }
        var path = WordAlignment.Dtw(cost);
        Assert.Equal((0, 0), path[0]);
        Assert.Equal((R - 1, F - 1), path[^1]);
        for (int i = 1; i < path.Count; i++)
        {
            int dr = path[i].Row - path[i - 1].Row, df = path[i].Frame - path[i - 1].Frame;
            Assert.True(dr is 0 or 1 && df is 0 or 1 && dr + df > 0, $"step {i} is not monotone");
        }
        Assert.Equal(starts, WordAlignment.RowStarts(path, R));
    }

    [Fact]
    public void MedianFilterReflectsAtTheEnds()
    {
        var x = new double[1, 9] { { 5, 0, 0, 9, 0, 0, 1, 1, 1 } };
        var y = WordAlignment.MedianFilter(x, 3);
        // reflect: [0, 5, 0, 0, 9, 0, 0, 1, 1, 1, 1] → medians of 3
        Assert.Equal(new double[] { 0, 0, 0, 0, 0, 0, 1, 1, 1 }, Enumerable.Range(0, 9).Select(i => y[0, i]).ToArray());
        var z = new double[2, 1] { { 1 }, { 3 } };
        WordAlignment.ZScorePerFrame(z);
        // population std (torch.std_mean(unbiased=False)): mean 2, std 1
        Assert.Equal(-1, z[0, 0], 12);
        Assert.Equal(1, z[1, 0], 12);
    }

    /// <summary>
    /// A capture whose alignment heads attend, for each row, to a known span of frames (plus noise), and whose other heads
    /// attend at random: the words must come out at the known times, 0 frames off.
    /// </summary>
    [Fact]
    public void WordsComeOutAtTheKnownTimesFromNoisyCrossAttention()
    {
        string[] prompt = ["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"];
        string[] text = [" the", " cat", "s", " sat", "."];
        int P = prompt.Length, K = text.Length, n = P + K + 1, F = 50, L = 2, H = 2;
        int[] rowStarts = [0, 8, 17, 22, 35, 44]; // rows P-1 … P-1+K
        var cap = SyntheticCapture(prompt, text, F, L, H, rowStarts, alignmentHeads: "1,0;1,1", noise: 0.3f, seed: 11);
        var a = WordAlignment.Align(cap);
        foreach (var w in a.Words) output.WriteLine($"{w.Start:0.00}–{w.End:0.00} {w.Text}");
        Assert.Equal(new[] { "the", "cats", "sat", "." }, a.Words.Select(w => w.Text).ToArray());
        double[] wantStart = [0, 8, 22, 35], wantEnd = [8, 22, 35, 44];
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(wantStart[i] * 0.02, a.Words[i].Start, 9);
            Assert.Equal(wantEnd[i] * 0.02, a.Words[i].End, 9);
        }
        Assert.Equal(rowStarts, WordAlignment.RowStarts(a.Path, K + 1));
        // the other heads are random: aligning on them instead does not give the path
        var wrong = WordAlignment.Align(cap, [(0, 0), (0, 1)]);
        Assert.NotEqual(rowStarts, WordAlignment.RowStarts(wrong.Path, K + 1));
    }

    /// <summary>
    /// Against a reference of Whisper's timing.py written with torch and numpy (make_whisper_goldens.py,
    /// whisper-alignment/): it takes the alignment heads' pre-softmax logits cut to the audio frames (40 of 50), softmax,
    /// z-score, median filter, DTW. Here only the captured probabilities over all 50 frames are known; the matrix must
    /// agree within 1e-5 and the word times exactly.
    /// </summary>
    [Fact]
    public void MatchesWhispersTimingReference()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Golden", "whisper-alignment");
        var g = AttnScope.Capture.SafeTensors.SafeTensorsFile.Open(Path.Combine(dir, "golden.safetensors"));
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "golden.json")));
        var root = doc.RootElement;
        int P = root.GetProperty("prompt_length").GetInt32(), K = root.GetProperty("text_tokens").GetInt32();
        var heads = string.Join(";", root.GetProperty("alignment_heads").EnumerateArray().Select(p => $"{p[0].GetInt32()},{p[1].GetInt32()}"));
        var jumps = root.GetProperty("jump_times").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        string[] prompt = ["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"];
        var text = Enumerable.Range(0, K).Select(i => $" w{i}").ToArray();
        Assert.Equal(4, P);
        int audioFrames = root.GetProperty("audio_frames").GetInt32();
        var cap = Build(prompt, text, g.ReadFloat("cross"), audioFrames * 0.02, heads, new Random(1));
        var a = WordAlignment.Align(cap);
        var want = g.ReadFloat("matrix");
        Assert.Equal(new[] { K + 1, audioFrames }, want.Shape);
        float worst = 0;
        for (int r = 0; r <= K; r++) for (int f = 0; f < audioFrames; f++) worst = MathF.Max(worst, MathF.Abs(want.Data[r * audioFrames + f] - a.Matrix[r, f]));
        output.WriteLine($"matrix vs reference: max |Δ| {worst:E2}; words: {string.Join(", ", a.Words.Select(w => $"{w.Text} {w.Start:0.00}–{w.End:0.00}"))}");
        Assert.True(worst < 1e-5f, $"{worst}");
        Assert.Equal(K, a.Words.Count);
        for (int i = 0; i < K; i++)
        {
            Assert.Equal(jumps[i], a.Words[i].Start, 9);
            Assert.Equal(jumps[i + 1], a.Words[i].End, 9);
        }
    }

    internal static AttentionCapture SyntheticCapture(string[] prompt, string[] text, int F, int L, int H, int[] rowStarts, string alignmentHeads, float noise, int seed)
    {
        var rng = new Random(seed);
        int P = prompt.Length, K = text.Length, n = P + K + 1;
        var cross = new FloatTensor([L, H, n, F]);
        var heads = alignmentHeads.Split(';').Select(p => (int.Parse(p.Split(',')[0], CultureInfo.InvariantCulture), int.Parse(p.Split(',')[1], CultureInfo.InvariantCulture))).ToHashSet();
        for (int l = 0; l < L; l++)
            for (int h = 0; h < H; h++)
                for (int q = 0; q < n; q++)
                {
                    var row = cross.Data.AsSpan((((l * H) + h) * n + q) * F, F);
                    int r = q - (P - 1);
                    for (int f = 0; f < F; f++)
                    {
                        bool on = heads.Contains((l, h)) && r >= 0 && r < rowStarts.Length && f >= rowStarts[r] && f < (r + 1 < rowStarts.Length ? rowStarts[r + 1] : F);
                        row[f] = heads.Contains((l, h)) ? (on ? 1f : 0.05f) + noise * (float)rng.NextDouble() : (float)rng.NextDouble();
                    }
                    float s = 0;
                    foreach (var v in row) s += v;
                    for (int f = 0; f < F; f++) row[f] /= s;
                }
        return Build(prompt, text, cross, F * 0.02, alignmentHeads, rng);
    }

    /// <summary>A speech capture around a given cross-attention [L, H, prompt + text + 1, F] (the last row EOS).</summary>
    internal static AttentionCapture Build(string[] prompt, string[] text, FloatTensor cross, double seconds, string alignmentHeads, Random rng)
    {
        int P = prompt.Length, n = cross.Shape[2], F = cross.Shape[3];
        var targets = new List<CaptureToken>();
        for (int i = 0; i < P; i++) targets.Add(new CaptureToken(prompt[i], 100 + i, -1, -1, Segment.B, true));
        int pos = 0;
        foreach (var t in text) { targets.Add(new CaptureToken(t, 1, pos, pos + t.Length, Segment.B, false)); pos += t.Length; }
        targets.Add(new CaptureToken("<|endoftext|>", 99, -1, -1, Segment.B, true));
        var frames = Enumerable.Range(0, F).Select(i => new CaptureToken($"{i * 0.02:0.00}s", i, -1, -1, Segment.A, false)).ToList();
        var dec = new FloatTensor([1, 1, n, n]);
        for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) dec.Data[i * n + j] = 1f / (i + 1);
        var enc = new FloatTensor([1, 1, F, F]);
        Array.Fill(enc.Data, 1f / F);
        var meta = new CaptureMetadata
        {
            ModelId = "synthetic", Architecture = "whisper", Source = "test",
            Extra = new Dictionary<string, string>
            {
                ["speech.audio_seconds"] = seconds.ToString("R", CultureInfo.InvariantCulture),
                ["speech.prompt_length"] = P.ToString(CultureInfo.InvariantCulture),
                ["speech.alignment_heads"] = alignmentHeads,
                ["speech.transcript"] = string.Concat(text),
            },
        };
        var mel = new FloatTensor([8, 2 * F]);
        for (int i = 0; i < mel.Data.Length; i++) mel.Data[i] = (float)rng.NextDouble();
        return new AttentionCapture(meta, frames,
            [new AttentionStack(AttentionStack.Encoder, enc), new AttentionStack(AttentionStack.Decoder, dec), new AttentionStack(AttentionStack.Cross, cross)],
            targets, [new CaptureAnalysis(SpeechLayout.MelAnalysis, mel, new JsonObject())]);
    }
}
