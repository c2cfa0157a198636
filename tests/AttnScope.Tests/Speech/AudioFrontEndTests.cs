using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Audio;
using Xunit.Abstractions;

namespace AttnScope.Tests.Speech;

/// <summary>
/// Whisper's log-mel front end against golden outputs of torch.stft with a mel filterbank written in numpy from
/// librosa's formula (tests/AttnScope.Tests/Golden/make_whisper_goldens.py): an independent implementation (FFT in
/// float32 there, a direct DFT in double here). The WAV reader and the resampler against analytic signals.
/// </summary>
public class AudioFrontEndTests(ITestOutputHelper output)
{
    private static SafeTensorsFile Golden() => SafeTensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Golden", "whisper-logmel", "golden.safetensors"));

    private float MaxDiff(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> got)
    {
        Assert.Equal(expected.Length, got.Length);
        float worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = MathF.Max(worst, MathF.Abs(expected[i] - got[i]));
        output.WriteLine($"{what}: max |Δ| {worst:E2}");
        return worst;
    }

    [Fact]
    public void MelFilterbankMatchesLibrosasFormula()
    {
        var g = Golden();
        foreach (int n in new[] { 80, 128 })
        {
            var want = g.ReadFloat($"filters{n}");
            var got = LogMel.MelFilters(n).Select(v => (float)v).ToArray();
            Assert.Equal(new[] { n, 201 }, want.Shape);
            Assert.True(MaxDiff($"filters{n}", want.Data, got) < 1e-6f);
        }
    }

    [Theory]
    [InlineData(80, 12800, "mel80_n12800")]
    [InlineData(128, 4800, "mel128_n4800")]
    public void LogMelMatchesTorchStftWithin1e4(int mels, int samples, string key)
    {
        var g = Golden();
        var audio = g.ReadFloat("audio").Data;
        var want = g.ReadFloat(key);
        var got = LogMel.Compute(audio, mels, samples);
        Assert.Equal(want.Shape, got.Shape);
        Assert.True(MaxDiff(key, want.Data, got.Data) <= 1e-4f);
    }

    [Fact]
    public void DefaultIsThirtySecondsAsWhisper()
    {
        var mel = LogMel.Compute(new float[16000], 80);
        Assert.Equal(new[] { 80, 3000 }, mel.Shape);
        // all silence: log10(1e-10) everywhere → (−10 + 4) / 4
        Assert.All(mel.Data, v => Assert.Equal(-1.5f, v, 5));
    }

