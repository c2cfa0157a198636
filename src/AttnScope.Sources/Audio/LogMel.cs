using AttnScope.Capture;

namespace AttnScope.Sources.Audio;

/// <summary>
/// Whisper's log-mel spectrogram, as its reference code computes it: the audio (16 kHz mono) padded with zeros or
/// trimmed to <c>n_samples</c> (480000 = 30 s unless asked otherwise), a periodic Hann window of 400, an STFT with hop 160
/// and center=True (reflect padding of 200 either side), the last frame dropped (n_samples / 160 frames), the power
/// spectrum |X|², a Slaney-style mel filterbank (librosa.filters.mel(sr=16000, n_fft=400, n_mels, htk=False,
/// norm='slaney'), float32), then log10(max(mel, 1e-10)), clamped below at its maximum − 8, and (x + 4) / 4.
/// The DFT is evaluated directly in double precision (the reference uses float32 FFTs; the result agrees within 1e-4).
/// </summary>
internal static class LogMel
{
    public const int SampleRate = 16000, NFft = 400, Hop = 160, ChunkSamples = 480_000;
    public const int Bins = NFft / 2 + 1;
    /// <summary>Seconds per mel frame (10 ms); the encoder's stride-2 convolution makes one encoder frame 20 ms.</summary>
    public const double FrameSeconds = (double)Hop / SampleRate;

    /// <summary>[n_mels, n_samples / 160] log-mel of the audio padded or trimmed to <paramref name="nSamples"/>.</summary>
    public static FloatTensor Compute(ReadOnlySpan<float> audio, int nMels = 80, int nSamples = ChunkSamples)
    {
        if (nMels is < 1 or > 512) throw new AttnScopeException($"{nMels} mel bands (1…512)");
        if (nSamples < NFft || nSamples % Hop != 0 || nSamples > 100 * ChunkSamples)
            throw new AttnScopeException($"n_samples {nSamples} must be a multiple of {Hop}, at least {NFft} and at most {100 * ChunkSamples}");
        var x = new float[nSamples];
        audio[..Math.Min(audio.Length, nSamples)].CopyTo(x);
        int frames = nSamples / Hop; // 1 + n/hop frames with centring, the last dropped
        int pad = NFft / 2;
        // Reflect padding: x[-i] = x[i], x[n-1+i] = x[n-1-i].
        var padded = new double[nSamples + 2 * pad];
        for (int i = 0; i < padded.Length; i++)
        {
            int j = i - pad;
            if (j < 0) j = -j;
            if (j >= nSamples) j = 2 * (nSamples - 1) - j;
            padded[i] = x[j];
        }
        var window = new double[NFft];
        for (int n = 0; n < NFft; n++) window[n] = 0.5 - 0.5 * Math.Cos(2 * Math.PI * n / NFft);
        var cos = new double[Bins * NFft];
        var sin = new double[Bins * NFft];
        for (int k = 0; k < Bins; k++)
            for (int n = 0; n < NFft; n++)
            {
                double a = 2 * Math.PI * ((long)k * n % NFft) / NFft;
                cos[k * NFft + n] = Math.Cos(a) * window[n];
                sin[k * NFft + n] = Math.Sin(a) * window[n];
            }
        var filters = MelFilters(nMels);
        var mel = new double[nMels * frames];
        Parallel.For(0, frames, t =>
        {
            var seg = padded.AsSpan(t * Hop, NFft);
            Span<double> power = stackalloc double[Bins];
            for (int k = 0; k < Bins; k++)
            {
                double re = 0, im = 0;
                var c = cos.AsSpan(k * NFft, NFft);
                var s = sin.AsSpan(k * NFft, NFft);
                for (int n = 0; n < NFft; n++) { re += seg[n] * c[n]; im += seg[n] * s[n]; }
                power[k] = re * re + im * im;
            }
            for (int m = 0; m < nMels; m++)
            {
                double acc = 0;
                for (int k = 0; k < Bins; k++) acc += filters[m * Bins + k] * power[k];
                mel[m * frames + t] = Math.Log10(Math.Max(acc, 1e-10));
            }
        });
        double max = double.NegativeInfinity;
        foreach (var v in mel) max = Math.Max(max, v);
        var result = new float[mel.Length];
        for (int i = 0; i < mel.Length; i++) result[i] = (float)((Math.Max(mel[i], max - 8) + 4) / 4);
        return new FloatTensor([nMels, frames], result);
    }

