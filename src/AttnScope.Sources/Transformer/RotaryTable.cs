namespace AttnScope.Sources.Transformer;

/// <summary>
/// Rotary position embedding ("rotate half" pairs (i, i + r/2)) with the frequency scalings of the families the
/// core reads. Frequencies and angles are computed in float32 in the order Hugging Face's implementation uses
/// (inv_freq = 1/θ^(2i/r), angle = position·inv_freq), so long positions round as they do there.
/// </summary>
internal sealed class RotaryTable
{
    private readonly float[] _invFreq;
    public int RotaryDim { get; }

    public RotaryTable(RopeSpec rope)
    {
        RotaryDim = rope.RotaryDim;
        int half = RotaryDim / 2;
        _invFreq = new float[half];
        for (int i = 0; i < half; i++)
            _invFreq[i] = 1f / (float)Math.Pow(rope.Theta, (float)(2 * i) / RotaryDim);
        switch (rope.Scaling)
        {
            case "linear":
                for (int i = 0; i < half; i++) _invFreq[i] /= rope.Factor;
                break;
            case "llama3":
                Llama3(rope);
                break;
        }
    }

    /// <summary>
    /// Llama 3's scaling: wavelengths longer than original/low_freq_factor are stretched by the factor, those
    /// shorter than original/high_freq_factor kept, and the band between interpolated smoothly.
    /// </summary>
    private void Llama3(RopeSpec rope)
    {
        float old = rope.OriginalMaxPositions;
        float lowWavelen = old / rope.LowFreqFactor, highWavelen = old / rope.HighFreqFactor;
        for (int i = 0; i < _invFreq.Length; i++)
        {
            float f = _invFreq[i];
            float wavelen = 2f * MathF.PI / f;
            float scaled = wavelen > lowWavelen ? f / rope.Factor : f;
            if (!(wavelen < highWavelen) && !(wavelen > lowWavelen))
            {
                float smooth = (old / wavelen - rope.LowFreqFactor) / (rope.HighFreqFactor - rope.LowFreqFactor);
                scaled = (1 - smooth) * scaled / rope.Factor + smooth * scaled;
            }
            _invFreq[i] = scaled;
        }
    }

    /// <summary>cos and sin of each frequency at <paramref name="position"/> into the two spans (r/2 each).</summary>
    public void Angles(int position, Span<float> cos, Span<float> sin)
    {
        float p = position;
        for (int i = 0; i < _invFreq.Length; i++)
        {
            float a = p * _invFreq[i];
            cos[i] = MathF.Cos(a);
            sin[i] = MathF.Sin(a);
        }
    }

    /// <summary>Rotates the first r dimensions of one head vector in place.</summary>
    public static void Rotate(Span<float> x, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        int half = cos.Length;
        for (int i = 0; i < half; i++)
        {
            float x1 = x[i], x2 = x[i + half];
            x[i] = x1 * cos[i] - x2 * sin[i];
            x[i + half] = x2 * cos[i] + x1 * sin[i];
        }
    }
}