    [Fact]
    public void WavReaderReadsEveryFormatAndMixesToMono()
    {
        string dir = Directory.CreateTempSubdirectory("attnscope-wav").FullName;
        try
        {
            var left = Enumerable.Range(0, 100).Select(i => MathF.Sin(i * 0.1f) * 0.5f).ToArray();
            var right = Enumerable.Range(0, 100).Select(i => MathF.Cos(i * 0.07f) * 0.25f).ToArray();
            foreach (var (fmt, bits) in new[] { (1, 16), (1, 24), (1, 32), (3, 32) })
            {
                var path = Path.Combine(dir, $"f{fmt}b{bits}.wav");
                WriteWav(path, fmt, bits, 22050, [left, right], extensible: bits == 24);
                var clip = WavReader.Load(path);
                Assert.Equal(22050, clip.SampleRate);
                Assert.Equal(100, clip.Samples.Length);
                float tol = bits == 16 ? 1e-4f : 1e-6f;
                for (int i = 0; i < 100; i++) Assert.True(MathF.Abs(clip.Samples[i] - (left[i] + right[i]) / 2) < tol, $"{fmt}/{bits} sample {i}");
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void MalformedWavFilesGiveClearErrors()
    {
        string Err(byte[] bytes) => Assert.Throws<AttnScopeException>(() => WavReader.Read(new MemoryStream(bytes), "x.wav")).Message;
        Assert.Contains("RIFF", Err("RIFX0000WAVE"u8.ToArray()));
        Assert.Contains("shorter", Err([1, 2, 3]));
        var good = new MemoryStream();
        WriteWav(good, 1, 16, 16000, [new float[10]]);
        var bytes = good.ToArray();
        // data chunk claims 2^31 bytes: refused before allocating
        var huge = (byte[])bytes.Clone();
        BitConverter.GetBytes(0x7FFF_FFF0u).CopyTo(huge, 48);
        Assert.Contains("runs past the end", Err(huge));
        var eight = (byte[])bytes.Clone();
        BitConverter.GetBytes((short)8).CopyTo(eight, 34);
        Assert.Contains("8-bit", Err(eight));
        var noData = bytes[..36];
        Assert.Contains("no 'data' chunk", Err(noData));
        var alaw = (byte[])bytes.Clone();
        BitConverter.GetBytes((short)6).CopyTo(alaw, 20);
        Assert.Contains("format 6", Err(alaw));
    }

    [Fact]
    public void ResamplingA1kHzToneTo16kHzKeepsIt()
    {
        foreach (int rate in new[] { 44100, 48000, 8000, 22050 })
        {
            int n = rate / 2;
            var x = Enumerable.Range(0, n).Select(i => (float)Math.Sin(2 * Math.PI * 1000 * i / rate)).ToArray();
            var y = Resampler.Resample(x, rate, 16000);
            Assert.Equal((n * 16000L + rate - 1) / rate, y.Length);
            float worst = 0;
            // away from the edges (where the input stops) the output is the same tone sampled at 16 kHz
            for (int i = 800; i < y.Length - 800; i++) worst = MathF.Max(worst, MathF.Abs(y[i] - (float)Math.Sin(2 * Math.PI * 1000 * i / 16000.0)));
            output.WriteLine($"{rate} → 16000: max |Δ| {worst:E2}");
            Assert.True(worst < 2e-3f, $"{rate}: {worst}");
        }
    }

    [Fact]
    public void ResamplingRemovesToneAboveTheNewNyquistRate()
    {
        int rate = 48000;
        var x = Enumerable.Range(0, rate).Select(i => (float)Math.Sin(2 * Math.PI * 11000 * i / rate)).ToArray();
        var y = Resampler.Resample(x, rate, 16000);
        double rms = Math.Sqrt(y.Skip(1000).Take(y.Length - 2000).Average(v => (double)v * v));
        output.WriteLine($"11 kHz tone after 48k → 16k: rms {rms:E2}");
        Assert.True(rms < 1e-3, $"aliasing rms {rms}");
    }

    internal static void WriteWav(string path, int format, int bits, int rate, float[][] channels, bool extensible = false)
    {
        using var f = File.Create(path);
        WriteWav(f, format, bits, rate, channels, extensible);
    }

    internal static void WriteWav(Stream f, int format, int bits, int rate, float[][] channels, bool extensible = false)
    {
        using var w = new BinaryWriter(f, System.Text.Encoding.ASCII, leaveOpen: true);
        int ch = channels.Length, n = channels[0].Length, bps = bits / 8;
        int fmtSize = extensible ? 40 : 16;
        int bytes = n * ch * bps;
        w.Write("RIFF"u8); w.Write(4 + 8 + fmtSize + 8 + 8 + bytes); w.Write("WAVE"u8);
        w.Write("fmt "u8); w.Write(fmtSize); w.Write((short)(extensible ? 0xFFFE : format)); w.Write((short)ch); w.Write(rate);
        w.Write(rate * ch * bps); w.Write((short)(ch * bps)); w.Write((short)bits);
        if (extensible)
        {
            w.Write((short)22); w.Write((short)bits); w.Write(0);
            w.Write((short)format); w.Write(new byte[14]);
        }
        w.Write("LIST"u8); w.Write(0); // an empty chunk the reader skips
        w.Write("data"u8); w.Write(bytes);
        for (int i = 0; i < n; i++)
            for (int c = 0; c < ch; c++)
            {
                float s = channels[c][i];
                if (format == 3) w.Write(s);
                else if (bits == 16) w.Write((short)Math.Round(s * 32767));
                else if (bits == 24) { int v = (int)Math.Round(s * 8388607); w.Write((byte)v); w.Write((byte)(v >> 8)); w.Write((byte)(v >> 16)); }
                else w.Write((int)Math.Round(s * 2147483647.0));
            }
    }
}