    /// <summary>
    /// The power of each frame of a log-mel [bins, frames] that holds audio (⌈seconds / 10 ms⌉ frames, at least 1, at most
    /// all), in the log-mel's own units: (log10(mean over bins of the mel power) + 4) / 4, the mel power of a value v being
    /// 10^(4v − 4), so 0.25 is 10 dB. The speech-activity detector's frame energy; a narrow-band sound in broadband noise
    /// raises it by its power, where a mean of the log values would barely move.
    /// </summary>
    public static float[] FramePower(FloatTensor mel, double audioSeconds)
    {
        ArgumentNullException.ThrowIfNull(mel);
        if (mel.Rank != 2) throw new AttnScopeException($"log-mel of shape {mel.ShapeText}; expected [mel bins, frames]");
        int bins = mel.Shape[0], frames = mel.Shape[1];
        int n = Math.Clamp((int)Math.Ceiling(audioSeconds / FrameSeconds - 1e-9), 1, frames);
        var sum = new double[n];
        var d = mel.Data;
        for (int b = 0; b < bins; b++)
            for (int t = 0; t < n; t++) sum[t] += Math.Pow(10, 4.0 * d[b * frames + t] - 4);
        var e = new float[n];
        for (int t = 0; t < n; t++) e[t] = (float)((Math.Log10(Math.Max(sum[t] / bins, 1e-30)) + 4) / 4);
        return e;
    }

    /// <summary>
    /// The Slaney-style mel filterbank [n_mels, 201] for 16 kHz and n_fft 400 following librosa's formula: Slaney's mel
    /// scale (linear below 1 kHz at 200/3 Hz per mel, logarithmic above with step ln(6.4)/27), n_mels + 2 points evenly
    /// spaced in mel from 0 to 8 kHz, triangles over the FFT bin frequencies, each scaled by 2 / (its width in Hz),
    /// computed in double and rounded to float32 as librosa returns it.
    /// </summary>
    public static double[] MelFilters(int nMels)
    {
        static double HzToMel(double f) => f < 1000 ? f / (200.0 / 3) : 15 + Math.Log(f / 1000) / (Math.Log(6.4) / 27);
        static double MelToHz(double m) => m < 15 ? m * (200.0 / 3) : 1000 * Math.Exp((m - 15) * (Math.Log(6.4) / 27));
        double lo = HzToMel(0), hi = HzToMel(SampleRate / 2.0);
        var melF = new double[nMels + 2];
        for (int i = 0; i < melF.Length; i++) melF[i] = MelToHz(lo + (hi - lo) * i / (nMels + 1));
        var fft = new double[Bins];
        for (int k = 0; k < Bins; k++) fft[k] = (double)SampleRate / 2 * k / (Bins - 1);
        var w = new double[nMels * Bins];
        for (int m = 0; m < nMels; m++)
        {
            double enorm = 2.0 / (melF[m + 2] - melF[m]);
            for (int k = 0; k < Bins; k++)
            {
                double lower = -(melF[m] - fft[k]) / (melF[m + 1] - melF[m]);
                double upper = (melF[m + 2] - fft[k]) / (melF[m + 2] - melF[m + 1]);
                w[m * Bins + k] = (float)(Math.Max(0, Math.Min(lower, upper)) * enorm);
            }
        }
        return w;
    }
}
