using AttnScope.Capture;

namespace AttnScope.Sources.Audio;

/// <summary>
/// Band-limited resampling by a windowed sinc, evaluated as a polyphase filter. For an input rate r_in and output
/// rate r_out with g = gcd: L = r_out/g phases, M = r_in/g input steps per L outputs. Output n sits at input time
/// t = n·r_in/r_out; y[n] = Σ_k x[k]·h(t − k) with h(u) = c·sinc(c·u)·kaiser(u / W), c = 0.95·min(1, r_out/r_in)
/// (the low-pass cutoff just under the lower Nyquist rate), W = <see cref="ZeroCrossings"/>/c input samples either
/// side, Kaiser β = <see cref="Beta"/>. The L phase filters are tabulated once when L is at most 4096 (44.1 → 16 kHz:
/// 160 phases); otherwise each tap is computed on the fly. Samples outside the input count as 0. Equal rates return
/// a copy.
/// </summary>
internal static class Resampler
{
    public const int ZeroCrossings = 16;
    public const double Beta = 8.6;
    public const double Rolloff = 0.95;

    public static float[] Resample(ReadOnlySpan<float> x, int rateIn, int rateOut)
    {
        if (rateIn <= 0 || rateOut <= 0) throw new AttnScopeException($"sample rates must be positive ({rateIn} → {rateOut})");
        if (rateIn == rateOut) return x.ToArray();
        long g = Gcd(rateIn, rateOut);
        long L = rateOut / g, M = rateIn / g;
        long outLen = ((long)x.Length * rateOut + rateIn - 1) / rateIn;
        if (outLen > int.MaxValue / 2) throw new AttnScopeException($"resampling {x.Length} samples to {rateOut} Hz gives too many samples");
        double c = Rolloff * Math.Min(1.0, (double)rateOut / rateIn);
        double W = ZeroCrossings / c;
        int half = (int)Math.Ceiling(W);
        int taps = 2 * half + 1;
        double i0b = BesselI0(Beta);
        double H(double u)
        {
            double a = Math.Abs(u);
            if (a >= W) return 0;
            double r = a / W;
            double win = BesselI0(Beta * Math.Sqrt(1 - r * r)) / i0b;
            double s = a < 1e-12 ? 1 : Math.Sin(Math.PI * c * u) / (Math.PI * c * u);
            return c * s * win;
        }
        float[]? table = null;
        if (L <= 4096)
        {
            // Phase p (output n with n·M mod L = p): input time frac = p/L past k0 = floor(n·M/L); taps k0−half+1 … k0+half.
            table = new float[L * taps];
            for (int p = 0; p < L; p++)
                for (int j = 0; j < taps; j++)
                {
                    int k = j - half; // offset of the tap from k0
                    table[p * taps + j] = (float)H((double)p / L - k);
                }
        }
        var y = new float[outLen];
        var input = x.ToArray();
        Parallel.For(0, (int)((outLen + 4095) / 4096), block =>
        {
            long end = Math.Min(outLen, (block + 1) * 4096L);
            for (long n = block * 4096L; n < end; n++)
            {
                long num = n * M;
                long k0 = num / L;
                long p = num % L;
                double acc = 0;
                for (int j = 0; j < taps; j++)
                {
                    long k = k0 + j - half;
                    if (k < 0 || k >= input.Length) continue;
                    double h = table is not null ? table[p * taps + j] : H((double)p / L - (j - half));
                    acc += h * input[k];
                }
                y[n] = (float)acc;
            }
        });
        return y;
    }

    /// <summary>The clip at 16 kHz mono (Whisper's rate).</summary>
    public static AudioClip To16k(AudioClip clip) =>
        clip.SampleRate == LogMel.SampleRate ? clip : new AudioClip(Resample(clip.Samples, clip.SampleRate, LogMel.SampleRate), LogMel.SampleRate);

    private static long Gcd(long a, long b) { while (b != 0) (a, b) = (b, a % b); return a; }

    private static double BesselI0(double x)
    {
        double sum = 1, term = 1, q = x * x / 4;
        for (int k = 1; k < 200; k++)
        {
            term *= q / ((double)k * k);
            sum += term;
            if (term < 1e-17 * sum) break;
        }
        return sum;
    }
}
